//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ocix/ocix/e2e/front"
)

// The fault suite: each fault e2e/front injects, before the real
// registry, against `ocix tags` of a repository of 41 pages and `ocix
// export` of a four-layer image into a directory and to a pipe, on the
// api and crane backends, several times each. A run must end within
// faultBound either with the right result (survived) or with exit 1 and
// one line (a clear failure). Anything else is wrong: a wrong result, no
// end, an error of several lines, something left at DEST or beside it, a
// stream that looks complete after a failure, a socket directory or a
// plugin process left, a fault that never fired, a redirect whose storage
// got no request, credentials that reached the storage a registry
// redirected to. The api's outcome is asserted; the others' must not be
// wrong. Every run has --timeout: a backend whose tool would wait for a
// stalled registry for ever (podman's service) ends in a clear failure.
//
// Each run logs one line starting "fault:"; the test ends with the table
// of outcomes per fault and backend. The runs of a case start together,
// each with its own front and sandbox, and two cases run at a time: most
// of a run is waiting.

const (
	// faultRuns is how many times each case runs: what a fault does may
	// depend on timing (which blob is fetched first, where a read ends).
	faultRuns = 3
	// faultIdle is the api's request timeout in the suite, which bounds
	// both the wait for an answer's headers and any pause in its body.
	faultIdle = 2 * time.Second
	// faultBound is the longest a run may take. The api's slowest case, a
	// blob that stalls for good, is 6 attempts of faultIdle with up to
	// 6.2 s of backoff between them: about 20 s.
	faultBound = 45 * time.Second
	// faultTimeout is every run's --timeout: past the api's slowest case,
	// within faultBound.
	faultTimeout = 30 * time.Second
	// faultBulkSize is the size of the image's top layer: several times
	// the 1 MiB an interrupted download must bring for the api's retries
	// to start again.
	faultBulkSize = 4 << 20
)

// The operations a fault is tried against.
const (
	opTags   = "tags"   // ocix tags, 2,001 tags in pages of 50
	opDir    = "dir"    // ocix export IMAGE DEST
	opStream = "stream" // ocix export IMAGE - | tar -x
)

// faultCase is one fault, made afresh for each run: a fault counts the
// requests it has seen.
type faultCase struct {
	name string
	// fault makes the fault for op; nil when the fault means nothing to
	// op (a registry redirects blobs, not tag lists).
	fault func(op string, r *faultRun) *front.Fault
	// apiTags and apiExport are what the api backend must do.
	apiTags, apiExport outcome
}

// Body faults cut a tag list's page after tagsAt bytes, and the image's
// 4 MiB layer after blobAt: past the first MiB, so that the resumed
// attempt starts the api's retries again.
const (
	tagsAt = 200
	blobAt = 3 << 19
)

