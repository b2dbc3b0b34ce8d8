package docker

import (
	"context"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/ocix/ocix/core"
	ocixcontainer "github.com/ocix/ocix/plugins/internal/container"
)

// Cleanup removes the containers of an invocation whose plugin died: core
// asks a fresh instance (see container.Tracker).
func (b *backend) Cleanup(ctx context.Context, invocation string) error {
	return b.live.Cleanup(ctx, invocation, func(ctx context.Context) (ocixcontainer.Engine, error) {
		cli, err := b.connect(ctx)
		return engine{cli}, err
	})
}

// Drain removes the containers of jobs cut short (plugin.Drainer).
func (b *backend) Drain() { b.live.Drain() }

// create creates a container from src (see createFrom), tracked until it
// is removed (container.Tracker).
func (b *backend) create(ctx context.Context, cli *client.Client, src source, cfg *container.Config, host *container.HostConfig) (made, *ocixcontainer.Container, error) {
	var m made
	c, err := b.live.Create(ctx, engine{cli}, cfg.Labels[core.InvocationLabel], func(ctx context.Context) (string, error) {
		var err error
		m, err = b.createFrom(ctx, cli, src, cfg, host)
		return m.id, err
	})
	return m, c, err
}

// remove removes a container whose job is over. A failure is a warning:
// the job's outcome stands.
func (s source) remove(c *ocixcontainer.Container) {
	if err := c.Remove(); err != nil {
		s.warn(err.Error())
	}
}

// Labelled lists the containers labelled with invocation
// (container.Engine).
func (e engine) Labelled(ctx context.Context, invocation string) ([]string, error) {
	list, err := e.cli.ContainerList(ctx, client.ContainerListOptions{
		All:     true,
		Filters: client.Filters{}.Add("label", core.InvocationLabel+"="+invocation),
	})
	if err != nil {
		return nil, daemonError("listing containers", err)
	}
	ids := make([]string, len(list.Items))
	for i, c := range list.Items {
		ids[i] = c.ID
	}
	return ids, nil
}

// Remove force-removes a container with its anonymous volumes, as `docker
// run --rm` does (container.Engine). One already gone is no error.
func (e engine) Remove(ctx context.Context, id string) error {
	_, err := e.cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return daemonError("removing container "+shortID(id), err)
	}
	return nil
}

func shortID(id string) string { return id[:min(12, len(id))] }
