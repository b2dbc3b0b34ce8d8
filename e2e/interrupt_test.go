//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/e2e/front"
	"github.com/ocix/ocix/e2e/images"
)

// The interruption suite: SIGINT and SIGTERM sent to ocix in the middle of
// every job on every backend that does it, and the crash suite: a
// backend's plugin SIGKILLed in the middle of an export or a run.
//
// A run must end with the result it should have — a container's own exit
// code once the signal was passed to it (survived) — or with the exit code
// and the one "ocix: " line ocix owes (a clear failure). Anything else is
// wrong: another exit code, an exit later than the bound, an error of
// several lines or a line for a container's own exit code, something at
// DEST or beside it, scratch space left, a stream that ends as a complete
// tar, partial output, a socket directory, a container with ocix's label,
// runc state or a run directory left, a plugin alive once ocix has exited,
// or any process ocix started (or with the sandbox's TMPDIR) still alive
// intrSettle later.
//
// Each run logs one line starting "outcome:"; each test ends with its
// table of outcomes per fault and backend.

const (
	// intrRuns is how many times each combination of signal, job and
	// backend runs.
	intrRuns = 2
	// intrExit bounds the exit of an interrupted tags or export after the
	// signal, and of a run after its second signal.
	intrExit = 2 * time.Second
	// intrSettle is how long what ocix started — containers, the helpers
	// its plugins start — has to go once ocix has exited.
	intrSettle = 3 * time.Second
	// intrUnderWay bounds the wait for a job to be visibly under way (a
	// pull of an image the engine lacks included).
	intrUnderWay = time.Minute
	// streamHead is how much of an export's tar stream the test reads
	// before it stops reading: the export is then streaming, blocked on
	// the full pipe.
	streamHead = 256 << 10
)

// The containers of the run cases: one that exits 7 on the signal passed
// to it, one that ignores it. The latter must say so: busybox's `sh -c`
// as pid 1 ignores SIGTERM, but catches SIGINT and exits 130 on it, as
// ash does when -c is given.
const (
	trappingScript = `trap "exit 7" TERM INT; echo started; while :; do sleep 0.1; done`
	ignoringScript = `trap "" TERM INT; echo started; while :; do sleep 0.1; done`
)

// intrSignal is a signal and the exit code ocix owes for it.
type intrSignal struct {
	sig  syscall.Signal
	name string
	code int
}

var intrSignals = []intrSignal{
	{syscall.SIGINT, "SIGINT", 130},
	{syscall.SIGTERM, "SIGTERM", 143},
}

// expect is how a run must end.
type expect struct {
	code int
	as   outcome // what ending so counts as
	// line is what ocix's one stderr line holds; "" wants no stderr at
	// all (a container's own exit code is not ocix's error).
	line string
	// within bounds the exit after the (last) signal or kill; after is
	// the earliest it may come (a stop timeout).
	within, after time.Duration
}

// ending is what a run did and what it left.
type ending struct {
	code     int
	took     time.Duration // from the (last) signal or kill to ocix's exit
	stderr   string
	problems []string // what makes the run wrong whatever its exit
	notes    []string // facts worth the log line
}

func (e *ending) problem(format string, a ...any) {
	e.problems = append(e.problems, fmt.Sprintf(format, a...))
}

func (e *ending) note(format string, a ...any) { e.notes = append(e.notes, fmt.Sprintf(format, a...)) }

// judge is the run's verdict and, when wrong, why.
func (x expect) judge(e ending) (outcome, []string) {
	var why []string
	if e.code != x.code {
		why = append(why, fmt.Sprintf("exit %d, want %d", e.code, x.code))
	}
	if e.took > x.within {
		why = append(why, fmt.Sprintf("exited %v after the signal, bound %v", e.took.Round(time.Millisecond), x.within))
	}
	if e.took < x.after {
		why = append(why, fmt.Sprintf("exited %v after the signal, before the stop timeout %v", e.took.Round(time.Millisecond), x.after))
	}
	got := lines(e.stderr)
	switch {
	case x.line == "" && len(got) > 0:
		why = append(why, fmt.Sprintf("stderr %q, want none", got))
	case x.line != "" && (len(got) != 1 || !strings.HasPrefix(got[0], "ocix: ") || !strings.Contains(got[0], x.line)):
		why = append(why, fmt.Sprintf("stderr %q, want one line with %q", got, x.line))
	}
	why = append(why, e.problems...)
	if len(why) > 0 {
		return wrong, why
	}
	return x.as, nil
}

