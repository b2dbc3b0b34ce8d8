package cli

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/core/rootfs"
)

// Shell completion of flag values and arguments from what ocix knows:
// backend names from the loader, common platforms, output formats, and the
// images in ocix's cache. cobra's `completion` command writes the scripts;
// they call `ocix __complete`, which runs no PersistentPreRunE, so each
// function sets the factory up itself and completes nothing if it cannot.

// commonPlatforms are offered for --platform, this host's first.
var commonPlatforms = []string{
	"linux/amd64", "linux/arm64", "linux/arm/v7", "linux/arm/v6", "linux/386",
	"linux/ppc64le", "linux/s390x", "linux/riscv64",
}

// setupForCompletion loads the configuration and core as a command would.
func setupForCompletion(f *Factory, cmd *cobra.Command) bool {
	return f.Setup(func(name string) bool { return cmd.Flags().Changed(name) }) == nil
}

// backendNames are the backends the loader finds; none when ocix cannot
// be set up.
func backendNames(f *Factory, cmd *cobra.Command) []string {
	if !setupForCompletion(f, cmd) {
		return nil
	}
	names, _ := f.Core.Loader.Names()
	return names
}

// completeBackends completes a backend name.
func completeBackends(f *Factory) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return backendNames(f, cmd), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeBackendList completes the last name of a comma-separated list,
// leaving out the names already in it.
func completeBackendList(f *Factory) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		names := backendNames(f, cmd)
		done := ""
		var given []string
		if i := strings.LastIndex(toComplete, ","); i >= 0 {
			done = toComplete[:i+1]
			given = strings.Split(toComplete[:i], ",")
		}
		var out []cobra.Completion
		for _, n := range names {
			if !slices.Contains(given, n) {
				out = append(out, done+n)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
}

func completePlatforms(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	host := core.HostPlatform()
	if host.Architecture == "arm64" {
		host.Variant = "" // as users write it
	}
	out := []string{host.String()}
	for _, p := range commonPlatforms {
		if p != out[0] {
			out = append(out, p)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

func completeFormats(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return []cobra.Completion{
		cobra.CompletionWithDesc("text", "for people"),
		cobra.CompletionWithDesc("json", "for scripts"),
	}, cobra.ShellCompDirectiveNoFileComp
}

// completeCachedImages completes an IMAGE argument (the first) from the
// images in ocix's cache; later arguments complete as files.
func completeCachedImages(f *Factory) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveDefault
		}
		if !setupForCompletion(f, cmd) {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		images, err := f.Cache(nil, rootfs.PullNever).List()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		for _, img := range images {
			for _, name := range img.Images {
				if !slices.Contains(out, name) {
					out = append(out, name)
				}
			}
		}
		slices.Sort(out)
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
