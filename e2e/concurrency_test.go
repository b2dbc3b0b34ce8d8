//go:build e2e

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ocix/ocix/e2e/images"
)

// The concurrency suite: many ocix processes doing the same job at once,
// in one sandbox (one TMPDIR for their socket directories, one cache),
// round after round. Each process's run is recorded as intr's are, and
// each test ends with its table.

const (
	// concProcs is how many ocix processes run at once.
	concProcs = 8
	// concRounds is how many times they do.
	concRounds = 3
	// concBound is how long a round may take.
	concBound = time.Minute
)

// concWant is how each of the parallel runs must end.
var concWant = expect{code: 0, as: survived, within: concBound}

// concEnding is a finished command's ending, with the problems of its
// result.
func concEnding(r result, took time.Duration, problems ...string) ending {
	return ending{code: r.code, took: took, stderr: r.stderr, problems: problems}
}

// Eight exports of the same image with api into eight new DESTs at once:
// every tree is the expected one, and nothing is left beside them.
func TestConcurrentExports(t *testing.T) {
	_, imgs := rulesImages(t)
	b := backendNamed(t, "api")
	s := b.sandbox(t)
	tl := &tally{}
	want := images.RulesExpected(hostArch, true)
	for round := range concRounds {
		endings := make([]ending, concProcs)
		dests := make([]string, concProcs)
		var wg sync.WaitGroup
		start := time.Now()
		for i := range concProcs {
			dests[i] = filepath.Join(s.dir, fmt.Sprintf("rootfs-%d-%d", round, i))
			wg.Go(func() {
				r := s.ocix(t, "--backend", "api", "export", "-q", imgs.index, dests[i])
				took := time.Since(start)
				var problems []string
				if r.code == 0 {
					if d := treeDiff(dests[i], want); d != "" {
						problems = append(problems, "the tree differs: "+d)
					}
				}
				endings[i] = concEnding(r, took, problems...)
			})
		}
		wg.Wait()
		for i, e := range endings {
			if found := tempsBeside(dests[i]); len(found) > 0 {
				e.problem("temporary left beside DEST: %v", found)
			}
			tl.record(t, fmt.Sprintf("%d exports at once", concProcs), b.name, round*concProcs+i+1, concWant, e)
		}
		t.Logf("round %d: %d exports in %v", round+1, concProcs, time.Since(start).Round(time.Millisecond))
	}
	if dirs := s.socketDirs(); len(dirs) > 0 {
		t.Errorf("socket directories left: %v", dirs)
	}
	if left, _ := strays(s, nil, intrSettle); len(left) > 0 {
		t.Errorf("processes left: %v", left)
	}
	t.Logf("concurrency outcomes, %d rounds of %d:\n%s", concRounds, concProcs, tl.markdown(nil))
}

// cacheEntry is a row of `ocix --format json cache ls`.
type cacheEntry struct {
	Digest string
	Images []string
	Size   int64
}

func cacheList(t *testing.T, s *sandbox) []cacheEntry {
	t.Helper()
	r := s.ocix(t, "--format", "json", "cache", "ls")
	var ls []cacheEntry
	if r.code != 0 {
		t.Fatalf("cache ls: %s", r)
	}
	if strings.TrimSpace(r.stdout) != "" {
		if err := json.Unmarshal([]byte(r.stdout), &ls); err != nil {
			t.Fatalf("cache ls: %v\n%s", err, r)
		}
	}
	return ls
}

// emptyCache prunes the sandbox's cache and checks that it is empty.
func emptyCache(t *testing.T, s *sandbox) {
	t.Helper()
	if r := s.ocix(t, "cache", "prune"); r.code != 0 {
		t.Fatalf("cache prune: %s", r)
	}
	if ls := cacheList(t, s); len(ls) != 0 {
		t.Fatalf("the pruned cache lists %+v", ls)
	}
}

// busyboxSum is what `sha256sum /bin/busybox` prints in the runnable
// image, whose busybox is this host's.
func busyboxSum(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(images.BusyboxPath)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]) + "  /bin/busybox\n"
}

