// Package nerdctl is the nerdctl backend: it drives the nerdctl CLI
// against containerd, as a user at a shell would — pull, create, export,
// run, kill, rm — parsing its JSON where it offers some, so that what ocix
// shows is what nerdctl really does.
//
// nerdctl is a command, not a daemon: the backend is available when the
// binary is found and containerd accepts connections on its socket.
package nerdctl

import (
	"context"
	"encoding/json"
	"os"

	"github.com/hashicorp/go-hclog"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/core/plugin"
	"github.com/ocix/ocix/plugins/internal/container"
)

type backend struct {
	log      hclog.Logger
	settings settings
	live     *container.Tracker
}

var (
	_ core.Exporter  = (*backend)(nil)
	_ core.Runner    = (*backend)(nil)
	_ core.Cleaner   = (*backend)(nil)
	_ plugin.Drainer = (*backend)(nil)
)

// New returns the nerdctl backend.
func New(log hclog.Logger) core.Backend {
	return &backend{log: log, settings: defaultSettings(os.Getenv), live: container.NewTracker(log)}
}

func (b *backend) ConfigSchema(context.Context) ([]core.ConfigField, error) {
	return plugin.SchemaOf(b.settings), nil
}

func (b *backend) Configure(_ context.Context, raw json.RawMessage) error {
	if err := plugin.DecodeSettings("nerdctl", raw, &b.settings); err != nil {
		return err
	}
	return b.settings.check()
}

func (b *backend) Describe(ctx context.Context) (core.Info, error) {
	info := core.Info{Name: "nerdctl", Version: core.Version}
	if _, err := b.tool(ctx); err != nil {
		info.Reason = err.Error()
		return info, nil
	}
	info.Available = true
	return info, nil
}

// tool finds nerdctl and checks that containerd answers: every job starts
// here, so that one that cannot work fails at once, in one line naming
// the socket.
func (b *backend) tool(ctx context.Context) (*tool, error) {
	path, err := find(b.settings.Path)
	if err != nil {
		return nil, err
	}
	if err := reachable(ctx, b.settings.Address); err != nil {
		return nil, err
	}
	return &tool{path: path, global: b.settings.globalFlags(), log: b.log}, nil
}
