package nerdctl

import (
	"context"
	"strings"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/container"
)

// Cleanup removes the containers of an invocation whose plugin died: core
// asks a fresh instance (see container.Tracker).
func (b *backend) Cleanup(ctx context.Context, invocation string) error {
	return b.live.Cleanup(ctx, invocation, func(ctx context.Context) (container.Engine, error) {
		return b.tool(ctx)
	})
}

var _ container.Guarder = (*tool)(nil)

// Drain removes the containers of jobs cut short (plugin.Drainer).
func (b *backend) Drain() { b.live.Drain() }

// Labelled lists the containers, running or not, that carry an
// invocation's label (container.Engine).
func (t *tool) Labelled(ctx context.Context, invocation string) ([]string, error) {
	out, err := t.command(ctx, "ps", "-a", "--no-trunc", "-q", "--filter", "label="+core.InvocationLabel+"="+invocation).Output()
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(out)), nil
}
