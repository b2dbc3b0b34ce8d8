package cli

import (
	"context"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/core/compare"
	"github.com/ocix/ocix/core/reference"
)

// CompareOptions are the compare commands' inputs.
type CompareOptions struct {
	Backends          []string
	Parallel          bool
	Keep              bool
	IgnoreEngineFiles bool
	OnlyPaths         []string
	Ignore            []string
	Run               RunOptions
}

// NewCmdCompare builds `ocix compare tags|export|run|dirs`.
func NewCmdCompare(f *Factory) *cobra.Command {
	opts := &CompareOptions{}
	cmd := &cobra.Command{
		Use:   "compare",
		Short: "Run one job on several backends and show exactly where they disagree",
		Long: `Run the same job on several backends, one after another (or at once with
--parallel), and show where their answers differ. Exit codes follow diff:
0 all agree, 1 they differ, 2 trouble (a backend failed; the others are still
compared).`,
	}
	pf := cmd.PersistentFlags()
	pf.StringSliceVar(&opts.Backends, "backends", nil, "backends to compare, comma-separated (default: every available one that can do the job)")
	cmd.RegisterFlagCompletionFunc("backends", completeBackendList(f))
	pf.BoolVar(&opts.Parallel, "parallel", false, "run the backends at once (timings then mean less)")
	treeFlags := func(c *cobra.Command) {
		c.Flags().BoolVar(&opts.IgnoreEngineFiles, "ignore-engine-files", false, "hide what container engines add to every export (/.dockerenv, /etc/hosts…)")
		c.Flags().StringSliceVar(&opts.OnlyPaths, "only-paths", nil, "compare only these paths and what is below them")
		c.Flags().StringArrayVar(&opts.Ignore, "ignore", nil, "ignore paths matching this pattern, or below this directory (repeatable)")
	}
	tags := &cobra.Command{
		Use:   "tags REPOSITORY",
		Short: "Compare the tags each backend lists",
		Args:  args("REPOSITORY"),
		RunE: func(c *cobra.Command, a []string) error {
			return compareTags(c.Context(), f, opts, a[0])
		},
	}
	export := &cobra.Command{
		Use:   "export IMAGE",
		Short: "Compare the root filesystems the backends export, path by path",
		Args:  args("IMAGE"),
		RunE: func(c *cobra.Command, a []string) error {
			return compareExport(c.Context(), f, opts, a[0])
		},
	}
	export.ValidArgsFunction = completeCachedImages(f)
	export.Flags().BoolVar(&opts.Keep, "keep", false, "keep each backend's tree and say where")
	treeFlags(export)
	run := NewCmdRun(f, func(ctx context.Context, f *Factory, ro *RunOptions) error {
		return compareRun(ctx, f, opts, ro)
	})
	run.Short = "Compare stdout, stderr and exit code of one command on each backend"
	dirs := &cobra.Command{
		Use:   "dirs DIR1 DIR2",
		Short: "Compare two trees already on disk, path by path",
		Args:  args("DIR1", "DIR2"),
		// Needs no backend.
		PersistentPreRunE: func(*cobra.Command, []string) error { return checkFormat(f.Flags.Format) },
		RunE: func(c *cobra.Command, a []string) error {
			r, err := compare.Dirs(a[0], a[1], opts.treeOptions())
			if err != nil {
				return err
			}
			return printReport(f, r)
		},
	}
	treeFlags(dirs)
	cmd.AddCommand(tags, export, run, dirs)
	return cmd
}

func (o *CompareOptions) treeOptions() compare.TreeOptions {
	return compare.TreeOptions{IgnoreEngineFiles: o.IgnoreEngineFiles, OnlyPaths: o.OnlyPaths, Ignore: o.Ignore}
}

// backends are the ones asked for, or every available one that can do job.
func (o *CompareOptions) backends(ctx context.Context, f *Factory, job core.Capability) (compare.Options, error) {
	opts := compare.Options{Backends: o.Backends, Parallel: o.Parallel}
	if len(opts.Backends) == 0 {
		for _, st := range f.Core.Probe(ctx) {
			if st.Err == nil && st.Info.Available && st.Info.Has(job) {
				opts.Backends = append(opts.Backends, st.Name)
			}
		}
	}
	if len(opts.Backends) < 2 {
		return opts, core.Usagef("compare needs two backends or more that can %s; found: %s", job, strings.Join(opts.Backends, ", "))
	}
	return opts, nil
}

func compareTags(ctx context.Context, f *Factory, o *CompareOptions, repository string) error {
	ctx = ctxOrBackground(ctx)
	repo, err := reference.ParseRepository(repository)
	if err != nil {
		return &core.UsageError{Err: err}
	}
	opts, err := o.backends(ctx, f, core.CapTags)
	if err != nil {
		return err
	}
	req := core.TagsRequest{Repository: repo.Repository, Endpoints: f.Registries().Endpoints(repo.Registry)}
	return printReport(f, compare.Tags(ctx, f.Core, req, repo.Name(), opts))
}

func compareExport(ctx context.Context, f *Factory, o *CompareOptions, image string) error {
	ctx = ctxOrBackground(ctx)
	req, _, err := exportRequest(f, image, nil)
	if err != nil {
		return err
	}
	opts, err := o.backends(ctx, f, core.CapExport)
	if err != nil {
		return err
	}
	r, err := compare.Export(ctx, f.Core, req, image, compare.ExportOptions{
		Options: opts, TreeOptions: o.treeOptions(), WorkDir: f.Config.CacheDir, Keep: o.Keep,
	})
	if err != nil {
		return err
	}
	return printReport(f, r)
}

func compareRun(ctx context.Context, f *Factory, o *CompareOptions, ro *RunOptions) error {
	ctx = ctxOrBackground(ctx)
	if ro.Interactive || ro.TTY {
		return core.Usagef("compare run: -i and -t cannot be shared by several containers")
	}
	req, err := runRequest(f, ro)
	if err != nil {
		return err
	}
	opts, err := o.backends(ctx, f, core.CapRun)
	if err != nil {
		return err
	}
	r, err := compare.Run(ctx, f.Core, req, ro.Image, compare.RunOptions{Options: opts, WorkDir: f.Config.CacheDir})
	if err != nil {
		return err
	}
	return printReport(f, r)
}

// printReport prints the report and ends with diff's exit code.
func printReport(f *Factory, r *compare.Report) error {
	err := render(f.Streams.Out, f.Flags.Format, r, func(w io.Writer) error {
		return r.WriteText(w, f.Streams.OutTTY)
	})
	if err != nil {
		return err
	}
	if code := r.ExitCode(); code != 0 {
		return &core.ExitError{Code: code}
	}
	return nil
}