// tally counts the runs' outcomes per fault and backend.
type tally struct{ outcomeTable }

// record judges a run, logs its outcome line, fails the test if it is
// wrong, and counts it.
func (tl *tally) record(t *testing.T, fault, backend string, run int, x expect, e ending) {
	t.Helper()
	v, why := x.judge(e)
	tl.add(fault, backend, "", v)
	line := fmt.Sprintf("outcome: %s | %s | run %d | %s | exit %d after %v", fault, backend, run, v, e.code, e.took.Round(time.Millisecond))
	if s := strings.TrimSpace(e.stderr); s != "" {
		line += " | " + s
	}
	if len(e.notes) > 0 {
		line += " | " + strings.Join(e.notes, "; ")
	}
	if v == wrong {
		t.Errorf("%s | %s", line, strings.Join(why, "; "))
		return
	}
	t.Log(line)
}

func TestInterrupt(t *testing.T) {
	w := need(t)
	ref := runnable(t)
	tl := &tally{}
	t.Run("cases", func(t *testing.T) {
		for _, b := range backendsFor("tags") {
			t.Run("tags/"+b.name, func(t *testing.T) {
				for _, sig := range intrSignals {
					for i := range intrRuns {
						x, e := interruptTags(t, w, b, sig)
						tl.record(t, sig.name+" tags", b.name, i+1, x, e)
					}
				}
			})
		}
		for _, b := range backendsFor("export") {
			t.Run("dir/"+b.name, func(t *testing.T) {
				for _, sig := range intrSignals {
					for i := range intrRuns {
						x, e := interruptExportDir(t, w, b, sig)
						tl.record(t, sig.name+" export DIR", b.name, i+1, x, e)
					}
				}
			})
			t.Run("stream/"+b.name, func(t *testing.T) {
				// One image for every run: an engine pulls it once.
				repo, _ := pushRandom(t, w, "intr/stream-"+b.name, 8<<20)
				for _, sig := range intrSignals {
					for i := range intrRuns {
						x, e := interruptExportStream(t, b, w.v3.Host+"/"+repo+":1", sig)
						tl.record(t, sig.name+" export -", b.name, i+1, x, e)
					}
				}
			})
		}
		for _, b := range backendsFor("run") {
			for _, m := range runModes {
				t.Run("run-"+m.name+"/"+b.name, func(t *testing.T) {
					for _, sig := range intrSignals {
						for i := range intrRuns {
							x, e := interruptRun(t, b, ref, m, sig)
							tl.record(t, sig.name+" run "+m.row, b.name, i+1, x, e)
						}
					}
				})
			}
		}
	})
	t.Logf("interruption outcomes per fault and backend, %d runs each:\n%s", intrRuns, tl.markdown(nil))
}

// interruptTags signals ocix tags while the registry holds the second
// of 41 pages of tags: exit 130/143 within intrExit, one line, no output.
func interruptTags(t *testing.T, w *world, b *backend, sig intrSignal) (expect, ending) {
	x := expect{code: sig.code, as: clearFailure, line: "interrupted by " + sig.name, within: intrExit}
	stalled := make(chan struct{})
	f := runFront(t, w, stallTagPage(2, stalled))
	defer f.Close()
	s := b.sandbox(t)
	p := startOcix(t, s, "--backend", b.name, "tags", f.Addr+"/"+manyRepo)
	p.collect()
	if e, ok := p.underWay(stalled, "asked for the second page of tags"); !ok {
		return x, e
	}
	time.Sleep(100 * time.Millisecond)
	e, seen := p.signal(sig.sig)
	if out := p.stdoutAfter(); out != "" {
		e.problem("partial output: %d lines on stdout", len(lines(out)))
	}
	leftBehind(t, b, s, seen, &e)
	return x, e
}

