package cli

import (
	"fmt"
	"io"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/core/plugin"
)

// VersionInfo is what `ocix version` prints.
type VersionInfo struct {
	Version        string `json:"version"`
	GoVersion      string `json:"goVersion"`
	Platform       string `json:"platform"`
	PluginProtocol int    `json:"pluginProtocol"`
}

// NewCmdVersion builds `ocix version`.
func NewCmdVersion(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print ocix's version",
		Args:  args(),
		// Needs no configuration and no plugin.
		PersistentPreRunE: func(*cobra.Command, []string) error { return checkFormat(f.Flags.Format) },
		RunE: func(*cobra.Command, []string) error {
			v := VersionInfo{core.Version, runtime.Version(), runtime.GOOS + "/" + runtime.GOARCH, plugin.ProtocolVersion}
			return render(f.Streams.Out, f.Flags.Format, v, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "ocix %s (%s, %s, plugin protocol %d)\n", v.Version, v.GoVersion, v.Platform, v.PluginProtocol)
				return err
			})
		},
	}
}
