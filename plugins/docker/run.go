package docker

import (
	"context"
	"fmt"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/ocix/ocix/core"
	ocixcontainer "github.com/ocix/ocix/plugins/internal/container"
)

// Run runs a container as `docker run` does: pulled when the engine lacks
// the image, attached before it starts so that no output is lost, waited
// for, and removed afterwards unless req.Keep. Its exit code is the
// container's. Core's signals go to the container with ContainerKill.
func (b *backend) Run(ctx context.Context, req core.RunRequest) (core.RunResult, error) {
	cli, err := b.connect(ctx)
	if err != nil {
		return core.RunResult{}, err
	}
	if err := checkInsecure(ctx, cli, req.Endpoints); err != nil {
		return core.RunResult{}, err
	}
	ctx, abort := context.WithCancelCause(ctx)
	defer abort(nil)
	st := ocixcontainer.NewStarter(engine{cli}, abort)
	var resize func(core.TerminalSize) error
	if req.TTY {
		st.Resize(req.Size)
		resize = st.Resize
	}
	go ocixcontainer.Follow(ctx, req.Control, st.Signal, resize)

	res, err := b.run(ctx, cli, st, req)
	if sig := st.AbortedBy(); sig != 0 {
		// Interrupted before the container ran: ocix ends as a shell's
		// command killed by that signal would, as docker run does.
		return core.RunResult{ExitCode: ocixcontainer.ExitFromSignal(int(sig))}, nil
	}
	return res, err
}

func (b *backend) run(ctx context.Context, cli *client.Client, st *ocixcontainer.Starter, req core.RunRequest) (core.RunResult, error) {
	src := source{repository: req.Repository, reference: req.Reference, endpoints: req.Endpoints, platform: req.Platform, events: req.Events}
	cfg, host := runConfig(req)
	c, tracked, err := b.create(ctx, cli, src, cfg, host)
	if err != nil {
		return core.RunResult{}, err
	}
	if req.Keep {
		tracked.Keep()
	} else {
		defer src.remove(tracked)
	}
	s, err := attach(ctx, cli, c.id, req)
	if err != nil {
		return core.RunResult{}, daemonError(c.name, err)
	}
	defer s.close()
	// Waiting starts before the container does, so that its exit cannot be
	// missed. "next-exit", as the docker CLI waits: "not-running" would
	// answer at once for a container not started yet.
	wait := cli.ContainerWait(ctx, c.id, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	exited, failed := wait.Result, wait.Error
	if err := st.Start(ctx, c.id); err != nil {
		return core.RunResult{}, ocixcontainer.CommandError(daemonError(c.name, err))
	}
	// Done when the container has exited and all it wrote has been
	// copied: the daemon ends the stream once the container's streams
	// close. An output the user closed (| head) ends the run, as it ends
	// docker run.
	var code int
	for exited != nil || s.output != nil {
		select {
		case w := <-exited:
			if w.Error != nil && w.Error.Message != "" {
				return core.RunResult{}, fmt.Errorf("%s: waiting for the container: %s", c.name, w.Error.Message)
			}
			code, exited = int(w.StatusCode), nil
		case err := <-failed:
			return core.RunResult{}, daemonError(c.name, err)
		case err := <-s.output:
			if err != nil {
				return core.RunResult{}, fmt.Errorf("copying the container's output: %w", err)
			}
			s.output = nil
		case <-ctx.Done():
			return core.RunResult{}, ctx.Err()
		}
	}
	return core.RunResult{ExitCode: code}, nil
}

// runConfig maps ocix's run flags onto docker's create request, as `docker
// run` maps its own. Every flag has its docker counterpart: none is
// refused.
func runConfig(req core.RunRequest) (*container.Config, *container.HostConfig) {
	cfg := &container.Config{
		Env:        req.Env,
		WorkingDir: req.Workdir,
		User:       req.User,
		Hostname:   req.Hostname,
		Tty:        req.TTY,
		// -i keeps stdin open, and StdinOnce closes the container's when
		// the user's ends, as docker run -i does.
		OpenStdin:    req.Interactive,
		StdinOnce:    req.Interactive,
		AttachStdin:  req.Interactive,
		AttachStdout: true,
		AttachStderr: true,
		Labels:       ocixcontainer.Labels(req),
	}
	if len(req.Args) > 0 {
		cfg.Cmd = req.Args
	}
	if req.Entrypoint != nil {
		// Sent as [] when empty: docker keeps the image's entrypoint only
		// when none (null) is sent.
		cfg.Entrypoint = append([]string{}, req.Entrypoint...)
	}
	host := &container.HostConfig{
		NetworkMode:    container.NetworkMode(req.Network), // "": the daemon's default
		ReadonlyRootfs: req.ReadOnly,
	}
	if req.TTY && req.Size != (core.TerminalSize{}) {
		// Daemons from API 1.42 size the terminal at creation; older ones
		// are resized once the container starts (see container.Starter).
		host.ConsoleSize = [2]uint{uint(req.Size.Rows), uint(req.Size.Cols)}
	}
	for _, m := range req.Mounts {
		// Binds, not Mounts: -v's semantics, which create a missing host
		// directory.
		bind := m.Source + ":" + m.Target
		if m.ReadOnly {
			bind += ":ro"
		}
		host.Binds = append(host.Binds, bind)
	}
	return cfg, host
}

// engine is the docker API as container.Starter and container.Tracker
// need it.
type engine struct{ cli *client.Client }

func (e engine) Start(ctx context.Context, id string) error {
	_, err := e.cli.ContainerStart(ctx, id, client.ContainerStartOptions{})
	return err
}

func (e engine) Kill(ctx context.Context, id, signal string) error {
	_, err := e.cli.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: signal})
	return err
}

func (e engine) Resize(ctx context.Context, id string, size core.TerminalSize) error {
	_, err := e.cli.ContainerResize(ctx, id, client.ContainerResizeOptions{Height: uint(size.Rows), Width: uint(size.Cols)})
	return err
}
