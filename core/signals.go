package core

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// signalCause is the cancellation cause Signals records.
type signalCause struct{ sig os.Signal }

func (s *signalCause) Error() string { return "received " + signalName(s.sig) }

// Signals routes SIGINT and SIGTERM for one ocix command. By default the
// first one cancels the command's context, with the signal as its cause
// (see Interrupted): jobs stop and clean up. A job that forwards signals
// instead (run, which passes Ctrl-C to the container) takes them over with
// Forward.
//
// Handling the signals is what lets ocix stop its plugins and remove its
// temporary files: go-plugin plugins ignore SIGINT and outlive a host that
// dies of one.
type Signals struct {
	mu        sync.Mutex
	cancel    context.CancelCauseFunc
	cancelled bool
	forward   chan os.Signal
	sigs      chan os.Signal
	done      chan struct{}
}

// WithSignals returns a context cancelled by the first SIGINT or SIGTERM
// unless Forward is called first. stop releases the signal handlers.
func WithSignals(parent context.Context) (context.Context, *Signals, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	s := &Signals{cancel: cancel, sigs: make(chan os.Signal, 4), done: make(chan struct{})}
	signal.Notify(s.sigs, syscall.SIGINT, syscall.SIGTERM)
	go s.route()
	return ctx, s, func() {
		signal.Stop(s.sigs)
		close(s.done)
		cancel(nil)
	}
}

func (s *Signals) route() {
	for {
		select {
		case sig := <-s.sigs:
			s.mu.Lock()
			switch {
			case s.forward != nil:
				select {
				case s.forward <- sig:
				default: // the job is not listening: it is already stopping
				}
			case !s.cancelled:
				s.cancelled = true
				s.cancel(&signalCause{sig: sig})
			}
			s.mu.Unlock()
		case <-s.done:
			return
		}
	}
}

// Forward hands every later SIGINT and SIGTERM to the returned channel
// instead of cancelling the context.
func (s *Signals) Forward() <-chan os.Signal {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.forward == nil {
		s.forward = make(chan os.Signal, 4)
	}
	return s.forward
}