// Eight cold runc runs of the same image at once, round after round with
// the cache emptied first: all run, from one fill (each blob fetched
// once), and the cache holds one image, whole.
func TestConcurrentRuncColdRuns(t *testing.T) {
	s := runcSandbox(t)
	c := newCounter(t, need(t))
	ref := c.ref(t)
	sum := busyboxSum(t)
	tl := &tally{}
	for round := range concRounds {
		emptyCache(t, s)
		c.take()
		endings := make([]ending, concProcs)
		var wg sync.WaitGroup
		start := time.Now()
		for i := range concProcs {
			wg.Go(func() {
				r := runcRun(t, s, ref, nil, "sh", "-c", fmt.Sprintf("echo %d; sha256sum /bin/busybox", i))
				var problems []string
				if want := fmt.Sprintf("%d\n%s", i, sum); r.code == 0 && r.stdout != want {
					problems = append(problems, fmt.Sprintf("stdout %q, want %q", r.stdout, want))
				}
				endings[i] = concEnding(r, time.Since(start), problems...)
			})
		}
		wg.Wait()
		took := time.Since(start)
		blobs := map[string]int{}
		for _, req := range c.take() {
			if strings.HasPrefix(req, "GET ") && strings.Contains(req, "/blobs/") {
				blobs[req]++
			}
		}
		for req, n := range blobs {
			if n > 1 {
				t.Errorf("round %d: %s fetched %d times: the runs did not share one fill", round+1, req, n)
			}
		}
		if ls := cacheList(t, s); len(ls) != 1 || !slices.Contains(ls[0].Images, ref) || ls[0].Size == 0 {
			t.Errorf("round %d: cache ls %+v, want the one image", round+1, ls)
		}
		if imgs, fills := s.cachedImages(); len(imgs) != 1 || len(fills) != 0 {
			t.Errorf("round %d: the cache holds %v and fills %v", round+1, imgs, fills)
		}
		for i, e := range endings {
			tl.record(t, fmt.Sprintf("%d cold runc runs at once", concProcs), "runc", round*concProcs+i+1, concWant, e)
		}
		t.Logf("round %d: %d cold runs in %v, %d blob requests", round+1, concProcs, took.Round(time.Millisecond), len(blobs))
	}
	if left, _ := strays(s, nil, intrSettle); len(left) > 0 {
		t.Errorf("processes left: %v", left)
	}
	t.Logf("concurrency outcomes, %d rounds of %d:\n%s", concRounds, concProcs, tl.markdown(nil))
}

// killedFillers is how many cold runs start together in
// TestConcurrentFillWithAKilledFiller.
const killedFillers = 4

// Cold runs of one image at once; the one that fills the cache is
// SIGKILLed halfway (its blob held): the cache shows no image, the others
// fill it and run, and the next run works — from the cache, with no fill
// left.
func TestConcurrentFillWithAKilledFiller(t *testing.T) {
	w := need(t)
	s := runcSandbox(t)
	tl := &tally{}
	fault := fmt.Sprintf("filler SIGKILLed among %d cold runc runs", killedFillers)
	for round := range concRounds - 1 {
		emptyCache(t, s)
		c := newCounter(t, w)
		c.hold, c.held = make(chan struct{}), make(chan struct{})
		ref := c.ref(t)
		procs := make([]*liveOcix, killedFillers)
		start := time.Now()
		for i := range procs {
			procs[i] = startOcix(t, s, "--backend", "runc", "run", "--network", "none", ref, "--", "echo", strconv.Itoa(i))
			procs[i].collect()
		}
		select {
		case <-c.held:
		case <-time.After(intrUnderWay):
			close(c.hold)
			t.Fatal("no run fetched a blob")
		}
		time.Sleep(200 * time.Millisecond) // the others are waiting for the fill
		victim := fillerOf(t, s, procs)
		if victim < 0 {
			close(c.hold)
			t.Fatal("no run holds the cache's fill lock")
		}
		procs[victim].cmd.Process.Signal(syscall.SIGKILL)
		<-procs[victim].exited
		if ls := cacheList(t, s); len(ls) != 0 {
			t.Errorf("round %d: after the kill, cache ls shows %+v", round+1, ls)
		}
		close(c.hold)
		for i, p := range procs {
			if i == victim {
				continue
			}
			e := p.end(start)
			if out, want := p.stdoutAfter(), strconv.Itoa(i)+"\n"; e.code == 0 && out != want {
				e.problem("stdout %q, want %q", out, want)
			}
			tl.record(t, fault, "runc", round*killedFillers+i+1, concWant, e)
		}
		ls := cacheList(t, s)
		if len(ls) != 1 {
			t.Errorf("round %d: cache ls %+v, want one image", round+1, ls)
		}
		c.take()
		startNext := time.Now()
		r := runcRun(t, s, ref, nil, "echo", "next")
		var problems []string
		if r.code == 0 && r.stdout != "next\n" {
			problems = append(problems, fmt.Sprintf("stdout %q", r.stdout))
		}
		if reqs := c.take(); slices.ContainsFunc(reqs, func(r string) bool { return strings.Contains(r, "/blobs/") }) {
			problems = append(problems, fmt.Sprintf("the next run fetched blobs, not from the cache: %v", reqs))
		}
		if imgs, fills := s.cachedImages(); len(imgs) != 1 || len(fills) != 0 {
			problems = append(problems, fmt.Sprintf("the cache holds %v and fills %v", imgs, fills))
		}
		tl.record(t, "next run after the killed filler", "runc", round+1, concWant, concEnding(r, time.Since(startNext), problems...))
		t.Logf("round %d: filler %d killed; the others ran in %v", round+1, victim, time.Since(start).Round(time.Millisecond))
	}
	if left, _ := strays(s, nil, intrSettle); len(left) > 0 {
		t.Errorf("processes left: %v", left)
	}
	if dirs := s.socketDirs(); len(dirs) > 0 {
		t.Errorf("socket directories left: %v", dirs)
	}
	t.Logf("concurrency outcomes:\n%s", tl.markdown(nil))
}

