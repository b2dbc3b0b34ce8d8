package nerdctl

import (
	"context"
	"strings"

	"github.com/ocix/ocix/core"
)

// Cleanup removes the containers of an invocation whose plugin died: core
// asks a fresh instance. (Each job also has a guard that does the same
// for its own container; whichever comes second finds nothing.)
func (b *backend) Cleanup(ctx context.Context, invocation string) error {
	if invocation == "" {
		// An empty value would select every container of every ocix.
		return core.Usagef("cleanup: no invocation given")
	}
	t, err := b.tool(ctx)
	if err != nil {
		return err
	}
	ids, err := t.labelled(ctx, invocation)
	if err != nil || len(ids) == 0 {
		return err
	}
	return t.command(ctx, append([]string{"rm", "-f"}, ids...)...).Run()
}

// labelled lists the containers, running or not, that carry an
// invocation's label.
func (t *tool) labelled(ctx context.Context, invocation string) ([]string, error) {
	out, err := t.command(ctx, "ps", "-a", "--no-trunc", "-q", "--filter", "label="+core.InvocationLabel+"="+invocation).Output()
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(out)), nil
}
