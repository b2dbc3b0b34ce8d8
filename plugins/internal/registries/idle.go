package registries

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// idleBody ends a response body that brings nothing for idle. A registry,
// or a middlebox before it, that stops sending midway leaves the
// connection open and a read waiting for ever: the transport's header
// timeout is long past, and TCP keep-alives see a live peer. Only the time
// spent inside Read counts, so a slow consumer is never taken for a
// stalled registry. Firing cancels the request's context, which is what
// wakes the blocked read.
type idleBody struct {
	body   io.ReadCloser
	idle   time.Duration
	cancel context.CancelFunc
	timer  *time.Timer
	fired  atomic.Bool
}

// WatchIdle makes resp's body end with a StallError after idle without a
// byte. cancel cancels resp's request; the body's Close calls it too.
func WatchIdle(resp *http.Response, idle time.Duration, cancel context.CancelFunc) {
	b := &idleBody{body: resp.Body, idle: idle, cancel: cancel}
	b.timer = time.AfterFunc(idle, b.fire)
	b.timer.Stop() // armed by each Read
	resp.Body = b
}

func (b *idleBody) fire() {
	b.fired.Store(true)
	b.cancel()
}

func (b *idleBody) Read(p []byte) (int, error) {
	if b.fired.Load() {
		return 0, &StallError{Idle: b.idle}
	}
	b.timer.Reset(b.idle)
	n, err := b.body.Read(p)
	b.timer.Stop()
	// Fired while the read waited: whatever error the cancellation made,
	// the cause is the stall. Bytes that came at the last moment count.
	if b.fired.Load() {
		return n, &StallError{Idle: b.idle}
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	err := b.body.Close()
	b.cancel()
	return err
}

// StallError is a body that brought nothing for idle. It is a timeout, so
// transient: the request is sent again, and a blob resumed.
type StallError struct{ Idle time.Duration }

func (e *StallError) Error() string   { return fmt.Sprintf("nothing received for %s", e.Idle) }
func (e *StallError) Timeout() bool   { return true }
func (e *StallError) Temporary() bool { return true }
