package podman

import (
	"context"
	"time"

	"github.com/containers/podman/v5/pkg/bindings/containers"

	"github.com/ocix/ocix/core"
)

// controlTimeout bounds one kill or resize request.
const controlTimeout = 5 * time.Second

// engine is the podman API as container.Starter needs it: requests on the
// run's connection, even once the run is cancelled.
type engine struct{ conn context.Context }

func (e engine) Start(ctx context.Context, id string) error {
	return containers.Start(ctx, id, nil)
}

func (e engine) Kill(ctx context.Context, id, signal string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(e.conn), controlTimeout)
	defer cancel()
	return containers.Kill(ctx, id, new(containers.KillOptions).WithSignal(signal))
}

func (e engine) Resize(ctx context.Context, id string, size core.TerminalSize) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(e.conn), controlTimeout)
	defer cancel()
	opts := new(containers.ResizeTTYOptions).WithHeight(int(size.Rows)).WithWidth(int(size.Cols))
	return containers.ResizeContainerTTY(ctx, id, opts)
}
