package container

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/core/plugin"
)

// fakeEngine is an Engine whose behaviour each test sets; it records the
// removals.
type fakeEngine struct {
	remove   func(ctx context.Context, id string) error
	labelled func(ctx context.Context, invocation string) ([]string, error)

	mu      sync.Mutex
	removed []string
}

func (f *fakeEngine) Remove(ctx context.Context, id string) error {
	var err error
	if f.remove != nil {
		err = f.remove(ctx, id)
	}
	f.mu.Lock()
	f.removed = append(f.removed, id)
	f.mu.Unlock()
	return err
}

func (f *fakeEngine) Labelled(ctx context.Context, invocation string) ([]string, error) {
	if f.labelled == nil {
		return nil, nil
	}
	return f.labelled(ctx, invocation)
}

func (f *fakeEngine) removals() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.removed)
}

func created(id string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { return id, nil }
}

// The job's own removal happens once, whoever asks again, and leaves
// nothing for Drain.
func TestRemoveOnce(t *testing.T) {
	e := &fakeEngine{}
	tr := NewTracker(nil)
	c, err := tr.Create(context.Background(), e, "inv", created("c1"))
	if err != nil {
		t.Fatal(err)
	}
	c.Remove()
	c.Remove()
	tr.Drain()
	if got := e.removals(); !slices.Equal(got, []string{"c1"}) {
		t.Fatalf("removals %v, want one of c1", got)
	}
}