// interruptExportDir signals ocix export IMAGE DEST while the registry
// holds the image's layer after its first MiB (an engine is pulling it,
// api and crane are applying it): exit 130/143 within intrExit, one line,
// nothing at DEST or beside it.
func interruptExportDir(t *testing.T, w *world, b *backend, sig intrSignal) (expect, ending) {
	x := expect{code: sig.code, as: clearFailure, line: "interrupted by " + sig.name, within: intrExit}
	return x, stopExportDir(t, w, b, "intr", func(p *liveOcix) (ending, []procRef) { return p.signal(sig.sig) })
}

// stopExportDir runs ocix export IMAGE DEST, an image of its own for
// every run (an engine must not have its layer, nor be still pulling it
// for a run before), with the registry holding the layer after its first
// MiB; once the export is under way, stop ends it. Then nothing may be
// on stdout, at DEST or beside it, or left running.
func stopExportDir(t *testing.T, w *world, b *backend, prefix string, stop func(*liveOcix) (ending, []procRef)) ending {
	repo, layer := pushRandom(t, w, fmt.Sprintf("%s/dir-%s-%d", prefix, b.name, time.Now().UnixNano()), 2<<20)
	stalled, release := make(chan struct{}), make(chan struct{})
	f := runFront(t, w, stallBlob(layer.String(), 1<<20, stalled, release))
	defer f.Close()
	defer close(release)
	s := b.sandbox(t)
	dest := filepath.Join(s.dir, "rootfs")
	p := startOcix(t, s, "--backend", b.name, "export", "-q", f.Addr+"/"+repo+":1", dest)
	p.collect()
	if e, ok := p.underWay(stalled, "fetched the layer"); !ok {
		return e
	}
	time.Sleep(300 * time.Millisecond)
	e, seen := stop(p)
	if out := p.stdoutAfter(); out != "" {
		e.problem("stdout %q", clip(out))
	}
	leftAtDest(dest, &e)
	leftBehind(t, b, s, seen, &e)
	return e
}

// interruptExportStream signals ocix export IMAGE - once the stream has
// brought streamHead bytes and the test has stopped reading (the export
// is blocked on the pipe; an engine's container exists): exit 130/143
// within intrExit, one line, and a stream that does not end as a tar.
func interruptExportStream(t *testing.T, b *backend, ref string, sig intrSignal) (expect, ending) {
	x := expect{code: sig.code, as: clearFailure, line: "interrupted by " + sig.name, within: intrExit}
	s := b.sandbox(t)
	p := startOcix(t, s, "--backend", b.name, "export", "-q", ref, "-")
	st := &streamTail{}
	if e, ok := st.await(p, func() (ending, []procRef) { return p.signal(sig.sig) }); !ok {
		return x, e
	}
	if b.containers != nil && len(labelled(t, b)) == 0 {
		t.Errorf("%s streams an export with no container", b.name)
	}
	time.Sleep(200 * time.Millisecond)
	e, seen := p.signal(sig.sig)
	st.rest(p.stdout, &e)
	leftBehind(t, b, s, seen, &e)
	return x, e
}

// runMode is one way a run is interrupted.
type runMode struct {
	name, row   string
	script      string
	stopTimeout time.Duration
	signals     int
	want        expect // whichever the signal
}

var runModes = []runMode{
	// One signal, passed to a container that traps it: its exit 7 is
	// the run's, long before the stop timeout.
	{name: "trap", row: "trapped", script: trappingScript, stopTimeout: 5 * time.Second, signals: 1,
		want: expect{code: 7, as: survived, within: 5 * time.Second}},
	// One signal that the container ignores: killed after the stop
	// timeout (1 s).
	{name: "timeout", row: "ignored, --stop-timeout 1s", script: ignoringScript, stopTimeout: time.Second, signals: 1,
		want: expect{code: 137, as: survived, after: 900 * time.Millisecond, within: time.Second + intrExit}},
	// A second signal kills at once, well before the stop timeout (30 s).
	{name: "twice", row: "ignored, second signal", script: ignoringScript, stopTimeout: 30 * time.Second, signals: 2,
		want: expect{code: 137, as: survived, within: intrExit}},
}