var faultCases = []faultCase{
	{name: "429 Retry-After 1s, first 2", apiTags: survived, apiExport: survived,
		fault: func(op string, r *faultRun) *front.Fault {
			return front.Throttle(r.on(op, front.KindBlob, 2), time.Second)
		}},
	{name: "500, first 2", apiTags: survived, apiExport: survived,
		fault: func(op string, r *faultRun) *front.Fault {
			return front.ServerError(r.on(op, front.KindManifest, 2), 500)
		}},
	{name: "502, first 2", apiTags: survived, apiExport: survived,
		fault: func(op string, r *faultRun) *front.Fault { return front.ServerError(r.on(op, front.KindBlob, 2), 502) }},
	{name: "503, first 2", apiTags: survived, apiExport: survived,
		fault: func(op string, r *faultRun) *front.Fault { return front.ServerError(r.on(op, front.KindBlob, 2), 503) }},
	{name: "503 always", apiTags: clearFailure, apiExport: clearFailure,
		fault: func(op string, r *faultRun) *front.Fault {
			return front.ServerError(r.on(op, front.KindManifest, 0), 503)
		}},
	{name: "stall before headers, first 1", apiTags: survived, apiExport: survived,
		fault: func(op string, r *faultRun) *front.Fault { return front.Stall(r.onBulk(op, 1), front.Forever) }},
	{name: "stall mid-body, first 1", apiTags: survived, apiExport: survived,
		fault: func(op string, r *faultRun) *front.Fault {
			return front.StallBody(r.onBulk(op, 1), r.at(op, tagsAt, blobAt), front.Forever)
		}},
	// Each answer brings 64 KiB, too little to renew the api's retries.
	{name: "stall mid-body, always", apiTags: clearFailure, apiExport: clearFailure,
		fault: func(op string, r *faultRun) *front.Fault {
			return front.StallBody(r.onBulk(op, 0), r.at(op, tagsAt, 64<<10), front.Forever)
		}},
	{name: "reset mid-body, first 2", apiTags: survived, apiExport: survived,
		fault: func(op string, r *faultRun) *front.Fault {
			return front.ResetAfter(r.onBulk(op, 2), r.at(op, tagsAt, blobAt))
		}},
	{name: "truncated, first 2", apiTags: survived, apiExport: survived,
		fault: func(op string, r *faultRun) *front.Fault {
			return front.Truncate(r.onBulk(op, 2), r.at(op, tagsAt, blobAt))
		}},
	// Every answer ends after 1.5 MiB: each resumed attempt brings enough
	// to renew the api's retries. Every page of a tag list is cut.
	{name: "truncated, always", apiTags: clearFailure, apiExport: survived,
		fault: func(op string, r *faultRun) *front.Fault {
			return front.Truncate(r.onBulk(op, 0), r.at(op, tagsAt, blobAt))
		}},
	{name: "Content-Length +100, always", apiTags: survived, apiExport: survived,
		fault: func(op string, r *faultRun) *front.Fault { return front.WrongContentLength(r.onBulk(op, 0), 100) }},
	{name: "Content-Length -100, first 1", apiTags: survived, apiExport: survived,
		fault: func(op string, r *faultRun) *front.Fault { return front.WrongContentLength(r.onBulk(op, 1), -100) }},
	// The blob's last 100 bytes never come.
	{name: "Content-Length -100, always", apiTags: clearFailure, apiExport: clearFailure,
		fault: func(op string, r *faultRun) *front.Fault { return front.WrongContentLength(r.onBulk(op, 0), -100) }},
	{name: "redirect blobs", apiExport: survived,
		fault: func(op string, r *faultRun) *front.Fault {
			if op == opTags {
				return nil
			}
			return front.RedirectBlobs(front.Target{}, r.listenStorage())
		}},
	// The storage resets the first download of the 4 MiB layer: the api
	// asks the registry again, and is redirected again, with Range.
	{name: "redirect blobs, storage resets first 1", apiExport: survived,
		fault: func(op string, r *faultRun) *front.Fault {
			if op == opTags {
				return nil
			}
			reset := r.also(front.ResetAfter(r.onBulk(op, 1), blobAt))
			return front.RedirectBlobs(front.Target{}, r.listenStorage(reset.Rule))
		}},
}

// faultRun is one run of a case: what its fault may aim at, and what it
// runs in.
type faultRun struct {
	t       *testing.T
	w       *world
	bulk    string         // the digest of the image's 4 MiB layer
	storage *front.Storage // where a redirect sends blobs; nil without
	fault   *front.Fault
	// others are the faults injected besides fault (the storage's own):
	// each must fire, as fault must.
	others []*front.Fault
	s      *sandbox
	args   []string
	dest   string

	res  result
	hung bool
	took time.Duration
}

// on aims at the first first (0: every) requests of kind, or of the tag
// list for op tags.
func (r *faultRun) on(op string, kind front.Kind, first int) front.Target {
	if op == opTags {
		kind = front.KindTags
	}
	return front.Target{Kind: kind, First: first}
}

// onBulk aims at the image's 4 MiB layer, or at the tag list for op tags.
func (r *faultRun) onBulk(op string, first int) front.Target {
	if op == opTags {
		return front.Target{Kind: front.KindTags, First: first}
	}
	return front.Target{Kind: front.KindBlob, Reference: r.bulk, First: first}
}

// at is where a body fault strikes for op.
func (r *faultRun) at(op string, tags, blob int64) int64 {
	if op == opTags {
		return tags
	}
	return blob
}

// also records a fault injected besides the run's own, and returns it.
func (r *faultRun) also(f *front.Fault) *front.Fault {
	r.others = append(r.others, f)
	return f
}

// listenStorage starts the storage of the run's redirect.
func (r *faultRun) listenStorage(rules ...front.Rule) *front.Storage {
	s, err := front.ListenStorage(r.w.v3.Host, rules...)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { s.Close() })
	r.storage = s
	return s
}

var (
	faultOnce   sync.Once
	faultImg    *faultImage
	faultImgErr error
)

// faultRows are the fault cases' names, the table's rows in order.
func faultRows() []string {
	var rows []string
	for _, c := range faultCases {
		rows = append(rows, c.name)
	}
	return rows
}

