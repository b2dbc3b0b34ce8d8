package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ocix/ocix/core"
)

// BackendRow is one line of `ocix backends`; --format json prints a list.
type BackendRow struct {
	Name         string   `json:"name"`
	Version      string   `json:"version"`
	Capabilities []string `json:"capabilities"`
	Available    bool     `json:"available"`
	Reason       string   `json:"reason"`
}

// NewCmdBackends builds `ocix backends`.
func NewCmdBackends(f *Factory, runF func(context.Context, *Factory, []string) error) *cobra.Command {
	if runF == nil {
		runF = backendsRun
	}
	return &cobra.Command{
		Use:               "backends [NAME...]",
		Short:             "List the backends found, what each can do, and whether it works here now",
		ValidArgsFunction: completeBackends(f),
		RunE: func(cmd *cobra.Command, names []string) error {
			return runF(cmd.Context(), f, names)
		},
	}
}

func backendsRun(ctx context.Context, f *Factory, names []string) error {
	ctx = ctxOrBackground(ctx)
	rows := []BackendRow{}
	for _, st := range f.Core.Probe(ctx, names...) {
		if errors.Is(st.Err, core.ErrUnknownBackend) {
			// Not found at all: that is bad input, not a backend's state.
			return st.Err
		}
		row := BackendRow{Name: st.Name, Version: st.Info.Version, Capabilities: []string{},
			Available: st.Err == nil && st.Info.Available, Reason: st.Info.Reason}
		for _, c := range st.Info.Capabilities {
			row.Capabilities = append(row.Capabilities, string(c))
		}
		if st.Err != nil {
			row.Reason = core.OneLine(st.Err.Error())
		}
		rows = append(rows, row)
	}
	return render(f.Streams.Out, f.Flags.Format, rows, func(w io.Writer) error {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		if f.Streams.OutTTY {
			fmt.Fprintln(tw, "NAME\tVERSION\tCAPABILITIES\tAVAILABLE\tREASON")
		}
		for _, r := range rows {
			caps := strings.Join(r.Capabilities, ",")
			if caps == "" {
				caps = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name, r.Version, caps, yesNo(r.Available), r.Reason)
		}
		return tw.Flush()
	})
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