// interruptRun runs a container that says "started" and loops, then
// signals ocix as m says.
func interruptRun(t *testing.T, b *backend, ref string, m runMode, sig intrSignal) (expect, ending) {
	x := m.want
	s := b.sandbox(t)
	p := startOcix(t, s, "--backend", b.name, "run", "--network", "none", "--stop-timeout", m.stopTimeout.String(),
		ref, "--", "sh", "-c", m.script)
	p.collect()
	if e, ok := p.printed("started\n"); !ok {
		return x, e
	}
	sigs := []syscall.Signal{sig.sig}
	if m.signals == 2 {
		sigs = append(sigs, sig.sig)
	}
	e, seen := p.signal(sigs...)
	if out := p.stdoutAfter(); out != "started\n" {
		e.problem("stdout %q, want %q", clip(out), "started\n")
	}
	leftBehind(t, b, s, seen, &e)
	return x, e
}

// TestCrashMidOperation SIGKILLs an engine backend's plugin in the middle
// of a job: exit 1 for an export, 125 for a run, with one line naming the
// plugin; nothing at DEST, no temporary directory, and no container with
// ocix's label once ocix has exited. The runs of docker, nerdctl and
// podman are TestDockerCrashCleanup, TestNerdctlCrashCleanup and
// TestPodmanCleanupAfterPluginDeath; this covers the other combinations:
// exports (killed while pulling, and while streaming with the container
// there), runc's run, and the export plugin that fills runc's cache.
func TestCrashMidOperation(t *testing.T) {
	w := need(t)
	tl := &tally{}
	t.Run("cases", func(t *testing.T) {
		for _, name := range []string{"docker", "nerdctl", "podman"} {
			b := backendNamed(t, name)
			t.Run(name+"/dir", func(t *testing.T) {
				for i := range intrRuns {
					x, e := crashExportDir(t, w, b)
					tl.record(t, "SIGKILL plugin: export DIR, pulling", b.name, i+1, x, e)
				}
			})
			t.Run(name+"/stream", func(t *testing.T) {
				repo, _ := pushRandom(t, w, "crash/stream-"+b.name, 8<<20)
				for i := range intrRuns {
					x, e := crashExportStream(t, b, w.v3.Host+"/"+repo+":1")
					tl.record(t, "SIGKILL plugin: export -, streaming", b.name, i+1, x, e)
				}
			})
		}
		for _, b := range backendsFor("run") {
			t.Run(b.name+"/run", func(t *testing.T) {
				ref := runnable(t)
				for i := range intrRuns {
					x, e := crashRun(t, b, ref)
					tl.record(t, "SIGKILL plugin: run, container running", b.name, i+1, x, e)
				}
			})
		}
		b := backendNamed(t, "runc")
		t.Run("runc/fill", func(t *testing.T) {
			for i := range intrRuns {
				x, e := crashFill(t, w, b)
				tl.record(t, "SIGKILL export plugin: run, filling the cache", b.name, i+1, x, e)
			}
		})
	})
	t.Logf("crash outcomes per fault and backend, %d runs each:\n%s", intrRuns, tl.markdown(nil))
}

// crashWant is how a run whose plugin was killed must end.
func crashWant(plugin string, code int) expect {
	return expect{code: code, as: clearFailure, line: fmt.Sprintf("plugin %q exited unexpectedly", plugin), within: intrExit}
}

func crashExportDir(t *testing.T, w *world, b *backend) (expect, ending) {
	return crashWant(b.name, 1), stopExportDir(t, w, b, "crash", func(p *liveOcix) (ending, []procRef) { return p.killPlugin(b.name) })
}

func crashExportStream(t *testing.T, b *backend, ref string) (expect, ending) {
	x := crashWant(b.name, 1)
	s := b.sandbox(t)
	p := startOcix(t, s, "--backend", b.name, "export", "-q", ref, "-")
	st := &streamTail{}
	if e, ok := st.await(p, func() (ending, []procRef) { return p.killPlugin(b.name) }); !ok {
		return x, e
	}
	if left := labelled(t, b); len(left) != 1 {
		t.Errorf("want the export's container while it streams, found %v", left)
	}
	time.Sleep(200 * time.Millisecond)
	e, seen := p.killPlugin(b.name)
	st.rest(p.stdout, &e)
	leftBehind(t, b, s, seen, &e)
	return x, e
}

