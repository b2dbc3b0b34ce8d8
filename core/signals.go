package core

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// signalCause is the cancellation cause WithSignals records.
type signalCause struct{ sig os.Signal }

func (s *signalCause) Error() string { return "received " + signalName(s.sig) }

// WithSignals returns a context cancelled by the first SIGINT or SIGTERM,
// with the signal as its cause (see Interrupted). Every later signal is sent
// on the returned channel, so a job that forwards signals (run) can act on a
// second Ctrl-C. stop releases the signal handlers.
//
// Handling the signals is what lets ocix stop its plugins and remove its
// temporary files: go-plugin plugins ignore SIGINT and outlive a host that
// dies of one.
func WithSignals(parent context.Context) (ctx context.Context, later <-chan os.Signal, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	more := make(chan os.Signal, 4)
	done := make(chan struct{})
	go func() {
		first := true
		for {
			select {
			case s := <-sigs:
				if first {
					first = false
					cancel(&signalCause{sig: s})
					continue
				}
				select {
				case more <- s:
				default:
				}
			case <-done:
				return
			}
		}
	}()
	return ctx, more, func() {
		signal.Stop(sigs)
		close(done)
		cancel(nil)
	}
}
