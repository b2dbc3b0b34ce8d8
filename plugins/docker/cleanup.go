package docker

import (
	"context"
	"errors"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/ocix/ocix/core"
)

// Cleanup removes the containers of an invocation whose plugin died: core
// asks a fresh instance, which finds them by their label.
func (b *backend) Cleanup(ctx context.Context, invocation string) error {
	cli, err := b.connect(ctx)
	if err != nil {
		return err
	}
	return removeLabelled(ctx, cli, invocation)
}

// removeLabelled force-removes every container labelled with invocation.
func removeLabelled(ctx context.Context, cli *client.Client, invocation string) error {
	list, err := cli.ContainerList(ctx, client.ContainerListOptions{
		All:     true,
		Filters: client.Filters{}.Add("label", core.InvocationLabel+"="+invocation),
	})
	if err != nil {
		return daemonError("listing containers", err)
	}
	var errs []error
	for _, c := range list.Items {
		if err := removeContainer(ctx, cli, c.ID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeContainer force-removes a container with its anonymous volumes, as
// `docker run --rm` does. One already gone is no error.
func removeContainer(ctx context.Context, cli *client.Client, id string) error {
	_, err := cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return daemonError("removing container "+shortID(id), err)
	}
	return nil
}

// pending counts the jobs whose containers may still need removing. The
// host stops a plugin as soon as a job it cancelled (Ctrl-C) has ended on
// its side, which can be before the plugin has even sent the removal to the
// daemon: plugin.Serve waits for them (Drain) before the process ends.
var pending sync.WaitGroup

// hold marks a job that may create containers. release, which may be
// called more than once, says none of them is left to remove.
func hold() (release func()) {
	pending.Add(1)
	return sync.OnceFunc(pending.Done)
}

// Drain returns once no job of this process has a container left to
// remove, or after cleanupTimeout; plugin.Serve calls it last.
func (b *backend) Drain() {
	done := make(chan struct{})
	go func() {
		pending.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(cleanupTimeout):
	}
}

// remover returns what removes container id, once, on a context of its own
// (it runs when the job's is cancelled too), then releases the job. A
// failure is a warning: the job's outcome stands.
func remover(cli *client.Client, id string, warn func(string), release func()) func() {
	return sync.OnceFunc(func() {
		defer release()
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		if err := removeContainer(ctx, cli, id); err != nil {
			warn(err.Error())
		}
	})
}

// sweep removes what a create cut short by cancellation may have made: the
// daemon can finish creating a container whose id never reached us.
func sweep(cli *client.Client, labels map[string]string) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	removeLabelled(ctx, cli, labels[core.InvocationLabel])
}

func shortID(id string) string { return id[:min(12, len(id))] }