func crashRun(t *testing.T, b *backend, ref string) (expect, ending) {
	x := crashWant(b.name, 125)
	s := b.sandbox(t)
	p := startOcix(t, s, "--backend", b.name, "run", "--network", "none", ref, "--", "sh", "-c", ignoringScript)
	p.collect()
	if e, ok := p.printed("started\n"); !ok {
		return x, e
	}
	if left := labelled(t, b); len(left) != 1 {
		t.Errorf("want the running container, found %v", left)
	}
	e, seen := p.killPlugin(b.name)
	leftBehind(t, b, s, seen, &e)
	return x, e
}

// crashFill kills the export plugin (api) that fills runc's cache while
// its blob is held: the run fails with one line naming it, and leaves no
// image and no fill in the cache; the next run fills it.
func crashFill(t *testing.T, w *world, b *backend) (expect, ending) {
	x := crashWant("api", 125)
	s := b.sandbox(t)
	c := newCounter(t, w)
	c.hold, c.held = make(chan struct{}), make(chan struct{})
	ref := c.ref(t)
	p := startOcix(t, s, "--backend", b.name, "run", "--network", "none", ref, "--", "echo", "ran")
	p.collect()
	held := make(chan struct{})
	go func() {
		select {
		case <-c.held:
			close(held)
		case <-p.exited:
		}
	}()
	if e, ok := p.underWay(held, "fetched a blob into the cache"); !ok {
		close(c.hold)
		return x, e
	}
	e, seen := p.killPlugin("api")
	close(c.hold)
	if imgs, fills := s.cachedImages(); len(imgs) != 0 || len(fills) != 0 {
		e.problem("the cache holds images %v and fills %v", imgs, fills)
	}
	leftBehind(t, b, s, seen, &e)
	if r := runcRun(t, s, ref, nil, "echo", "filled again"); r.code != 0 || r.stdout != "filled again\n" {
		e.problem("the next run: %s", r)
	}
	return x, e
}

// liveOcix is an ocix command under test. Its stdout and stderr are pipes
// of the test's own, not buffers exec copies into: its exit is seen when
// ocix itself exits, and a process that still holds them after is seen
// too.
type liveOcix struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdout *os.File // the read end
	out    lockedBuffer
	outEOF chan struct{} // closed when collect has read stdout to its end
	errOut lockedBuffer
	errEOF chan struct{}
	exited chan struct{}
	at     time.Time // when it exited
}

func startOcix(t *testing.T, s *sandbox, args ...string) *liveOcix {
	t.Helper()
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(binDir, "ocix"), args...)
	cmd.Env = s.env
	cmd.Stdout, cmd.Stderr = outW, errW
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		t.Fatal(err)
	}
	p := &liveOcix{t: t, cmd: cmd, stdout: outR, errEOF: make(chan struct{}), exited: make(chan struct{})}
	go func() {
		io.Copy(&p.errOut, errR)
		errR.Close()
		close(p.errEOF)
	}()
	go func() {
		cmd.Wait()
		p.at = time.Now()
		close(p.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.exited
		outR.Close()
	})
	return p
}

// collect reads stdout into p.out until its end.
func (p *liveOcix) collect() {
	p.outEOF = make(chan struct{})
	go func() {
		io.Copy(&p.out, p.stdout)
		close(p.outEOF)
	}()
}

// stdoutAfter is what ocix wrote on stdout, read to its end within
// intrSettle of ocix's exit.
func (p *liveOcix) stdoutAfter() string {
	select {
	case <-p.outEOF:
	case <-time.After(intrSettle):
	}
	return p.out.String()
}

// underWay waits until ready is closed. If ocix exits or the wait times
// out first, it returns the ending to record, with why.
func (p *liveOcix) underWay(ready <-chan struct{}, what string) (ending, bool) {
	select {
	case <-ready:
		return ending{}, true
	case <-p.exited:
	case <-time.After(intrUnderWay):
		p.cmd.Process.Kill()
	}
	e := p.end(time.Now())
	e.problem("ocix never %s", what)
	return e, false
}

// printed waits until stdout holds want.
func (p *liveOcix) printed(want string) (ending, bool) {
	deadline := time.Now().Add(intrUnderWay)
	for !strings.Contains(p.out.String(), want) {
		select {
		case <-p.exited:
		default:
			if time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			p.cmd.Process.Kill()
		}
		e := p.end(time.Now())
		e.problem("the container never printed %q: stdout %q", want, clip(p.out.String()))
		return e, false
	}
	return ending{}, true
}

