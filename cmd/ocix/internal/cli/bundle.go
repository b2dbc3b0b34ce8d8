package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ocix/ocix/core"
)

// BundleOptions are the bundle command's inputs: the container, as run's
// flags describe it, and where to write it.
type BundleOptions struct {
	RunOptions
	Dir string
}

// BundleReport is what bundle prints with --format json or a template.
type BundleReport struct {
	Bundle  string   `json:"bundle"`
	Command []string `json:"command"`
}

// NewCmdBundle builds `ocix bundle`.
func NewCmdBundle(f *Factory, runF func(context.Context, *Factory, *BundleOptions) error) *cobra.Command {
	opts := &BundleOptions{}
	if runF == nil {
		runF = bundleRun
	}
	cmd := &cobra.Command{
		Use:   "bundle [flags] IMAGE DIR [-- COMMAND [ARG...]]",
		Short: "Write an OCI runtime bundle (DIR/rootfs and DIR/config.json) to run with runc",
		Long: `Write an OCI runtime bundle: the image's root filesystem in DIR/rootfs and
DIR/config.json, made from runc spec's defaults with the image's config and
run's flags applied — what is done by hand with ocix export, runc spec and an
editor. It prints DIR and the runc run command that runs it.

The run backend writes the bundle (runc: --backend, else backends.run); the
root filesystem comes from ocix's image cache, filled by --rootfs-from. DIR
must not exist, or be empty; a failed bundle leaves nothing there.`,
		Example: `  ocix bundle busybox demo -- echo hello
  ocix bundle --hostname demo --read-only -u 1000 busybox demo
  sudo runc run --bundle "$PWD/demo" demo`,
		Args: func(cmd *cobra.Command, a []string) error {
			if len(a) < 2 || a[1] == "--" {
				return core.Usagef("bundle: want IMAGE and DIR (usage: %s)", cmd.UseLine())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, a []string) error {
			opts.Image, opts.Dir, opts.Args = a[0], a[1], a[2:]
			if len(opts.Args) > 0 && opts.Args[0] == "--" {
				opts.Args = opts.Args[1:]
			}
			opts.entrypointSet = cmd.Flags().Changed("entrypoint")
			if err := f.UseRootfs(opts.RootfsFrom, opts.Pull); err != nil {
				return err
			}
			return runF(cmd.Context(), f, opts)
		},
	}
	cmd.ValidArgsFunction = completeCachedImages(f)
	cmd.Flags().SetInterspersed(false)
	addContainerFlags(f, cmd, &opts.RunOptions)
	return cmd
}

func bundleRun(ctx context.Context, f *Factory, opts *BundleOptions) error {
	ctx = ctxOrBackground(ctx)
	req, err := containerRequest(f, &opts.RunOptions)
	if err != nil {
		return err
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return err
	}
	dest, err := core.DirDestination(dir, false)
	if err != nil {
		return err
	}
	progress := newProgressView(f, false)
	req.Events = progress.event
	res, err := f.Core.Bundle(ctx, f.BackendFor(core.CapRun), req, dest, dir)
	progress.done()
	if err != nil {
		return err
	}
	report := BundleReport{Bundle: dir, Command: res.Command}
	return render(f.Streams.Out, f.Flags.Format, report, func(w io.Writer) error {
		fmt.Fprintln(w, dir)
		_, err := fmt.Fprintln(w, shellJoin(res.Command))
		return err
	})
}

// plainWord is a word a shell takes as it is.
var plainWord = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// shellJoin writes argv as a POSIX shell command line.
func shellJoin(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if plainWord.MatchString(a) {
			out[i] = a
		} else {
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}
