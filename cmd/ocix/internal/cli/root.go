// Package cli is ocix's command line. Each command that does a job is
// NewCmdX(f, runF) with an options struct; RunE only validates and calls
// runF (xRun unless a test gives its own), so tests check flag parsing
// (seams_test.go) and behaviour (cli_test.go) apart. compare's subcommands
// and version have no runF: their flags are few, and they are tested
// whole.
package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ocix/ocix/core"
)

// Main runs ocix with args and returns its exit code (see core.ExitCode).
func Main(args []string, s Streams) int {
	ctx, sigs, stop := core.WithSignals(context.Background())
	defer stop()
	return Run(ctx, &Factory{Streams: s, Signals: sigs}, args)
}

// Run runs one command with f and reports its error in one line.
func Run(ctx context.Context, f *Factory, args []string) int {
	root := NewCmdRoot(f)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	// Plugins stop before ocix reports anything, so none outlives it.
	f.Close()
	err = core.Interrupted(ctx, usageOf(err))
	if f.Flags.Timeout > 0 && errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("timed out after %s (--timeout)", f.Flags.Timeout)
	}
	// A container's own exit code is not ocix's error to report.
	var exit *core.ExitError
	if err != nil && !errors.As(err, &exit) {
		fmt.Fprintln(f.Streams.Err, "ocix: "+core.OneLine(err.Error()))
	}
	return core.ExitCode(err)
}

// NewCmdRoot builds the command tree.
func NewCmdRoot(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "ocix",
		Short: "List tags, export root filesystems and run containers with any container tool",
		Long: `ocix answers the same questions whichever container tool a host has — the
tags of a repository, an image's root filesystem, a command run from an image —
through backend plugins (api, crane, docker, podman, nerdctl, runc), and shows
where those tools disagree.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(f.Flags.Format); err != nil {
				return err
			}
			switch {
			case f.Flags.Timeout < 0:
				return core.Usagef("invalid --timeout %s: want a positive duration, or 0 for none", f.Flags.Timeout)
			case f.Flags.Timeout > 0:
				ctx, cancel := context.WithTimeout(cmd.Context(), f.Flags.Timeout)
				cmd.SetContext(ctx)
				f.cancelTimeout = cancel
			}
			return f.Setup(func(name string) bool { return cmd.Flags().Changed(name) })
		},
	}
	root.SetIn(f.Streams.In)
	root.SetOut(f.Streams.Out)
	root.SetErr(f.Streams.Err)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &core.UsageError{Err: err} })

	pf := root.PersistentFlags()
	pf.StringVar(&f.Flags.Backend, "backend", "", "backend to use (default per job from config: api for tags and export, runc for run)")
	pf.StringVar(&f.Flags.Platform, "platform", "", "image platform os/arch[/variant] (default: this host's)")
	pf.BoolVar(&f.Flags.Insecure, "insecure", false, "allow plain HTTP and unverified TLS for non-loopback registries")
	pf.StringVar(&f.Flags.ConfigFile, "config", "", "config file (default $XDG_CONFIG_HOME/ocix/config.yaml, or $OCIX_CONFIG)")
	pf.StringVar(&f.Flags.Format, "format", "text", "output format: text, json, or a Go template")
	pf.BoolVar(&f.Flags.Debug, "debug", false, "debug logging on stderr")
	pf.StringVar(&f.Flags.PluginDir, "plugin-dir", "", "directory searched first for ocix-plugin-NAME executables")
	pf.DurationVar(&f.Flags.Timeout, "timeout", 0, "give up on the whole operation after this long, such as 2m (default: never)")

	root.RegisterFlagCompletionFunc("backend", completeBackends(f))
	root.RegisterFlagCompletionFunc("platform", completePlatforms)
	root.RegisterFlagCompletionFunc("format", completeFormats)

	root.AddCommand(
		NewCmdTags(f, nil),
		NewCmdExport(f, nil),
		NewCmdRun(f, nil),
		NewCmdBundle(f, nil),
		NewCmdCache(f),
		NewCmdCompare(f),
		NewCmdBackends(f, nil),
		NewCmdVersion(f),
		NewCmdConfig(f, nil),
	)
	return root
}

// usageOf marks cobra's own errors about the command line as usage errors.
func usageOf(err error) error {
	if err == nil {
		return nil
	}
	var usage *core.UsageError
	if errors.As(err, &usage) {
		return err
	}
	for _, prefix := range []string{"unknown command", "unknown flag", "unknown shorthand", "invalid argument", "flag needs an argument", "required flag"} {
		if strings.HasPrefix(err.Error(), prefix) {
			return &core.UsageError{Err: err}
		}
	}
	return err
}

// args checks a command's positional arguments by name, so a missing one
// is named in the error.
func args(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, got []string) error {
		switch {
		case len(got) < len(names):
			return core.Usagef("%s: missing %s argument (usage: %s)", cmd.Name(), names[len(got)], cmd.UseLine())
		case len(got) > len(names):
			return core.Usagef("%s: unexpected argument %q (usage: %s)", cmd.Name(), got[len(names)], cmd.UseLine())
		}
		return nil
	}
}
