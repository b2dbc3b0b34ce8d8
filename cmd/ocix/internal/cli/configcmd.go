package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/ocix/ocix/core"
)

// NewCmdConfig builds `ocix config`: the effective configuration, every
// backend's section included as its plugin receives it.
func NewCmdConfig(f *Factory, runF func(context.Context, *Factory) error) *cobra.Command {
	if runF == nil {
		runF = configRun
	}
	return &cobra.Command{
		Use:   "config",
		Short: "Print the effective configuration",
		Args:  args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runF(cmd.Context(), f)
		},
	}
}

func configRun(ctx context.Context, f *Factory) error {
	schemas := map[string][]core.ConfigField{}
	var names []string
	for _, st := range f.Core.Probe(ctxOrBackground(ctx)) {
		schemas[st.Name] = st.Schema
		names = append(names, st.Name)
		if st.Err != nil {
			f.Warn(fmt.Sprintf("backend %q: %s", st.Name, core.OneLine(st.Err.Error())))
		}
	}
	for _, s := range f.Config.UnknownSections(names) {
		f.Warn(fmt.Sprintf("config section %q matches no installed backend", s))
	}
	eff, err := f.Config.Effective(schemas)
	if err != nil {
		return err
	}
	return render(f.Streams.Out, f.Flags.Format, eff, func(w io.Writer) error {
		if f.Config.File != "" {
			fmt.Fprintf(w, "# from %s, OCIX_* environment and flags\n", f.Config.File)
		}
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		if err := enc.Encode(eff); err != nil {
			return err
		}
		return enc.Close()
	})
}