// signal sends sigs to ocix, intrExit/4 apart, and waits for it to exit.
// It returns the ending and the processes ocix had started.
func (p *liveOcix) signal(sigs ...syscall.Signal) (ending, []procRef) {
	seen := family(p.cmd.Process.Pid)
	var last time.Time
	for i, sig := range sigs {
		if i > 0 {
			select {
			case <-p.exited: // before the next signal: too early
				return p.end(last), seen
			case <-time.After(intrExit / 4):
			}
		}
		last = time.Now()
		p.cmd.Process.Signal(sig)
	}
	return p.end(last), seen
}

// killPlugin SIGKILLs ocix's plugin process for backend name and waits for
// ocix to exit.
func (p *liveOcix) killPlugin(name string) (ending, []procRef) {
	seen := family(p.cmd.Process.Pid)
	i := slices.IndexFunc(seen, func(r procRef) bool { return r.ppid == p.cmd.Process.Pid && r.exe == "ocix-plugin-"+name })
	if i < 0 {
		e := p.end(time.Now())
		e.problem("no ocix-plugin-%s under ocix among %v", name, seen)
		return e, seen
	}
	at := time.Now()
	syscall.Kill(seen[i].pid, syscall.SIGKILL)
	return p.end(at), seen
}

// end waits for ocix to exit (killing it after a minute) and describes
// its end, from since.
func (p *liveOcix) end(since time.Time) ending {
	var e ending
	select {
	case <-p.exited:
	case <-time.After(time.Minute):
		p.cmd.Process.Kill()
		<-p.exited
		e.problem("ocix did not exit within a minute: killed")
	}
	e.code = exitCode(p.cmd)
	e.took = p.at.Sub(since)
	select {
	case <-p.errEOF:
	case <-time.After(intrSettle):
		e.problem("ocix's stderr still open %v after it exited: a process it started holds it", intrSettle)
	}
	e.stderr = p.errOut.String()
	return e
}

// streamTail reads a tar stream, keeping its size and its last 1024 bytes.
type streamTail struct {
	total int64
	tail  []byte
}

func (st *streamTail) write(b []byte) {
	st.total += int64(len(b))
	st.tail = append(st.tail, b...)
	if len(st.tail) > 1024 {
		st.tail = st.tail[len(st.tail)-1024:]
	}
}

// await reads the first streamHead bytes of p's stream. When they do not
// come within intrUnderWay, it ends p with stop and says what went wrong.
func (st *streamTail) await(p *liveOcix, stop func() (ending, []procRef)) (ending, bool) {
	head := make(chan error, 1)
	go func() { head <- st.readN(p.stdout, streamHead) }()
	select {
	case err := <-head:
		if err == nil {
			return ending{}, true
		}
		e, _ := stop()
		e.problem("the stream ended after %d bytes, before it was interrupted: %v", st.total, err)
		return e, false
	case <-time.After(intrUnderWay):
		e, _ := stop()
		e.problem("the stream brought %d bytes in %v", st.total, intrUnderWay)
		return e, false
	}
}

// readN reads at least n bytes of r.
func (st *streamTail) readN(r io.Reader, n int64) error {
	buf := make([]byte, 32<<10)
	for st.total < n {
		k, err := r.Read(buf)
		st.write(buf[:k])
		if err != nil {
			return err
		}
	}
	return nil
}

// rest reads what is left of a stream whose writer has exited: its end
// must come within intrSettle (no process still holds it), and a stream
// cut short must not end as a complete tar does.
func (st *streamTail) rest(f *os.File, e *ending) {
	f.SetReadDeadline(time.Now().Add(intrSettle))
	buf := make([]byte, 256<<10)
	for {
		k, err := f.Read(buf)
		st.write(buf[:k])
		if errors.Is(err, os.ErrDeadlineExceeded) {
			e.problem("stdout still open %v after ocix exited: a process it started holds it", intrSettle)
			return
		}
		if err != nil {
			break
		}
	}
	e.note("stream cut at %d bytes", st.total)
	if len(st.tail) == 1024 && bytes.Count(st.tail, []byte{0}) == 1024 {
		e.problem("the cut stream (%d bytes) ends as a complete tar", st.total)
	}
}

