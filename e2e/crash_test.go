//go:build e2e

package e2e

import (
	"fmt"
	"testing"
	"time"
)

// The crash suite: a backend's plugin SIGKILLed in the middle of a job,
// judged as the interruption suite judges a run (interrupt_test.go).

// TestCrashMidOperation SIGKILLs an engine backend's plugin in the middle
// of a job: exit 1 for an export, 125 for a run, with one line naming the
// plugin; nothing at DEST, no temporary directory, and nothing of
// leftBehind's once ocix has exited. It covers every engine's export
// (killed while pulling, and while streaming with the container there),
// every run backend's run with its container running, and the export
// plugin (api) that fills runc's cache.
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
