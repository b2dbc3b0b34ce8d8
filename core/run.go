package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// RunRequest asks a backend to run a command from an image in a new
// container, with the user's standard streams connected to it. One flag
// set serves every run backend: a backend refuses what it cannot honour
// (a UsageError naming the flag), it never ignores it.
type RunRequest struct {
	// Image is the fully qualified reference, as users and engines write it.
	Image      string
	Repository string
	Reference  string // tag or digest
	Endpoints  []Endpoint
	Platform   Platform

	// Entrypoint replaces the image's when set (--entrypoint; an empty
	// slice clears it). Args replace the image's Cmd when not empty.
	Entrypoint []string
	Args       []string
	Env        []string // K=V, added to the image's
	Workdir    string
	User       string // uid[:gid] or names
	Hostname   string
	ReadOnly   bool
	Mounts     []Mount
	// Network is the network mode ("none", "host"…); empty means the
	// backend's own default.
	Network string
	// Interactive keeps stdin open and connected (-i); TTY allocates a
	// terminal (-t) of Size.
	Interactive bool
	TTY         bool
	Size        TerminalSize
	// Keep leaves the container (and a runtime backend's bundle) behind.
	Keep bool

	// The user's streams, inherited by a plugin. Stdin is nil without -i.
	Stdin, Stdout, Stderr *os.File

	// Invocation labels what this command creates (ocix.invocation=…), so
	// that a fresh instance of a plugin that died can remove it.
	Invocation string

	// For backends that need a root filesystem from core (Info.NeedsRootfs):
	// the exported tree, the image config, and a private directory.
	Rootfs      string
	ImageConfig json.RawMessage
	ScratchDir  string

	// Control carries, while the container runs, the signals to forward
	// and the terminal's new sizes. Closed when the job ends.
	Control <-chan RunControl
	// Events receives pull progress and warnings; nil drops them.
	Events func(Event)
}

// Mount is a bind mount: -v HOST:CONTAINER[:ro].
type Mount struct {
	Source, Target string
	ReadOnly       bool
}

// TerminalSize is a terminal's rows and columns.
type TerminalSize struct{ Rows, Cols uint16 }

// RunControl is one instruction for a running container: a signal to
// deliver ("SIGINT", "SIGTERM", "SIGKILL"), or a new terminal size.
type RunControl struct {
	Signal string
	Resize *TerminalSize
}

// RunResult is how a container ended.
type RunResult struct {
	ExitCode int
}

// Runner runs containers.
type Runner interface {
	Run(ctx context.Context, req RunRequest) (RunResult, error)
}

// Errors a run backend reports when the container's command cannot run,
// with docker's exit codes (126, 127). Wrap them: the message says what.
var (
	ErrCommandNotFound     = errors.New("command not found")
	ErrCommandNotInvocable = errors.New("command cannot be invoked")
)

// ExitError ends ocix with a code whose reason was already shown: a
// container's own exit code, or compare's verdict. ocix prints nothing more.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return "container exited with " + strconv.Itoa(e.Code) }

// EngineError is a run that failed before or around the container's own
// work (pull, create, the engine's API): docker's exit code 125.
type EngineError struct{ Err error }

func (e *EngineError) Error() string { return e.Err.Error() }
func (e *EngineError) Unwrap() error { return e.Err }

// DefaultStopTimeout is how long a forwarded Ctrl-C gets before the
// container is killed, as `docker stop` waits.
const DefaultStopTimeout = 10 * time.Second

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
	runner, h, err := openFor[Runner](ctx, c, backend, CapRun, files...)
	if err != nil {
		return RunResult{}, err
	}
	defer h.Close()
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
