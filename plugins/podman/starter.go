package podman

import (
	"context"
	"errors"
	"sync"
	"syscall"
	"time"

	"github.com/containers/podman/v5/pkg/bindings/containers"

	"github.com/ocix/ocix/core"
)

// controlTimeout bounds one kill or resize request.
const controlTimeout = 5 * time.Second

// errAborted is the cause of a run a signal stopped before its container
// ran.
var errAborted = errors.New("interrupted before the container started")

// starter stands between core's controls and the container's start. A
// signal before the container runs has nothing to go to: it aborts the run
// (a pull, a create) instead, as Ctrl-C stops `podman run` then. One after
// the start goes to the container. A terminal size that comes before the
// start is applied at the start: podman resizes running containers only.
type starter struct {
	conn  context.Context // the connection, for controls
	abort context.CancelCauseFunc

	mu      sync.Mutex
	id      string            // the container, once started
	size    core.TerminalSize // the terminal's, for -t
	aborted syscall.Signal
}

func (s *starter) signal(name string) error {
	s.mu.Lock()
	id := s.id
	if id == "" {
		if sig, ok := core.SignalByName(name); ok && s.aborted == 0 {
			s.aborted = sig
			s.abort(errAborted)
		}
	}
	s.mu.Unlock()
	if id == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.conn), controlTimeout)
	defer cancel()
	return containers.Kill(ctx, id, new(containers.KillOptions).WithSignal(name))
}

func (s *starter) resize(size core.TerminalSize) error {
	s.mu.Lock()
	s.size = size
	id := s.id
	s.mu.Unlock()
	if id == "" {
		return nil
	}
	return s.resizeTo(id, size)
}

func (s *starter) resizeTo(id string, size core.TerminalSize) error {
	if size.Rows == 0 || size.Cols == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.conn), controlTimeout)
	defer cancel()
	opts := new(containers.ResizeTTYOptions).WithHeight(int(size.Rows)).WithWidth(int(size.Cols))
	return containers.ResizeContainerTTY(ctx, id, opts)
}

// start starts container id unless a signal came first. It holds the lock
// meanwhile, so that a signal during the start waits for it and then goes
// to the container.
func (s *starter) start(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.aborted != 0 {
		return errAborted
	}
	if err := containers.Start(ctx, id, nil); err != nil {
		return err
	}
	s.id = id
	s.resizeTo(id, s.size) // best effort: a failed size is the default's
	return nil
}

// abortedBy is the signal that aborted the run before it started, or 0.
func (s *starter) abortedBy() syscall.Signal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.aborted
}