// A cancelled job's container is removed at once, before the job has
// unwound: the host stops the plugin meanwhile.
func TestCancelRemovesAtOnce(t *testing.T) {
	gone := make(chan string, 1)
	e := &fakeEngine{remove: func(ctx context.Context, id string) error {
		if ctx.Err() != nil {
			t.Errorf("removal on a done context: %v", ctx.Err())
		}
		gone <- id
		return nil
	}}
	tr := NewTracker(nil)
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := tr.Create(ctx, e, "inv", created("c1")); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case id := <-gone:
		if id != "c1" {
			t.Fatalf("removed %q", id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the cancelled job's container was not removed")
	}
}

// A container tracked on a context already done — a create that returned
// just as the job was cancelled — is removed once, at once, while Drain
// may be looking at it too.
func TestTrackOnADoneContext(t *testing.T) {
	for range 200 {
		e := &fakeEngine{}
		tr := NewTracker(nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		drained := make(chan struct{})
		go func() { defer close(drained); tr.Drain() }()
		c := tr.Track(ctx, e, "c1")
		<-drained
		c.Remove()
		tr.Drain()
		if got := e.removals(); !slices.Equal(got, []string{"c1"}) {
			t.Fatalf("removals %v, want one of c1", got)
		}
	}
}

// A create cut short by cancellation sweeps the invocation's containers:
// the engine may have made one whose ID never came back.
func TestCancelledCreateSweeps(t *testing.T) {
	e := &fakeEngine{labelled: func(_ context.Context, inv string) ([]string, error) {
		if inv != "inv" {
			t.Errorf("swept invocation %q", inv)
		}
		return []string{"orphan"}, nil
	}}
	tr := NewTracker(nil)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := tr.Create(ctx, e, "inv", func(ctx context.Context) (string, error) {
		cancel()
		return "", ctx.Err()
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("create: %v", err)
	}
	if got := e.removals(); !slices.Equal(got, []string{"orphan"}) {
		t.Fatalf("removals %v, want the orphan", got)
	}
	// A create that fails by itself sweeps nothing.
	e2 := &fakeEngine{labelled: func(context.Context, string) ([]string, error) { return []string{"x"}, nil }}
	if _, err := tr.Create(context.Background(), e2, "inv", func(context.Context) (string, error) {
		return "", errors.New("no such image")
	}); err == nil || len(e2.removals()) != 0 {
		t.Fatalf("create: %v, removals %v", err, e2.removals())
	}
}

// Drain removes what is left, waits for removals under way, and returns
// within the host's bound even when a removal hangs.
func TestDrain(t *testing.T) {
	if drainBound >= plugin.StopGrace {
		t.Fatalf("drain bound %v is not within the host's %v", drainBound, plugin.StopGrace)
	}
	e := &fakeEngine{remove: func(context.Context, string) error {
		time.Sleep(50 * time.Millisecond)
		return nil
	}}
	tr := NewTracker(nil)
	for _, id := range []string{"a", "b"} {
		if _, err := tr.Create(context.Background(), e, "inv", created(id)); err != nil {
			t.Fatal(err)
		}
	}
	kept, _ := tr.Create(context.Background(), e, "inv", created("kept"))
	kept.Keep()
	tr.Drain()
	if got := e.removals(); len(got) != 2 || !slices.Contains(got, "a") || !slices.Contains(got, "b") {
		t.Fatalf("removals %v, want a and b, not the kept one", got)
	}

	hung := make(chan struct{})
	defer close(hung)
	stuck := &fakeEngine{remove: func(context.Context, string) error { <-hung; return nil }}
	tr = NewTracker(nil)
	tr.Track(context.Background(), stuck, "c")
	start := time.Now()
	tr.drain(100 * time.Millisecond)
	if took := time.Since(start); took > time.Second {
		t.Fatalf("drain took %v with a hung removal", took)
	}
}

// Drain waits for a create under way, and removes what it made.
func TestDrainWaitsForACreate(t *testing.T) {
	e := &fakeEngine{}
	tr := NewTracker(nil)
	creating, finish := make(chan struct{}), make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tr.Create(context.Background(), e, "inv", func(context.Context) (string, error) {
			close(creating)
			<-finish
			return "late", nil
		})
	}()
	<-creating
	time.AfterFunc(50*time.Millisecond, func() { close(finish) })
	tr.Drain()
	<-done
	if got := e.removals(); !slices.Equal(got, []string{"late"}) {
		t.Fatalf("removals %v, want the container made during the drain", got)
	}
}

// Cleanup refuses an empty invocation before it connects, and removes
// every labelled container, reporting the failures.
func TestCleanup(t *testing.T) {
	tr := NewTracker(nil)
	connected := false
	connect := func(e Engine) func(context.Context) (Engine, error) {
		return func(context.Context) (Engine, error) { connected = true; return e, nil }
	}
	err := tr.Cleanup(context.Background(), "", connect(&fakeEngine{}))
	var usage *core.UsageError
	if !errors.As(err, &usage) || connected {
		t.Fatalf("empty invocation: %v (connected %v)", err, connected)
	}
	boom := errors.New("boom")
	e := &fakeEngine{
		labelled: func(_ context.Context, inv string) ([]string, error) { return []string{inv + "-1", inv + "-2"}, nil },
		remove: func(_ context.Context, id string) error {
			if id == "inv-2" {
				return boom
			}
			return nil
		},
	}
	if err := tr.Cleanup(context.Background(), "inv", connect(e)); !errors.Is(err, boom) {
		t.Fatalf("cleanup: %v, want the failed removal", err)
	}
	if got := e.removals(); !slices.Equal(got, []string{"inv-1", "inv-2"}) {
		t.Fatalf("removals %v", got)
	}
}

// guardedEngine is a fakeEngine with a guard.
type guardedEngine struct {
	*fakeEngine
	guarded, released []string
}

func (g *guardedEngine) Guard(id string) (func(), error) {
	g.guarded = append(g.guarded, id)
	return func() { g.released = append(g.released, id) }, nil
}

// An engine's guard stands from the container's tracking until it is
// removed or kept.
func TestGuard(t *testing.T) {
	g := &guardedEngine{fakeEngine: &fakeEngine{}}
	tr := NewTracker(nil)
	removed := tr.Track(context.Background(), g, "removed")
	kept := tr.Track(context.Background(), g, "kept")
	if !slices.Equal(g.guarded, []string{"removed", "kept"}) || len(g.released) != 0 {
		t.Fatalf("guarded %v, released %v", g.guarded, g.released)
	}
	removed.Remove()
	kept.Keep()
	if !slices.Equal(g.released, []string{"removed", "kept"}) {
		t.Fatalf("released %v", g.released)
	}
}