// leftAtDest adds to e what an export that failed left at DEST or
// beside it.
func leftAtDest(dest string, e *ending) {
	if _, err := os.Lstat(dest); !errors.Is(err, fs.ErrNotExist) {
		e.problem("DEST exists (%v)", err)
	}
	if found := tempsBeside(dest); len(found) > 0 {
		e.problem("temporary left beside DEST: %v", found)
	}
}

// tempsBeside lists ocix's temporary files and directories beside path:
// NAME.ocix-* (a tar being written) and .NAME.ocix-* (its own directory).
func tempsBeside(path string) []string {
	dir, base := filepath.Split(path)
	var found []string
	for _, pattern := range []string{base + ".ocix-*", "." + base + ".ocix-*"} {
		more, _ := filepath.Glob(filepath.Join(dir, pattern))
		found = append(found, more...)
	}
	return found
}

// leftBehind adds to e what ocix left that it must not have: a plugin
// alive once it has exited; any process it started, or with the
// sandbox's TMPDIR, alive intrSettle later; scratch space in the cache, a
// socket directory, a container with ocix's label, a run directory. A
// container that goes within intrSettle is noted, not a problem;
// containers that stay are removed, so that they trouble no later test.
func leftBehind(t *testing.T, b *backend, s *sandbox, seen []procRef, e *ending) {
	t.Helper()
	time.Sleep(100 * time.Millisecond) // init reaps the plugins ocix left
	for _, r := range seen {
		if strings.HasPrefix(r.exe, "ocix-plugin-") && r.alive() {
			e.problem("%s (pid %d) alive after ocix exited", r.exe, r.pid)
		}
	}
	switch left, waited := strays(s, seen, intrSettle); {
	case len(left) > 0:
		e.problem("processes left: %v", left)
	case waited > 200*time.Millisecond:
		e.note("what ocix started gone %v after it exited", waited.Round(100*time.Millisecond))
	}
	if found, _ := filepath.Glob(filepath.Join(s.cacheDir(), "*.ocix-*")); len(found) > 0 {
		e.problem("scratch left in the cache: %v", found)
	}
	if dirs := s.socketDirs(); len(dirs) > 0 {
		e.problem("socket directories left: %v", dirs)
	}
	if dirs := s.runDirs(); len(dirs) > 0 {
		e.problem("run directories left: %v", dirs)
	}
	if b.containers == nil {
		return
	}
	start := time.Now()
	left := labelled(t, b)
	for deadline := start.Add(intrSettle); len(left) > 0 && time.Now().Before(deadline); left = labelled(t, b) {
		time.Sleep(100 * time.Millisecond)
	}
	switch {
	case len(left) > 0:
		e.problem("containers left: %v", left)
		purge(t, b, left)
	case time.Since(start) > 200*time.Millisecond:
		e.note("container gone %v after ocix exited", time.Since(start).Round(100*time.Millisecond))
	}
}

