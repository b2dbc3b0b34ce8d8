package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/core/reference"
)

// ExportOptions are the export command's inputs.
type ExportOptions struct {
	Image   string
	Dest    string // a directory, or "-" for a tar stream on stdout
	Output  string // -o FILE: a tar file
	Include []string
	Force   bool
	Quiet   bool
}

// ExportReport is what export prints with --format json or a template.
type ExportReport struct {
	Image       string          `json:"image"`
	Digest      string          `json:"digest"`
	Platform    string          `json:"platform"`
	Destination string          `json:"destination"`
	Entries     int64           `json:"entries"`
	Bytes       int64           `json:"bytes"`
	TarDigest   string          `json:"tarDigest,omitempty"`
	Config      json.RawMessage `json:"config"`
}

// NewCmdExport builds `ocix export`.
func NewCmdExport(f *Factory, runF func(context.Context, *Factory, *ExportOptions) error) *cobra.Command {
	opts := &ExportOptions{}
	if runF == nil {
		runF = exportRun
	}
	cmd := &cobra.Command{
		Use:   "export IMAGE [DEST | -]",
		Short: "Export an image's flattened root filesystem into a directory or a tar stream",
		Long: `Export an image's flattened root filesystem, as
docker export $(docker create IMAGE) | tar -x -C DEST gives it.

DEST is a directory: one that does not exist is written beside it and renamed
into place when complete; an empty one is filled; a non-empty one needs --force.
DEST "-" writes the tar stream to stdout, and -o FILE to a file. A failed or
interrupted export leaves nothing at DEST, and a stream without its end.`,
		Example: `  ocix export busybox rootfs
  ocix --backend crane --platform linux/arm64 export alpine:3.20 - | tar -t
  ocix export -o debian.tar debian:12
  ocix export --include /etc --include /usr/bin/env debian:12 slim`,
		Args: func(cmd *cobra.Command, a []string) error {
			if opts.Output != "" {
				return args("IMAGE")(cmd, a)
			}
			return args("IMAGE", "DEST")(cmd, a)
		},
		RunE: func(cmd *cobra.Command, a []string) error {
			opts.Image = a[0]
			if len(a) > 1 {
				opts.Dest = a[1]
			}
			return runF(cmd.Context(), f, opts)
		},
	}
	cmd.ValidArgsFunction = completeCachedImages(f)
	fl := cmd.Flags()
	fl.StringVarP(&opts.Output, "output", "o", "", "write the tar stream to FILE (renamed into place on success)")
	fl.StringArrayVar(&opts.Include, "include", nil, "export only this path and what it needs (repeatable)")
	fl.BoolVar(&opts.Force, "force", false, "extract over a non-empty DEST, as tar -x would")
	fl.BoolVarP(&opts.Quiet, "quiet", "q", false, "no progress display")
	return cmd
}

func exportRun(ctx context.Context, f *Factory, opts *ExportOptions) error {
	ctx = ctxOrBackground(ctx)
	req, img, err := exportRequest(f, opts.Image, opts.Include)
	if err != nil {
		return err
	}
	dest, where, err := exportDestination(f, opts)
	if err != nil {
		return err
	}
	progress := newProgressView(f, opts.Quiet)
	req.Events = progress.event
	res, err := f.Core.Export(ctx, f.BackendFor(core.CapExport), req, dest)
	progress.done()
	if err != nil {
		return err
	}
	report := ExportReport{
		Image: img.String(), Digest: res.Digest, Platform: res.Platform.String(), Destination: where,
		Entries: res.Entries, Bytes: res.Bytes, TarDigest: res.TarDigest, Config: res.Config,
	}
	if f.Flags.Format == formatText || f.Flags.Format == "" {
		if f.Streams.ErrTTY && !opts.Quiet {
			fmt.Fprintf(f.Streams.Err, "exported %s@%s (%s) to %s: %d entries, %s\n",
				img.Name(), res.Digest, report.Platform, where, res.Entries, humanBytes(res.Bytes))
		}
		return nil
	}
	return render(f.Streams.Out, f.Flags.Format, report, func(io.Writer) error { return nil })
}

// exportRequest is the request for exporting image, from the flags.
func exportRequest(f *Factory, image string, include []string) (core.ExportRequest, reference.Image, error) {
	img, err := reference.Parse(image)
	if err != nil {
		return core.ExportRequest{}, img, &core.UsageError{Err: err}
	}
	req := core.ExportRequest{
		Repository: img.Repository,
		Reference:  img.Tag,
		Endpoints:  f.Registries().Endpoints(img.Registry),
		Platform:   core.HostPlatform(),
	}
	if img.Digest != "" {
		req.Reference = img.Digest
	}
	if f.Flags.Platform != "" {
		if req.Platform, err = core.ParsePlatform(f.Flags.Platform); err != nil {
			return req, img, err
		}
	}
	req.Include, err = cleanIncludes(include)
	return req, img, err
}

// exportDestination prepares where the export goes, and names it for the
// report.
func exportDestination(f *Factory, opts *ExportOptions) (*core.Destination, string, error) {
	switch {
	case opts.Output != "" && opts.Dest != "":
		return nil, "", core.Usagef("export: give DEST or -o FILE, not both")
	case opts.Output != "":
		d, err := core.FileDestination(opts.Output)
		return d, opts.Output, err
	case opts.Dest == "-":
		if f.Flags.Format != formatText && f.Flags.Format != "" {
			return nil, "", core.Usagef("export: --format %s cannot share stdout with the tar stream", f.Flags.Format)
		}
		if f.Streams.OutFile == nil {
			return nil, "", core.Usagef("export: stdout is not a file ocix can hand to a backend")
		}
		d, err := core.StreamDestination(f.Streams.OutFile, f.Config.CacheDir)
		return d, "stdout", err
	}
	d, err := core.DirDestination(opts.Dest, opts.Force)
	return d, opts.Dest, err
}

// cleanIncludes makes --include paths absolute and clean.
func cleanIncludes(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		if strings.TrimSpace(p) == "" {
			return nil, core.Usagef("invalid --include: empty path")
		}
		out = append(out, path.Clean("/"+p))
	}
	return out, nil
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
