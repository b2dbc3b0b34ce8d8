package nerdctl

import (
	"context"
	"errors"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/container"
)

// Run runs req's command in a new container with `nerdctl run`, the
// user's streams being nerdctl's own. It pulls the image first when the
// store lacks it (progress to core), delivers core's signals with `nerdctl
// kill`, follows the terminal's size, and removes the container on every
// way out unless --keep. The exit code is the container's, which nerdctl
// exits with.
func (b *backend) Run(ctx context.Context, req core.RunRequest) (core.RunResult, error) {
	if req.Invocation == "" {
		return core.RunResult{}, errors.New("run request without an invocation to label its container with")
	}
	// Everything that can be refused is, before anything is pulled.
	name := containerName(req.Invocation)
	flags, command, err := runArgs(req, name)
	if err != nil {
		return core.RunResult{}, err
	}
	streams, err := connect(req)
	if err != nil {
		return core.RunResult{}, err
	}
	t, err := b.tool(ctx)
	if err != nil {
		return core.RunResult{}, err
	}
	img, err := t.ensureImage(ctx, imageRequest{
		repository: req.Repository, reference: req.Reference, endpoints: req.Endpoints,
		platform: req.Platform, events: req.Events,
	})
	if err != nil {
		return core.RunResult{}, err
	}
	if !req.Keep {
		// Tracked by name before `nerdctl run` creates it.
		defer b.live.Track(ctx, t, name).Remove()
	}
	c := t.command(ctx, append(append(flags, img.name), command...)...)
	if err := streams.apply(c); err != nil {
		return core.RunResult{}, err
	}
	err = c.Start()
	streams.started()
	if err != nil {
		return core.RunResult{}, err
	}

	following, stop := context.WithCancel(ctx)
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		container.Follow(following, req.Control,
			func(signal string) error { return t.kill(following, name, signal) },
			func(size core.TerminalSize) error { return streams.resize(c.Process, size) })
	}()
	err = c.Wait()
	stop()
	<-followed
	return runResult(err, c.stderr.failed())
}

// runResult tells how a run ended from how nerdctl did. nerdctl exits with
// the container's code; when it fails itself it logs a fatal error and
// exits 1, and a command that cannot be run is one of those failures.
func runResult(err error, nerdctlFailed bool) (core.RunResult, error) {
	var re *RunError
	switch {
	case err == nil:
		return core.RunResult{}, nil
	case !errors.As(err, &re) || re.ExitCode() < 0:
		return core.RunResult{}, err // cancelled, or nerdctl killed
	case nerdctlFailed:
		return core.RunResult{}, container.CommandError(re)
	}
	return core.RunResult{ExitCode: re.ExitCode()}, nil
}

// kill delivers a signal to the container. It may already have gone.
func (t *tool) kill(ctx context.Context, name, signal string) error {
	err := t.command(ctx, "kill", "--signal", signal, name).Run()
	if err != nil {
		t.log.Debug("could not signal the container", "container", name, "signal", signal, "error", err)
	}
	return err
}
