package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/core/compare"
	"github.com/ocix/ocix/core/reference"
	"github.com/ocix/ocix/core/tree"
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
		return writeReport(w, r, f.Streams.OutTTY)
	})
	if err != nil {
		return err
	}
	if code := r.ExitCode(); code != 0 {
		return &core.ExitError{Code: code}
	}
	return nil
}

// ANSI colours, on a terminal only.
type palette struct{ on bool }

func (p palette) paint(code, s string) string {
	if !p.on {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}
func (p palette) good(s string) string { return p.paint("32", s) }
func (p palette) bad(s string) string  { return p.paint("31", s) }
func (p palette) note(s string) string { return p.paint("33", s) }
func (p palette) dim(s string) string  { return p.paint("2", s) }

// writeReport writes the report for people: a verdict line, the
// differences grouped and aligned, then each backend's timing.
func writeReport(w io.Writer, r *compare.Report, color bool) error {
	p := palette{color}
	fmt.Fprintln(w, verdictLine(r, p))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	switch r.Mode {
	case "tags":
		writeTagDifferences(tw, r, p)
	case "export", "dirs":
		writePathDifferences(tw, r, p)
	case "run":
		writeOutputDifferences(tw, r, p)
	}
	tw.Flush()
	fmt.Fprintln(w)
	writeTimings(tw, r, p)
	return tw.Flush()
}

func verdictLine(r *compare.Report, p palette) string {
	var names []string
	for _, o := range r.Backends {
		names = append(names, o.Backend)
	}
	who := strings.Join(names, ", ")
	if i := strings.LastIndex(who, ", "); i >= 0 {
		who = who[:i] + " and " + who[i+2:]
	}
	subject := r.Mode + " of " + r.Subject
	if r.Mode == "dirs" {
		subject = "trees"
	}
	n := len(r.Tags) + len(r.Paths) + len(r.Outputs)
	switch r.Verdict {
	case compare.Agree:
		return p.good(fmt.Sprintf("%s: %s agree", subject, who))
	case compare.Differ:
		return p.bad(fmt.Sprintf("%s: %s differ: %s", subject, who, differenceCount(r, n)))
	}
	var failed []string
	for _, o := range r.Backends {
		if o.Error != "" {
			failed = append(failed, o.Backend)
		}
	}
	return p.bad(fmt.Sprintf("%s: %s failed; among the others, %s", subject, strings.Join(failed, ", "), differenceCount(r, n)))
}

func differenceCount(r *compare.Report, n int) string {
	engine := 0
	for _, d := range r.Paths {
		if d.Engine {
			engine++
		}
	}
	s := fmt.Sprintf("%d difference%s", n, plural(n))
	if engine > 0 {
		s += fmt.Sprintf(", %d of them engine additions that --ignore-engine-files hides", engine)
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func writeTagDifferences(w io.Writer, r *compare.Report, p palette) {
	groups := map[string][]string{}
	var keys []string
	for _, t := range r.Tags {
		key := "only listed by " + strings.Join(t.In, ", ")
		if _, ok := groups[key]; !ok {
			keys = append(keys, key)
		}
		groups[key] = append(groups[key], t.Tag)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "\n%s:\n", p.note(k))
		for _, t := range groups[k] {
			fmt.Fprintf(w, "  %s\n", t)
		}
	}
}

// writePathDifferences groups the differences: "only in X" for presence,
// "differ in FIELD" otherwise, engine additions labelled.
func writePathDifferences(w io.Writer, r *compare.Report, p palette) {
	names := backendNames(r)
	type group struct {
		title string
		lines []string
	}
	var groups []*group
	find := func(title string) *group {
		for _, g := range groups {
			if g.title == title {
				return g
			}
		}
		g := &group{title: title}
		groups = append(groups, g)
		return g
	}
	for _, d := range r.Paths {
		if d.Field == "presence" {
			var have []string
			for _, n := range names {
				if v, ok := d.Values[n]; ok && v != tree.Absent {
					have = append(have, n)
				}
			}
			title := "only in " + strings.Join(have, ", ")
			if d.Engine {
				title += " (engine additions)"
			}
			find(title).lines = append(find(title).lines, fmt.Sprintf("  %s\t%s", d.Path, d.Values[have[0]]))
			continue
		}
		title := "differ in " + d.Field
		if d.Engine {
			title += " (engine additions)"
		}
		line := "  " + d.Path
		for _, n := range names {
			line += fmt.Sprintf("\t%s: %s", n, shortValue(d.Values[n]))
		}
		find(title).lines = append(find(title).lines, line)
	}
	for _, g := range groups {
		fmt.Fprintf(w, "\n%s:\n", p.note(g.title))
		for _, l := range g.lines {
			fmt.Fprintln(w, l)
		}
	}
}

func writeOutputDifferences(w io.Writer, r *compare.Report, p palette) {
	names := backendNames(r)
	for _, o := range r.Outputs {
		fmt.Fprintf(w, "\n%s:\n", p.note("differ in "+o.Field))
		for _, n := range names {
			if v, ok := o.Values[n]; ok {
				fmt.Fprintf(w, "  %s\t%q\n", n, v)
			}
		}
	}
}

// shortValue keeps a difference's value readable: digests are cut.
func shortValue(v string) string {
	if v == "" {
		return "(none)"
	}
	if strings.HasPrefix(v, "sha256:") && len(v) > 19 {
		return v[:19] + "…"
	}
	return v
}

func writeTimings(w io.Writer, r *compare.Report, p palette) {
	header := "backend\ttime\t"
	switch r.Mode {
	case "tags":
		header += "tags\t"
	case "export", "dirs":
		header += "entries\t"
	case "run":
		header += "exit\t"
	}
	fmt.Fprintln(w, p.dim(header))
	for _, o := range r.Backends {
		var detail string
		switch {
		case o.Error != "":
			detail = p.bad("failed: " + o.Error)
		case r.Mode == "tags":
			detail = fmt.Sprint(o.Count)
		case r.Mode == "run":
			detail = fmt.Sprint(o.ExitCode)
		default:
			detail = fmt.Sprint(o.Entries)
			if o.Dir != "" && r.Mode == "export" {
				detail += "\t" + o.Dir
			}
		}
		name := o.Backend
		if r.Mode == "dirs" {
			name = filepath.Clean(name)
		}
		fmt.Fprintf(w, "%s\t%.2f s\t%s\t\n", name, o.Seconds, detail)
	}
}

func backendNames(r *compare.Report) []string {
	var names []string
	for _, o := range r.Backends {
		if o.Error == "" {
			names = append(names, o.Backend)
		}
	}
	return names
}
