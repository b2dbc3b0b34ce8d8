package compare

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/ocix/ocix/core/tree"
)

// The text form of a Report; its JSON form is the Report itself.

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

// WriteText writes the report for people: a verdict line, the
// differences grouped and aligned, then each backend's timing. color adds
// ANSI colours (for a terminal).
func (r *Report) WriteText(w io.Writer, color bool) error {
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

func verdictLine(r *Report, p palette) string {
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
	case Agree:
		return p.good(fmt.Sprintf("%s: %s agree", subject, who))
	case Differ:
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

func differenceCount(r *Report, n int) string {
	engine := 0
	for _, d := range r.Paths {
		if d.Engine {
			engine++
		}
	}
	s := fmt.Sprintf("%d differences", n)
	if n == 1 {
		s = "1 difference"
	}
	if engine > 0 {
		s += fmt.Sprintf(", %d of them engine additions that --ignore-engine-files hides", engine)
	}
	return s
}

func writeTagDifferences(w io.Writer, r *Report, p palette) {
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
func writePathDifferences(w io.Writer, r *Report, p palette) {
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

func writeOutputDifferences(w io.Writer, r *Report, p palette) {
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

func writeTimings(w io.Writer, r *Report, p palette) {
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

func backendNames(r *Report) []string {
	var names []string
	for _, o := range r.Backends {
		if o.Error == "" {
			names = append(names, o.Backend)
		}
	}
	return names
}
