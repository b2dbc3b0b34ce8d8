package podman

import (
	"context"
	"errors"

	"github.com/containers/podman/v5/pkg/bindings/containers"

	"github.com/ocix/ocix/core"
)

// Cleanup removes the containers of an invocation whose plugin died: core
// starts a fresh instance of the plugin and asks it. They are found by
// ocix's label, and removed with force — a run's may still be running.
func (b *backend) Cleanup(ctx context.Context, invocation string) error {
	if invocation == "" {
		return core.Usagef("cleanup: no invocation given")
	}
	ctx, err := b.connect(ctx)
	if err != nil {
		return err
	}
	filter := map[string][]string{"label": {core.InvocationLabel + "=" + invocation}}
	list, err := containers.List(ctx, new(containers.ListOptions).WithAll(true).WithFilters(filter))
	if err != nil {
		return serviceError(err)
	}
	var errs []error
	for _, c := range list {
		if err := removeContainer(ctx, c.ID); err != nil {
			errs = append(errs, serviceError(err))
			continue
		}
		b.log.Info("removed the container of a dead plugin", "id", c.ID, "invocation", invocation)
	}
	return errors.Join(errs...)
}