// fillerOf is the index of the process in procs that holds a write lock
// on a file of the cache's images directory (the fill's, or the image's
// lock): the one filling it. -1 if none.
func fillerOf(t *testing.T, s *sandbox, procs []*liveOcix) int {
	t.Helper()
	inodes := map[string]bool{}
	files, _ := filepath.Glob(filepath.Join(s.cacheDir(), "rootfs", "*"))
	more, _ := filepath.Glob(filepath.Join(s.cacheDir(), "rootfs", ".fill-*", "*"))
	for _, f := range append(files, more...) {
		if st, err := os.Stat(f); err == nil {
			inodes[strconv.FormatUint(st.Sys().(*syscall.Stat_t).Ino, 10)] = true
		}
	}
	locks, err := os.ReadFile("/proc/locks")
	if err != nil {
		t.Fatal(err)
	}
	// "1: FLOCK  ADVISORY  WRITE 4242 00:2e:1234 0 EOF"; a waiter's line
	// has "->" after the number.
	for _, line := range strings.Split(string(locks), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || f[1] != "FLOCK" || f[3] != "WRITE" {
			continue
		}
		dev := strings.Split(f[5], ":")
		if !inodes[dev[len(dev)-1]] {
			continue
		}
		pid, _ := strconv.Atoi(f[4])
		if i := slices.IndexFunc(procs, func(p *liveOcix) bool { return p.cmd.Process.Pid == pid }); i >= 0 {
			return i
		}
	}
	return -1
}

// Four docker runs at once, twice: each prints its own line, and no
// container is left.
func TestConcurrentDockerRuns(t *testing.T) {
	b := backendNamed(t, "docker")
	ref := runnable(t)
	s := b.sandbox(t)
	tl := &tally{}
	const n = 4
	for round := range 2 {
		endings := make([]ending, n)
		var wg sync.WaitGroup
		start := time.Now()
		for i := range n {
			wg.Go(func() {
				r := s.ocix(t, "--backend", "docker", "run", "--network", "none", ref, "--", "echo", strconv.Itoa(i))
				var problems []string
				if want := strconv.Itoa(i) + "\n"; r.code == 0 && r.stdout != want {
					problems = append(problems, fmt.Sprintf("stdout %q, want %q", r.stdout, want))
				}
				endings[i] = concEnding(r, time.Since(start), problems...)
			})
		}
		wg.Wait()
		if left := labelled(t, b); len(left) > 0 {
			t.Errorf("round %d: containers left: %v", round+1, left)
			purge(t, b, left)
		}
		for i, e := range endings {
			tl.record(t, fmt.Sprintf("%d docker runs at once", n), b.name, round*n+i+1, concWant, e)
		}
		t.Logf("round %d: %d runs in %v", round+1, n, time.Since(start).Round(time.Millisecond))
	}
	if dirs := s.socketDirs(); len(dirs) > 0 {
		t.Errorf("socket directories left: %v", dirs)
	}
	t.Logf("concurrency outcomes:\n%s", tl.markdown(nil))
}