func TestFaults(t *testing.T) {
	w := need(t)
	faultOnce.Do(func() { faultImg, faultImgErr = pushFaultImage(w) })
	if faultImgErr != nil {
		t.Fatal(faultImgErr)
	}
	// The registry backends take every operation. An engine backend that
	// lists tags (podman) takes the tags runs only: it exports from its
	// own image store, where a layer pulled once stays, so that a blob
	// fault would meet its first run only.
	ops := map[string][]string{"api": {opTags, opDir, opStream}, "crane": {opTags, opDir, opStream}}
	names := []string{"api", "crane"}
	for _, b := range backendsFor("tags") {
		if ops[b.name] == nil {
			ops[b.name] = []string{opTags}
			names = append(names, b.name)
		}
	}
	table := &outcomeTable{}
	// A group, so that the table is logged once its parallel subtests
	// are done.
	t.Run("cases", func(t *testing.T) {
		for _, c := range faultCases {
			for _, name := range names {
				b := backendNamed(t, name)
				for _, op := range ops[name] {
					t.Run(shortName(c.name)+"/"+name+"/"+op, func(t *testing.T) {
						t.Parallel()
						for _, o := range runFaults(t, w, c, b, op) {
							table.add(c.name, name, op, o)
						}
					})
				}
			}
		}
	})
	t.Logf("outcomes per fault and backend, of %d runs each of tags, export to a directory and export to a pipe (engines: tags only):\n%s", faultRuns, table.markdown(faultRows()))
}

// shortName makes a case's name a short subtest name: the test's name is
// in its temporary directory, where the plugin's unix socket is made.
func shortName(name string) string {
	r := strings.NewReplacer(" ", "", ",", "-", "first", "x", "always", "all", "Content-Length", "CL", "Retry-After", "RA")
	return r.Replace(name)
}

// runFaults runs case c faultRuns times at once on b for op, then logs
// and checks each run's outcome. It returns none when the fault means
// nothing to op.
func runFaults(t *testing.T, w *world, c faultCase, b *backend, op string) []outcome {
	t.Helper()
	bound := faultBound
	var runs []*faultRun
	for range faultRuns {
		r := &faultRun{t: t, w: w, bulk: faultImg.bulk}
		if r.fault = c.fault(op, r); r.fault == nil {
			return nil
		}
		r.prepare(t, b, op)
		runs = append(runs, r)
	}
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Go(func() {
			start := time.Now()
			r.res, r.hung = r.s.bounded(bound, r.args...)
			r.took = time.Since(start).Round(100 * time.Millisecond)
		})
	}
	wg.Wait()

	want := c.apiExport
	if op == opTags {
		want = c.apiTags
	}
	var outcomes []outcome
	for i, r := range runs {
		o, why := r.judge(op, bound)
		t.Logf("fault: %s | %s | %s | run %d | %s | %s | %d hits | %s", c.name, b.name, op, i+1, o, r.took, r.fault.Hits(), why)
		switch {
		case b.name == "api" && o != want:
			t.Errorf("run %d: api %s, want %s: %s", i+1, o, want, why)
		case o == wrong:
			t.Errorf("run %d: %s: wrong: %s", i+1, b.name, why)
		}
		outcomes = append(outcomes, o)
	}
	return outcomes
}

// prepare starts the run's front and sandbox and makes its command line.
func (r *faultRun) prepare(t *testing.T, b *backend, op string) {
	fr := listenFront(t, r.w, r.fault.Rule)
	r.s = b.sandbox(t)
	r.s.set("OCIX_API_REQUEST_TIMEOUT="+faultIdle.String(), "OCIX_CRANE_REQUEST_TIMEOUT="+faultIdle.String())
	r.dest = filepath.Join(r.s.dir, "rootfs")
	r.args = []string{"--backend", b.name, "--timeout", faultTimeout.String()}
	switch op {
	case opTags:
		r.args = append(r.args, "tags", fr.Addr+"/"+manyRepo)
	case opDir:
		r.args = append(r.args, "export", "-q", fr.Addr+"/"+faultImg.ref, r.dest)
	case opStream:
		r.args = append(r.args, "export", "-q", fr.Addr+"/"+faultImg.ref, "-")
	}
}

