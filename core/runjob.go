package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// RunSignals is what drives a running container from outside: the user's
// Ctrl-C (forwarded, not cancelling), and the terminal's new sizes.
type RunSignals struct {
	Signals <-chan os.Signal
	Resize  <-chan TerminalSize
	// StopTimeout is how long the container has to stop after the first
	// signal before it is killed; a second signal kills at once.
	StopTimeout time.Duration
}

// RootfsProvider gives a backend that needs one (Info.NeedsRootfs) the
// root filesystem and image config of req's image.
type RootfsProvider interface {
	// Prepare fills req.Rootfs with a writable root filesystem private to
	// this run, req.ImageConfig and req.ScratchDir, and returns what
	// undoes that (unless req.Keep).
	Prepare(ctx context.Context, req *RunRequest) (release func(), err error)
	// Unpack writes a private, lasting copy of the image's root filesystem
	// into dir, which must not exist, and fills req.Rootfs (dir) and
	// req.ImageConfig: the root filesystem of a bundle.
	Unpack(ctx context.Context, req *RunRequest, dir string) error
}

// Run runs a container with the named backend and returns its exit code.
// Everything ocix creates carries a label of this invocation; if the
// backend's plugin dies, a fresh instance removes it.
func (c *Core) Run(ctx context.Context, backend string, req RunRequest, sig RunSignals) (RunResult, error) {
	req.Invocation = newInvocation()
	var files []*os.File
	for _, f := range []*os.File{req.Stdin, req.Stdout, req.Stderr} {
		if f != nil {
			files = append(files, f)
		}
	}
	h, err := c.Open(ctx, backend, CapRun, files...)
	if err != nil {
		return RunResult{}, err
	}
	defer h.Close()
	runner, ok := h.Backend.(Runner)
	if !ok {
		return RunResult{}, fmt.Errorf("backend %q declares run but has no runner: %w", backend, ErrUnsupported)
	}
	if h.Info.NeedsRootfs {
		if c.Rootfs == nil {
			return RunResult{}, fmt.Errorf("backend %q needs a root filesystem and this ocix has no provider", backend)
		}
		release, err := c.prepareRootfs(ctx, &req, sig.Signals)
		if err != nil {
			return RunResult{}, engineError(err)
		}
		defer release()
	}

	control := make(chan RunControl, 4)
	req.Control = control
	done := make(chan struct{})
	driven := make(chan struct{})
	go func() {
		defer close(driven)
		drive(sig, control, done)
	}()
	res, err := runner.Run(ctx, req)
	close(done)
	<-driven
	if err == nil {
		return res, nil
	}
	if errors.Is(err, ErrBackendDied) {
		c.cleanupAfter(backend, req.Invocation)
	}
	return RunResult{}, engineError(err)
}

// engineError marks what failed a run before or around the container's
// own work — the root filesystem's export as much as the backend's pull —
// as docker's exit code 125, unless it has a code of its own: bad input,
// a command not found or not invocable, an interruption.
func engineError(err error) error {
	var (
		usage *UsageError
		intr  *InterruptedError
	)
	if errors.As(err, &usage) || errors.As(err, &intr) || errors.Is(err, ErrCommandNotFound) ||
		errors.Is(err, ErrCommandNotInvocable) || errors.Is(err, context.Canceled) {
		return err
	}
	return &EngineError{Err: err}
}

// prepareRootfs has the provider prepare req's root filesystem. A signal
// while it works — a long export — stops it, as Ctrl-C stops docker's
// pull: there is no container yet to pass it to.
func (c *Core) prepareRootfs(ctx context.Context, req *RunRequest, sigs <-chan os.Signal) (func(), error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type prepared struct {
		release func()
		err     error
	}
	done := make(chan prepared, 1)
	go func() {
		release, err := c.Rootfs.Prepare(ctx, req)
		done <- prepared{release, err}
	}()
	select {
	case p := <-done:
		return p.release, p.err
	case s := <-sigs:
		cancel()
		if p := <-done; p.err == nil {
			p.release()
		}
		return nil, &InterruptedError{Signal: s}
	}
}

// drive turns the user's signals into controls: the first is forwarded to
// the container and starts the stop timeout, after which — or at a second
// signal — the container is killed. Terminal sizes pass through. It
// closes control when done is closed.
func drive(sig RunSignals, control chan<- RunControl, done <-chan struct{}) {
	defer close(control)
	var kill <-chan time.Time
	stopping := false
	send := func(c RunControl) bool {
		select {
		case control <- c:
			return true
		case <-done:
			return false
		}
	}
	timeout := sig.StopTimeout
	if timeout <= 0 {
		timeout = DefaultStopTimeout
	}
	for {
		var ok bool
		select {
		case s := <-sig.Signals:
			if stopping {
				ok = send(RunControl{Signal: "SIGKILL"})
				break
			}
			stopping = true
			kill = time.After(timeout)
			ok = send(RunControl{Signal: signalName(s)})
		case <-kill:
			kill = nil
			ok = send(RunControl{Signal: "SIGKILL"})
		case size := <-sig.Resize:
			ok = send(RunControl{Resize: &size})
		case <-done:
			return
		}
		if !ok {
			return
		}
	}
}

// cleanupAfter has a fresh instance of a dead plugin remove what this
// invocation created. It is bounded: the user is waiting for an error.
func (c *Core) cleanupAfter(backend, invocation string) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	h, err := c.Open(ctx, backend, "")
	if err != nil {
		return
	}
	defer h.Close()
	if cl, ok := h.Backend.(Cleaner); ok {
		cl.Cleanup(ctx, invocation)
	}
}

// newInvocation names one ocix command for the labels of what it creates.
func newInvocation() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// SignalByName is the signal a RunControl names.
func SignalByName(name string) (syscall.Signal, bool) {
	switch name {
	case "SIGINT":
		return syscall.SIGINT, true
	case "SIGTERM":
		return syscall.SIGTERM, true
	case "SIGKILL":
		return syscall.SIGKILL, true
	case "SIGHUP":
		return syscall.SIGHUP, true
	case "SIGQUIT":
		return syscall.SIGQUIT, true
	}
	return 0, false
}