// labelled is b.leftovers: b's containers with ocix's label. nerdctl's
// ps fails when a container it listed is removed before it inspects it,
// as ocix's are right after a job; it is asked again.
func labelled(t *testing.T, b *backend) []string {
	t.Helper()
	if b.name != "nerdctl" {
		return b.leftovers(t)
	}
	e := engine{name: "nerdctl", cli: nerdctlCommand(b.environment(t))}
	for try := 1; ; try++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := e.run(ctx, "ps", "-a", "-q", "--filter", "label="+core.InvocationLabel)
		cancel()
		switch {
		case err == nil:
			return strings.Fields(out)
		case try == 3 || !strings.Contains(err.Error(), "not found"):
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// purge removes containers a run left.
func purge(t *testing.T, b *backend, ids []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	env := b.environment(t)
	var e engine
	switch b.name {
	case "docker":
		e = engine{name: "docker", cli: []string{"docker"}, env: env}
	case "podman":
		e = engine{name: "podman", cli: []string{"podman", "--remote"}, env: env}
	case "nerdctl":
		e = engine{name: "nerdctl", cli: nerdctlCommand(env)}
	case "runc":
		for _, id := range ids {
			exec.CommandContext(ctx, "runc", "--root", runcRoot, "delete", "--force", id).Run()
		}
		return
	default:
		return
	}
	if _, err := e.run(ctx, append([]string{"rm", "-f"}, ids...)...); err != nil {
		t.Logf("removing what the run left: %v", err)
	}
}

// procRef names a process across pid reuse.
type procRef struct {
	pid, ppid int
	start     string // its start time, field 22 of /proc/PID/stat
	exe       string // the base name of its executable
}

// procOf reads pid's stat.
func procOf(pid int) (procRef, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procRef{}, false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // from field 3, the state
	if len(f) < 20 {
		return procRef{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	return procRef{pid: pid, ppid: ppid, start: f[19], exe: filepath.Base(exe)}, true
}

// alive reports whether the process still runs (a zombie has exited).
func (r procRef) alive() bool {
	now, ok := procOf(r.pid)
	return ok && now.start == r.start && !gone(r.pid)
}

func (r procRef) String() string { return fmt.Sprintf("%s[%d]", r.exe, r.pid) }

// family lists pid's descendants.
func family(pid int) []procRef {
	var out []procRef
	queue := []int{pid}
	for len(queue) > 0 {
		for _, kid := range childPids(queue[0]) {
			if r, ok := procOf(kid); ok {
				out = append(out, r)
				queue = append(queue, kid)
			}
		}
		queue = queue[1:]
	}
	return out
}

// strays lists what still runs, after waiting up to within, of the
// processes seen under ocix and of those with the sandbox's TMPDIR in
// their environment (plugins, and what they start, inherit it), and how
// long it waited.
func strays(s *sandbox, seen []procRef, within time.Duration) ([]string, time.Duration) {
	mark := []byte("\x00TMPDIR=" + filepath.Join(s.dir, "tmp") + "\x00")
	start := time.Now()
	for deadline := start.Add(within); ; time.Sleep(50 * time.Millisecond) {
		var found []string
		for _, r := range seen {
			if r.alive() {
				found = append(found, r.String())
			}
		}
		procs, _ := filepath.Glob("/proc/[0-9]*")
		for _, p := range procs {
			pid, _ := strconv.Atoi(filepath.Base(p))
			env, err := os.ReadFile(filepath.Join(p, "environ"))
			if err != nil || pid == os.Getpid() || !bytes.Contains(append([]byte{0}, env...), mark) {
				continue
			}
			if r, ok := procOf(pid); ok && !gone(pid) && !slices.Contains(found, r.String()) {
				found = append(found, r.String())
			}
		}
		if len(found) == 0 || time.Now().After(deadline) {
			return found, time.Since(start)
		}
	}
}

// lockedBuffer is a buffer one goroutine writes and others read.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// runFront starts a front over the v3 registry with rules and without the
// tag-list throttle, for one run: the caller closes it.
func runFront(t *testing.T, w *world, rules ...front.Rule) *front.Server {
	t.Helper()
	f, err := front.Listen("127.0.0.1:0", front.Options{Upstream: w.v3.Host, NoThrottle: true, Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// stallTagPage lets the first page-1 tag-list requests through and holds
// every later one until its client goes away; stalled is closed at the
// first held.
func stallTagPage(page int, stalled chan<- struct{}) front.Rule {
	var (
		mu   sync.Mutex
		seen int
		once sync.Once
	)
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if r.Method != http.MethodGet || front.RouteOf(r).Kind != front.KindTags {
			next.ServeHTTP(w, r)
			return
		}
		mu.Lock()
		seen++
		n := seen
		mu.Unlock()
		if n < page {
			next.ServeHTTP(w, r)
			return
		}
		once.Do(func() { close(stalled) })
		<-r.Context().Done()
	}
}

// pushRandom pushes to the shared registry, as name:1, an image for this
// platform with one layer of size random bytes, and returns its
// repository and the layer's digest.
func pushRandom(t *testing.T, w *world, name string, size int64) (string, v1.Hash) {
	t.Helper()
	img, err := random.Image(size, 1)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf.OS, cf.Architecture = "linux", hostArch
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	layer, err := layers[0].Digest()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := images.Push(ctx, images.Repository{Host: w.v3.Host, Name: name}, "1", img); err != nil {
		t.Fatal(err)
	}
	return name, layer
}
