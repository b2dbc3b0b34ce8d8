package runc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/container"
)

// drainGrace bounds the wait for a container's last output once its
// process has ended.
const drainGrace = 2 * time.Second

// Run runs req's container: config.json in the scratch directory core
// gave, root.path the writable view core prepared, and `runc run
// --detach` under an id of this invocation. The container's process
// becomes this plugin's child when runc exits (see becomeSubreaper): its
// exit status is the run's. The container is deleted on every way out
// unless req.Keep; its bundle and view are core's to remove.
func (b *backend) Run(ctx context.Context, req core.RunRequest) (core.RunResult, error) {
	if req.Rootfs == "" || req.ScratchDir == "" {
		return core.RunResult{}, errors.New("runc needs a root filesystem from ocix, and none was given")
	}
	if err := becomeSubreaper(); err != nil {
		return core.RunResult{}, fmt.Errorf("runc: becoming the containers' subreaper: %w", err)
	}
	id := containerID(req.Invocation)
	bundle := filepath.Join(req.ScratchDir, "bundle")
	if err := os.Mkdir(bundle, 0o700); err != nil {
		return core.RunResult{}, err
	}
	if err := b.writeBundle(req, bundle, req.Rootfs, id); err != nil {
		return core.RunResult{}, err
	}
	rt := b.runtime(filepath.Join(req.ScratchDir, "runc.log"))
	if req.Keep {
		defer b.kept(req, rt, id, bundle)
	} else {
		defer func() {
			if err := rt.delete(id); err != nil {
				b.log.Warn("deleting the container", "id", id, "error", err)
			}
		}()
	}
	p, err := b.start(ctx, rt, req, id, bundle)
	if err != nil {
		return core.RunResult{}, err
	}
	code, err := b.wait(ctx, rt, req, id, p)
	if err != nil {
		return core.RunResult{}, err
	}
	return core.RunResult{ExitCode: code}, nil
}

// process is a started container's process.
type process struct {
	pid  int
	term *terminal // with -t
	errs *errRelay
}

// start starts the container with the user's streams: without -t the
// container's stdin and stdout are the user's own files (its stderr
// passes through errRelay); with -t, a pty whose master runc hands over
// the console socket and ocix relays.
func (b *backend) start(ctx context.Context, rt runtime, req core.RunRequest, id, bundle string) (*process, error) {
	errs, err := newErrRelay(req.Stderr)
	if err != nil {
		return nil, err
	}
	io := stdio{in: req.Stdin, out: req.Stdout, err: errs.w}
	var cons *console
	if req.TTY {
		if cons, err = listenConsole(); err != nil {
			errs.started(false)
			return nil, err
		}
		defer cons.close()
		io = stdio{err: errs.w, consoleSocket: cons.path}
	}
	pid, err := rt.start(ctx, id, bundle, filepath.Join(req.ScratchDir, "pid"), io)
	errs.started(err == nil)
	if err != nil {
		return nil, container.CommandError(err)
	}
	p := &process{pid: pid, errs: errs}
	if cons != nil {
		master, err := cons.master()
		if err != nil {
			rt.kill(id, "SIGKILL")
			waitExit(pid)
			return nil, err
		}
		p.term = startTerminal(master, req.Stdin, req.Stdout)
	}
	return p, nil
}

// wait follows core's controls until the container's process ends, and
// returns its exit code. Signals go through the runtime (`kill`), which
// knows what the container's process is; sizes go to the pty. If the host
// gives up on the run, the container is killed.
func (b *backend) wait(ctx context.Context, rt runtime, req core.RunRequest, id string, p *process) (int, error) {
	type exit struct {
		code int
		err  error
	}
	exited := make(chan exit, 1)
	go func() {
		code, err := waitExit(p.pid)
		exited <- exit{code, err}
	}()
	follow, stop := context.WithCancel(ctx)
	var resize func(core.TerminalSize) error
	if p.term != nil {
		resize = p.term.resize
	}
	go container.Follow(follow, req.Control, func(sig string) error { return rt.kill(id, sig) }, resize)
	var e exit
	select {
	case e = <-exited:
	case <-ctx.Done():
		if rt.kill(id, "SIGKILL") != nil {
			// The process is this plugin's child: kill it directly.
			syscall.Kill(p.pid, syscall.SIGKILL)
		}
		e = <-exited
	}
	stop()
	if p.term != nil {
		p.term.finish(drainGrace)
	}
	p.errs.finish(drainGrace)
	switch {
	case e.err != nil:
		return 0, fmt.Errorf("waiting for the container: %w", e.err)
	case ctx.Err() != nil:
		return 0, ctx.Err()
	}
	return e.code, nil
}

// kept tells the user where what --keep kept is.
func (b *backend) kept(req core.RunRequest, rt runtime, id, bundle string) {
	if req.Events == nil {
		return
	}
	cmd := strings.Join([]string{rt.binary, "--root", rt.root, "delete", id}, " ")
	req.Events(core.Event{Warning: fmt.Sprintf("kept container %s (bundle %s); remove it with: %s, then ocix cache prune", id, bundle, cmd)})
}

// Cleanup deletes the container of an invocation whose plugin died.
func (b *backend) Cleanup(_ context.Context, invocation string) error {
	err := b.runtime("").delete(containerID(invocation))
	if err != nil && strings.Contains(err.Error(), "does not exist") {
		return nil
	}
	return err
}
