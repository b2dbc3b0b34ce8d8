package podman

import (
	"context"
	"errors"
	"syscall"
	"testing"

	"github.com/ocix/ocix/core"
)

// A signal before the container starts aborts the run: the pull or create
// under way is cancelled, and the container is never started.
func TestStarterSignalBeforeStart(t *testing.T) {
	ctx, abort := context.WithCancelCause(context.Background())
	st := &starter{conn: ctx, abort: abort}
	if err := st.resize(core.TerminalSize{Rows: 30, Cols: 100}); err != nil || st.size.Rows != 30 {
		t.Fatalf("a size before the start is kept for it: %v %+v", err, st.size)
	}
	if err := st.signal("SIGINT"); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(context.Cause(ctx), errAborted) || st.abortedBy() != syscall.SIGINT {
		t.Fatalf("cause %v, aborted by %v", context.Cause(ctx), st.abortedBy())
	}
	st.signal("SIGKILL") // the second one changes nothing
	if st.abortedBy() != syscall.SIGINT {
		t.Fatalf("aborted by %v", st.abortedBy())
	}
	if err := st.start(context.Background(), "id"); !errors.Is(err, errAborted) {
		t.Fatalf("start after the abort: %v", err)
	}
}