// judge tells a finished run's outcome, and why: something left behind, a
// fault that never fired, a redirect never followed or credentials leaked
// make it wrong whatever it printed.
func (r *faultRun) judge(op string, bound time.Duration) (outcome, string) {
	o, why := judge(r.w, r.s, op, r.res, r.hung, bound, r.dest)
	problems := leftovers(r.s, op, o, r.res.stdout, r.dest)
	// A fault that never fired proves nothing: the run met no fault.
	for i, f := range append([]*front.Fault{r.fault}, r.others...) {
		if f.Hits() == 0 {
			problems = append(problems, fmt.Sprintf("fault %d of the run never fired", i+1))
		}
	}
	if r.storage != nil {
		if r.storage.Requests() == 0 {
			problems = append(problems, "the redirect's storage got no request")
		}
		if a := r.storage.Authorizations(); len(a) > 0 {
			problems = append(problems, fmt.Sprintf("%d Authorization headers reached the storage", len(a)))
		}
	}
	if len(problems) > 0 {
		return wrong, strings.Join(problems, "; ") + "; " + why
	}
	return o, why
}

// bounded runs bin/ocix args in the sandbox for at most bound, then
// interrupts it as a user would (SIGINT), and kills it 5 s later. hung
// says that the bound was reached. It may run on any goroutine.
func (s *sandbox) bounded(bound time.Duration, args ...string) (result, bool) {
	cmd, stdout, stderr := s.command(context.Background(), args...)
	// A plugin left behind may hold the stdout pipe open: Wait must not
	// wait for it.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return result{code: -1, stderr: err.Error()}, false
	}
	var hung atomic.Bool
	timer := time.AfterFunc(bound, func() {
		hung.Store(true)
		_ = cmd.Process.Signal(syscall.SIGINT)
		time.AfterFunc(5*time.Second, func() { _ = cmd.Process.Kill() })
	})
	_ = cmd.Wait()
	timer.Stop()
	return result{exitCode(cmd), stdout.String(), stderr.String()}, hung.Load()
}

// judge tells a finished run's outcome from its result, and why.
func judge(w *world, s *sandbox, op string, res result, hung bool, bound time.Duration, dest string) (outcome, string) {
	stderr := strings.TrimSpace(res.stderr)
	switch {
	case hung:
		return wrong, fmt.Sprintf("no end within %s (exit %d after SIGINT)", bound, res.code)
	case res.code == 1 && len(lines(res.stderr)) == 1 && strings.HasPrefix(res.stderr, "ocix: "):
		return clearFailure, stderr
	case res.code != 0:
		return wrong, fmt.Sprintf("exit %d, %d lines on stderr: %q", res.code, len(lines(res.stderr)), clip(res.stderr))
	}
	switch op {
	case opTags:
		if got := sorted(res.stdout); !slices.Equal(got, w.manyTags) {
			return wrong, fmt.Sprintf("exit 0 with %d tags, want %d", len(got), len(w.manyTags))
		}
	case opDir:
		if d := treeDiff(dest, faultImg.want); d != "" {
			return wrong, "exit 0 with a wrong tree: " + d
		}
	case opStream:
		root := filepath.Join(s.dir, "untarred")
		if err := untar(context.Background(), strings.NewReader(res.stdout), root); err != nil {
			return wrong, "exit 0 with a stream tar cannot read: " + err.Error()
		}
		if d := treeDiff(root, faultImg.want); d != "" {
			return wrong, "exit 0 with a wrong tree: " + d
		}
	}
	if stderr != "" {
		return survived, "stderr: " + stderr
	}
	return survived, ""
}

// leftovers lists what a run left that it must not have: at or beside
// DEST, in the cache, in the stream, among the sandbox's sockets and
// processes.
func leftovers(s *sandbox, op string, o outcome, stream, dest string) []string {
	var left []string
	if op == opDir {
		if _, err := os.Lstat(dest); o != survived && !errors.Is(err, fs.ErrNotExist) {
			left = append(left, "DEST exists after a failure")
		}
		if found := tempsBeside(dest); len(found) > 0 {
			left = append(left, "temporary left beside DEST: "+filepath.Base(found[0]))
		}
	}
	if op == opStream && o != survived {
		if end := stream[max(0, len(stream)-1024):]; len(end) == 1024 && strings.Count(end, "\x00") == 1024 {
			left = append(left, fmt.Sprintf("the failed stream (%d bytes) ends as a complete tar", len(stream)))
		}
	}
	if found, _ := filepath.Glob(filepath.Join(s.cacheDir(), "*.ocix-*")); len(found) > 0 {
		left = append(left, "scratch left in the cache: "+filepath.Base(found[0]))
	}
	if dirs := s.socketDirs(); len(dirs) > 0 {
		left = append(left, "socket directories left: "+strings.Join(dirs, " "))
	}
	if pids, _ := strays(s, nil, 2*time.Second); len(pids) > 0 {
		left = append(left, fmt.Sprintf("processes left: %v", pids))
	}
	return left
}
