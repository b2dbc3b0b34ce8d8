package container

import (
	"context"
	"errors"
	"sync"
	"syscall"
	"time"

	"github.com/ocix/ocix/core"
)

// ErrAborted is the cause of a run a signal stopped before its container
// ran.
var ErrAborted = errors.New("interrupted before the container started")

// Controls is what a Starter needs of a container engine's API.
type Controls interface {
	Start(ctx context.Context, id string) error
	Kill(ctx context.Context, id, signal string) error
	Resize(ctx context.Context, id string, size core.TerminalSize) error
}

// controlTimeout bounds one kill or resize request.
const controlTimeout = 5 * time.Second

// Starter stands between core's controls and a container's start. A signal
// before the container runs has nothing to go to: it aborts the run (a
// pull, a create) instead, as Ctrl-C stops `docker run` then. One after the
// start goes to the container. A terminal size that comes before the start
// is applied at the start: engines resize running containers only.
type Starter struct {
	engine Controls
	abort  context.CancelCauseFunc

	mu      sync.Mutex
	id      string            // the container, once started
	size    core.TerminalSize // the terminal's, for -t
	aborted syscall.Signal
}

// NewStarter follows a run whose context abort cancels.
func NewStarter(e Controls, abort context.CancelCauseFunc) *Starter {
	return &Starter{engine: e, abort: abort}
}

// Signal delivers a signal by name: to the container once started, else
// as the run's abort.
func (s *Starter) Signal(name string) error {
	s.mu.Lock()
	id := s.id
	if id == "" {
		if sig, ok := core.SignalByName(name); ok && s.aborted == 0 {
			s.aborted = sig
			s.abort(ErrAborted)
		}
	}
	s.mu.Unlock()
	if id == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), controlTimeout)
	defer cancel()
	return s.engine.Kill(ctx, id, name)
}

// Resize sets the container's terminal size, or keeps it for the start.
func (s *Starter) Resize(size core.TerminalSize) error {
	s.mu.Lock()
	s.size = size
	id := s.id
	s.mu.Unlock()
	if id == "" || size.Rows == 0 || size.Cols == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), controlTimeout)
	defer cancel()
	return s.engine.Resize(ctx, id, size)
}

// Start starts container id unless a signal came first. It holds the lock
// meanwhile, so that a signal during the start waits for it and then goes
// to the container.
func (s *Starter) Start(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.aborted != 0 {
		return ErrAborted
	}
	if err := s.engine.Start(ctx, id); err != nil {
		return err
	}
	s.id = id
	if s.size.Rows == 0 || s.size.Cols == 0 {
		return nil
	}
	// A container's terminal may not take a size at the very moment it
	// starts: retry briefly, as the docker CLI does. A size that never
	// takes leaves the default.
	for i := range 5 {
		if err := s.engine.Resize(ctx, id, s.size); err == nil || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Duration(i+1) * 10 * time.Millisecond)
	}
	return nil
}

// AbortedBy is the signal that aborted the run before it started, or 0.
func (s *Starter) AbortedBy() syscall.Signal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.aborted
}
