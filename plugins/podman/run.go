package podman

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/containers/podman/v5/pkg/bindings/containers"
	"github.com/containers/podman/v5/pkg/errorhandling"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/container"
)

// outputTimeout bounds the wait for the last of a container's output once
// it has exited: the attach stream ends when podman's conmon closes it.
const outputTimeout = 5 * time.Second

// rlimitFix names the setting that lets a runtime start containers on a
// host that cannot raise resource limits (see container.RlimitError).
const rlimitFix = `set default_ulimits in the containers.conf the podman service reads ($CONTAINERS_CONF, /etc/containers/containers.conf) within the hard limits, e.g. default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"], and restart the service`

// Run runs a command as `podman run` does — pull if missing, create,
// attach, start, wait — with the user's streams, which the plugin
// inherited, connected through the attach stream: stdin only with -i, one
// terminal stream with -t. Core's controls are applied as they come:
// signals with podman's kill, terminal sizes with its resize; a signal
// before the container runs aborts the run (see container.Starter). The exit code is
// the container's; the container is removed afterwards, whatever
// happened, unless --keep.
func (b *backend) Run(ctx context.Context, req core.RunRequest) (core.RunResult, error) {
	ctx, err := b.connect(ctx)
	if err != nil {
		return core.RunResult{}, err
	}
	ctx, abort := context.WithCancelCause(ctx)
	st := container.NewStarter(engine{conn: ctx}, abort)
	var resize func(core.TerminalSize) error
	if req.TTY {
		st.Resize(req.Size)
		resize = st.Resize
	}
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		container.Follow(ctx, req.Control, st.Signal, resize)
	}()
	defer func() { <-followed }()
	defer abort(nil) // stops following (deferred calls run last first)

	code, err := b.run(ctx, st, req)
	if sig := st.AbortedBy(); sig != 0 {
		// Interrupted before the container ran: ocix ends as a command
		// killed by that signal would, as podman run does.
		return core.RunResult{ExitCode: container.ExitFromSignal(int(sig))}, nil
	}
	if err != nil {
		return core.RunResult{}, err
	}
	return core.RunResult{ExitCode: code}, nil
}

func (b *backend) run(ctx context.Context, st *container.Starter, req core.RunRequest) (int, error) {
	img, err := b.pull(ctx, pullRequest{Endpoints: req.Endpoints, Repository: req.Repository,
		Reference: req.Reference, Platform: req.Platform, Events: req.Events})
	if err != nil {
		return 0, err
	}
	spec, err := runSpec(req, img.Data.ID)
	if err != nil {
		return 0, err
	}
	c, err := b.create(ctx, spec)
	if err != nil {
		return 0, err
	}
	if req.Keep {
		c.Keep()
		b.log.Info("container kept", "id", c.ID)
	} else {
		defer c.Remove()
	}
	return b.runContainer(ctx, st, c.ID, req)
}

// runContainer attaches to a created container, starts it and returns its
// exit code once its output has been delivered.
func (b *backend) runContainer(ctx context.Context, st *container.Starter, id string, req core.RunRequest) (int, error) {
	attachCtx, stopAttach := context.WithCancel(ctx)
	defer stopAttach()
	ready := make(chan bool, 1)
	attached := make(chan error, 1)
	in, out, errOut := streams(req)
	// podman's own detach keys (ctrl-p, ctrl-q) stay, as for `podman run
	// -it`: the bindings refuse an empty sequence, the way to turn them off.
	opts := new(containers.AttachOptions).WithStream(true)
	go func() {
		attached <- containers.Attach(attachCtx, id, in, out, errOut, ready, opts)
	}()
	// Attached before it starts, so no output is lost. podman prepares
	// (the runtime creates) the container for the attach: a command that
	// cannot run fails here, before the start.
	select {
	case <-ready:
	case err := <-attached:
		return 0, startError(err)
	}
	if err := st.Start(ctx, id); err != nil {
		return 0, startError(err)
	}
	code, err := containers.Wait(ctx, id, nil)
	if err != nil {
		if ctx.Err() != nil {
			// The host went away: the container must not outlive the job.
			b.kill(ctx, id)
			return 0, ctx.Err()
		}
		return 0, fmt.Errorf("podman: wait: %w", serviceError(err))
	}
	select {
	case err := <-attached:
		if err != nil && !errors.Is(err, context.Canceled) {
			b.log.Debug("attach ended", "error", err)
		}
	case <-time.After(outputTimeout):
		b.log.Warn("the container's output did not end after it exited", "id", id)
	}
	return int(code), nil
}

// kill kills a container whose job was cancelled.
func (b *backend) kill(ctx context.Context, id string) {
	ctx, cancel := detached(ctx, controlTimeout)
	defer cancel()
	containers.Kill(ctx, id, new(containers.KillOptions).WithSignal("SIGKILL"))
}

// streams are the user's streams as the attach takes them. They are
// passed as plain readers and writers, not files: given the terminal
// itself, the bindings would put it in raw mode and follow SIGWINCH on
// their own, which core already does for the user's terminal.
func streams(req core.RunRequest) (in io.Reader, out, errOut io.Writer) {
	if req.Interactive && req.Stdin != nil {
		in = &reader{req.Stdin}
	}
	if req.Stdout != nil {
		out = &writer{req.Stdout}
	}
	if req.Stderr != nil && !req.TTY {
		// A terminal has one stream: stderr comes through stdout.
		errOut = &writer{req.Stderr}
	}
	return in, out, errOut
}

// reader and writer hide a file's type (pointers: the bindings check
// their streams with reflect's IsNil).
type reader struct{ r io.Reader }

func (r *reader) Read(p []byte) (int, error) { return r.r.Read(p) }

type writer struct{ w io.Writer }

func (w *writer) Write(p []byte) (int, error) { return w.w.Write(p) }

// startError tells why a container did not start: its command not found
// or not invocable (exit 127 or 126), a resource limit this host cannot
// grant, a runtime this host cannot run; podman's message otherwise. The
// API's full message is read: its "cause" is only podman's summary ("OCI
// runtime attempted to invoke a command that was not found").
func startError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	msg := err.Error()
	var em *errorhandling.ErrorModel
	if errors.As(err, &em) && em.Message != "" {
		msg = em.Message
	}
	msg = preparing.ReplaceAllString(core.OneLine(msg), "")
	if strings.Contains(msg, "cgroups in hybrid mode not supported") {
		return fmt.Errorf("podman: %s: crun cannot run on this host's hybrid cgroups; set runtime = \"runc\" in the [engine] section of the containers.conf the podman service reads and restart the service", msg)
	}
	out := container.RlimitError(errString("podman: "+msg), rlimitFix)
	return container.CommandError(out)
}

// preparing is podman's prefix to an error of the runtime met while
// preparing a container for attach: its internals, not the user's.
var preparing = regexp.MustCompile(`preparing container [0-9a-f]+ for attach: `)
