package runc

import (
	"bytes"
	"io"
	"os"
	"sync"
	"time"
)

// errRelay carries the container's stderr to the user's. It is the one
// stream that goes through ocix instead of being handed over: runc gives
// the container its own stderr, and on failure prints its error there too
// (even with --log). That happens before the container's process starts,
// and only then, so what arrives before runc returns is held: it is the
// container's output if runc started it, runc's error (read from its log
// instead) if not.
type errRelay struct {
	// w is the pipe's write end, the container's stderr.
	w    *os.File
	dst  io.Writer
	done chan struct{}

	mu      sync.Mutex
	held    bytes.Buffer
	passing bool
	dropped bool
}

func newErrRelay(dst *os.File) (*errRelay, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	e := &errRelay{w: w, dst: io.Discard, done: make(chan struct{})}
	if dst != nil {
		e.dst = dst
	}
	go func() {
		io.Copy(e, r)
		r.Close()
		close(e.done)
	}()
	return e, nil
}

func (e *errRelay) Write(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.passing:
		return e.dst.Write(p)
	case e.dropped:
		return len(p), nil
	}
	return e.held.Write(p)
}

// started closes ocix's copy of the write end — runc, which had the
// other, has exited — and says whether the container's process started.
func (e *errRelay) started(ok bool) {
	e.w.Close()
	e.mu.Lock()
	defer e.mu.Unlock()
	if ok {
		e.passing = true
		e.dst.Write(e.held.Bytes())
	} else {
		e.dropped = true
	}
	e.held.Reset()
}

// finish waits for the container's last output, at most grace.
func (e *errRelay) finish(grace time.Duration) {
	select {
	case <-e.done:
	case <-time.After(grace):
	}
}
