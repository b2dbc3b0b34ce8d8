// Package podman is the podman backend: the podman API service, spoken to
// through podman's own Go bindings, doing each job as `podman` does —
// pull into podman's store, `podman create` + `podman export` for a root
// filesystem, `podman run` for a command, `podman search --list-tags` for
// tags — so that what ocix shows is what podman gives.
//
// It is a Go module of its own (see go.mod): the bindings bring a large
// dependency tree and need build tags.
package podman

import (
	"context"
	"encoding/json"
	"os"

	"github.com/hashicorp/go-hclog"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/core/plugin"
	"github.com/ocix/ocix/plugins/internal/container"
)

// settings is the podman section of ocix's configuration.
type settings struct {
	Socket string `json:"socket" help:"the podman service: a socket path or a unix://, tcp:// or ssh:// URI (default: $CONTAINER_HOST, else /run/podman/podman.sock for root and $XDG_RUNTIME_DIR/podman/podman.sock for others)"`
}

type backend struct {
	log      hclog.Logger
	settings settings
	service  service
	live     *container.Tracker
}

var _ plugin.Drainer = (*backend)(nil)

// New returns the podman backend.
func New(log hclog.Logger) core.Backend {
	return &backend{log: log, live: container.NewTracker(log)}
}

func (b *backend) ConfigSchema(context.Context) ([]core.ConfigField, error) {
	return plugin.SchemaOf(b.settings), nil
}

func (b *backend) Configure(_ context.Context, raw json.RawMessage) error {
	if err := plugin.DecodeSettings("podman", raw, &b.settings); err != nil {
		return err
	}
	svc, err := resolveService(b.settings.Socket, os.Getenv, os.Getuid())
	if err != nil {
		return err
	}
	b.service = svc
	return nil
}

// Describe says whether the service answers, within reachTimeout: a
// command run against a service that is not there fails at once with this
// reason (core checks it before any job).
func (b *backend) Describe(ctx context.Context) (core.Info, error) {
	info := core.Info{Name: "podman", Version: core.Version, Available: true}
	if _, err := b.service.connect(ctx); err != nil {
		if ctx.Err() != nil {
			return info, ctx.Err()
		}
		info.Available, info.Reason = false, err.Error()
	}
	return info, nil
}

// connect reaches the service for a job.
func (b *backend) connect(ctx context.Context) (context.Context, error) {
	return b.service.connect(ctx)
}
