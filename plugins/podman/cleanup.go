package podman

import (
	"context"

	"github.com/containers/podman/v5/pkg/bindings/containers"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/container"
)

// Cleanup removes the containers of an invocation whose plugin died: core
// starts a fresh instance of the plugin and asks it (see
// container.Tracker).
func (b *backend) Cleanup(ctx context.Context, invocation string) error {
	return b.live.Cleanup(ctx, invocation, func(ctx context.Context) (container.Engine, error) {
		conn, err := b.connect(ctx)
		return engine{conn: conn}, err
	})
}

// Drain removes the containers of jobs cut short (plugin.Drainer).
func (b *backend) Drain() { b.live.Drain() }

// Remove removes a container and its anonymous volumes
// (container.Engine). One still running is killed at once (timeout 0),
// not given podman's 10 s stop timeout; one already gone is no error.
func (e engine) Remove(ctx context.Context, id string) error {
	opts := new(containers.RemoveOptions).WithForce(true).WithTimeout(0).WithVolumes(true).WithIgnore(true)
	_, err := containers.Remove(valuesFrom{ctx, e.conn}, id, opts)
	return serviceError(err)
}

// Labelled lists the containers carrying invocation's label
// (container.Engine).
func (e engine) Labelled(ctx context.Context, invocation string) ([]string, error) {
	filter := map[string][]string{"label": {core.InvocationLabel + "=" + invocation}}
	list, err := containers.List(valuesFrom{ctx, e.conn}, new(containers.ListOptions).WithAll(true).WithFilters(filter))
	if err != nil {
		return nil, serviceError(err)
	}
	ids := make([]string, len(list))
	for i, c := range list {
		ids[i] = c.ID
	}
	return ids, nil
}
