package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ocix/ocix/core/rootfs"
)

// NewCmdCache builds `ocix cache` and its subcommands.
func NewCmdCache(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "List or prune the images ocix keeps unpacked for runtime backends (runc)",
		Long: `ocix keeps each image a runtime backend (runc) ran unpacked in its cache
(cache.dir, default $XDG_CACHE_HOME/ocix), by manifest digest, so that the next
run of it exports nothing. Every run gets a writable view of its own.`,
	}
	cmd.AddCommand(NewCmdCacheLs(f, nil), NewCmdCachePrune(f, nil))
	return cmd
}

// NewCmdCacheLs builds `ocix cache ls`.
func NewCmdCacheLs(f *Factory, runF func(context.Context, *Factory) error) *cobra.Command {
	if runF == nil {
		runF = cacheLsRun
	}
	return &cobra.Command{
		Use:   "ls",
		Short: "List the cached images: digest, image, size, last used",
		Args:  args(),
		RunE:  func(cmd *cobra.Command, _ []string) error { return runF(cmd.Context(), f) },
	}
}

func cacheLsRun(_ context.Context, f *Factory) error {
	images, err := f.Cache(nil, rootfs.PullNever).List()
	if err != nil {
		return err
	}
	now := time.Now()
	return render(f.Streams.Out, f.Flags.Format, images, func(w io.Writer) error {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		if f.Streams.OutTTY {
			fmt.Fprintln(tw, "DIGEST\tIMAGE\tPLATFORM\tSIZE\tLAST USED")
		}
		for _, img := range images {
			used := ago(now, img.LastUsed)
			if img.InUse {
				used = "in use"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", img.Digest, strings.Join(img.Images, ","), orDash(img.Platform), humanBytes(img.Size), used)
		}
		return tw.Flush()
	})
}

// NewCmdCachePrune builds `ocix cache prune`.
func NewCmdCachePrune(f *Factory, runF func(context.Context, *Factory) error) *cobra.Command {
	if runF == nil {
		runF = cachePruneRun
	}
	return &cobra.Command{
		Use:   "prune",
		Short: "Remove every cached image no run is using, and runs left behind (--keep, or an ocix that died)",
		Args:  args(),
		RunE:  func(cmd *cobra.Command, _ []string) error { return runF(cmd.Context(), f) },
	}
}

func cachePruneRun(ctx context.Context, f *Factory) error {
	p, err := f.Cache(nil, rootfs.PullNever).Prune(ctxOrBackground(ctx))
	if err != nil {
		return err
	}
	return render(f.Streams.Out, f.Flags.Format, p, func(w io.Writer) error {
		for _, img := range p.Removed {
			fmt.Fprintf(w, "removed %s %s (%s)\n", img.Digest, strings.Join(img.Images, ","), humanBytes(img.Size))
		}
		for _, img := range p.InUse {
			fmt.Fprintf(w, "kept %s %s: in use\n", img.Digest, strings.Join(img.Images, ","))
		}
		for _, r := range p.Runs {
			fmt.Fprintf(w, "removed run %s\n", r)
		}
		_, err := fmt.Fprintf(w, "freed %s\n", humanBytes(p.Freed))
		return err
	})
}

// ago says how long before now t was, as people read it.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case t.IsZero():
		return "-"
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d minute%s ago", int(d.Minutes()), plural(int(d.Minutes())))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d hour%s ago", int(d.Hours()), plural(int(d.Hours())))
	}
	days := int(d.Hours() / 24)
	return fmt.Sprintf("%d day%s ago", days, plural(days))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
