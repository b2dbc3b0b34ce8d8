package container

import (
	"context"
	"errors"
	"slices"
	"syscall"
	"testing"

	"github.com/ocix/ocix/core"
)

// engine records what a Starter asks of it.
type engine struct{ calls []string }

func (e *engine) Start(_ context.Context, id string) error {
	e.calls = append(e.calls, "start "+id)
	return nil
}
func (e *engine) Kill(_ context.Context, id, sig string) error {
	e.calls = append(e.calls, "kill "+id+" "+sig)
	return nil
}
func (e *engine) Resize(_ context.Context, id string, s core.TerminalSize) error {
	e.calls = append(e.calls, "resize "+id)
	return nil
}

// A signal before the container starts aborts the run: the pull or create
// under way is cancelled, and the container is never started.
func TestSignalBeforeStartAborts(t *testing.T) {
	ctx, abort := context.WithCancelCause(context.Background())
	e := &engine{}
	st := NewStarter(e, abort)
	st.Resize(core.TerminalSize{Rows: 30, Cols: 100})
	st.Signal("SIGINT")
	if !errors.Is(context.Cause(ctx), ErrAborted) || st.AbortedBy() != syscall.SIGINT {
		t.Fatalf("cause %v, aborted by %v", context.Cause(ctx), st.AbortedBy())
	}
	st.Signal("SIGKILL") // the second one changes nothing
	if st.AbortedBy() != syscall.SIGINT {
		t.Fatalf("aborted by %v", st.AbortedBy())
	}
	if err := st.Start(context.Background(), "id"); !errors.Is(err, ErrAborted) || len(e.calls) != 0 {
		t.Fatalf("start after the abort: %v, calls %v", err, e.calls)
	}
}

// After the start, signals go to the container, and a size given before
// the start is applied at it.
func TestSignalsAfterStartGoToTheContainer(t *testing.T) {
	_, abort := context.WithCancelCause(context.Background())
	e := &engine{}
	st := NewStarter(e, abort)
	st.Resize(core.TerminalSize{Rows: 30, Cols: 100})
	if err := st.Start(context.Background(), "c1"); err != nil {
		t.Fatal(err)
	}
	st.Signal("SIGTERM")
	if want := []string{"start c1", "resize c1", "kill c1 SIGTERM"}; !slices.Equal(e.calls, want) || st.AbortedBy() != 0 {
		t.Fatalf("calls %v, want %v", e.calls, want)
	}
}
