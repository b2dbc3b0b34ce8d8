package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/ocix/ocix/e2e/oldkernel"
)

// tool is one command line to time.
type tool struct {
	label string
	argv  []string
	env   []string
	// before runs, untimed, before each run (emptying an output directory).
	before func() error
	// needs lists the programs the command runs; one not on PATH makes
	// the row absent, saying so.
	needs []string
	// unavailable, when set, is why the row cannot be measured (a daemon
	// that did not start).
	unavailable string
	// oldKernel runs the command under e2e/oldkernel's seccomp
	// filter: openat2 and the other calls newer than Linux 4.14 answer
	// ENOSYS, as on an old kernel.
	oldKernel bool
	// tree is where the command leaves an exported root filesystem, which
	// is checked against the reference after the last run; empty for a
	// row that exports nothing (a floor). known lists the paths where it
	// may differ by design (an engine's own additions).
	tree  string
	known []string
}

// row is one line of a table: a tool's medians, or why it has none.
type row struct {
	label  string
	absent string // why there is no measurement; empty when measured
	stats
}

// measureRows measures each tool with n timed runs. A tool that cannot
// run, fails, or leaves a tree unlike ref (when it names one) gives an
// absent row saying why; failed lists the ocix rows that did, which the
// caller must report as a failure of the benchmark.
func (b *bench) measureRows(tools []tool, n int, ref *reference) (rows []row, failed []string) {
	for _, t := range tools {
		r := row{label: t.label, absent: t.unavailable}
		for _, p := range t.needs {
			if _, err := exec.LookPath(p); err != nil && r.absent == "" {
				r.absent = p + " is not installed"
			}
		}
		if r.absent == "" {
			s, err := b.measureN(t, n)
			switch {
			case err != nil:
				r.absent = "failed: " + err.Error()
			case t.tree != "" && ref != nil:
				if err := ref.check(t.tree, t.known); err != nil {
					r.absent = "wrong tree: " + err.Error()
				}
			}
			r.stats = s
			if r.absent != "" && strings.HasPrefix(t.label, "ocix") {
				failed = append(failed, t.label)
			}
		}
		rows = append(rows, r)
	}
	return rows, failed
}

// printTable prints a table of rows: header's cells, tab-separated, then
// per row its label and cells(row); an absent row shows dashes, and its
// reason is printed below the table.
func printTable(header string, rows []row, cells func(row) []string) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\t\n", header)
	width := strings.Count(header, "\t")
	for _, r := range rows {
		c := slices.Repeat([]string{"—"}, width)
		if r.absent == "" {
			c = cells(r)
		}
		fmt.Fprintf(tw, "%s\t%s\t\n", r.label, strings.Join(c, "\t"))
	}
	tw.Flush()
	for _, r := range rows {
		if r.absent != "" {
			fmt.Printf("  %s: absent: %s\n", r.label, r.absent)
		}
	}
}

// find returns the measured row labelled label, if any.
func find(rows []row, label string) (row, bool) {
	for _, r := range rows {
		if r.label == label {
			return r, r.absent == ""
		}
	}
	return row{}, false
}

// sample is one timed run.
type sample struct {
	wall, cpu time.Duration
	maxRSS    int64 // KiB, the largest process of the run's tree
}

// stats are the medians of a tool's runs.
type stats struct {
	wall, cpu time.Duration
	maxRSS    int64
	output    string // stdout of the last run, to check the tools agree
}

// measure runs t once untimed (warming caches and taking any one-off
// penalty such as a registry's first 429), then b.runs times.
func (b *bench) measure(t tool) (stats, error) {
	return b.measureN(t, b.runs)
}

// measureN is measure with n timed runs.
func (b *bench) measureN(t tool, n int) (stats, error) {
	var samples []sample
	var out string
	for i := 0; i <= n; i++ {
		s, stdout, err := b.once(t)
		if err != nil {
			return stats{}, err
		}
		out = stdout
		if i > 0 {
			samples = append(samples, s)
		}
	}
	med := func(f func(sample) time.Duration) time.Duration {
		v := make([]time.Duration, len(samples))
		for i, s := range samples {
			v[i] = f(s)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	var rss int64
	for _, s := range samples {
		rss = max(rss, s.maxRSS)
	}
	return stats{
		wall:   med(func(s sample) time.Duration { return s.wall }),
		cpu:    med(func(s sample) time.Duration { return s.cpu }),
		maxRSS: rss,
		output: out,
	}, nil
}

func (b *bench) once(t tool) (sample, string, error) {
	if t.before != nil {
		if err := t.before(); err != nil {
			return sample{}, "", err
		}
	}
	// GNU time measures the peak RSS: a process this program started
	// itself would count this program's own pages (Linux carries the
	// parent's resident size across fork and exec into ru_maxrss).
	rss, err := os.CreateTemp("", "ocix-bench-rss-")
	if err != nil {
		return sample{}, "", err
	}
	rss.Close()
	defer os.Remove(rss.Name())
	argv := append([]string{"/usr/bin/time", "-f", "%M", "-o", rss.Name()}, t.argv...)
	cmd := exec.CommandContext(b.ctx, argv[0], argv[1:]...)
	cmd.Env = append(b.baseEnv(), t.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	run := cmd.Run
	if t.oldKernel {
		run = func() error { return oldkernel.Run(cmd) }
	}
	start := time.Now()
	err = run()
	wall := time.Since(start)
	if err != nil {
		return sample{}, "", fmt.Errorf("%s: %v: %s", strings.Join(t.argv, " "), err, firstLine(stderr.String()))
	}
	// wait4's usage counts the process and the children it waited for
	// (ocix waits for its plugins); time's own CPU is a millisecond.
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	var kib int64
	if b, err := os.ReadFile(rss.Name()); err == nil {
		fmt.Sscan(string(b), &kib)
	}
	return sample{wall: wall, cpu: cpu, maxRSS: kib}, stdout.String(), nil
}

func (b *bench) baseEnv() []string {
	return []string{
		"PATH=" + pathEnv(),
		"HOME=" + b.home,
		"XDG_CONFIG_HOME=" + b.home + "/.config",
		"XDG_RUNTIME_DIR=" + b.home + "/run",
		"DOCKER_CONFIG=" + b.home + "/.docker",
		"TMPDIR=" + b.home + "/tmp",
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func secs(d time.Duration) string {
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func mib(kib int64) string {
	return fmt.Sprintf("%d MiB", kib/1024)
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

// times is a's wall time as a multiple of ref's, or "—" when either row
// has no measurement.
func times(a, ref row) string {
	if a.absent != "" || ref.absent != "" || ref.wall == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", ratio(a.wall, ref.wall))
}

// target prints whether a's wall time is at most limit × ref's, or why it
// cannot be told.
func target(what string, a, ref row, limit float64) {
	switch {
	case a.absent != "":
		fmt.Printf("target: %s: cannot be checked: %s is absent\n", what, a.label)
	case ref.absent != "" || ref.wall == 0:
		fmt.Printf("target: %s: cannot be checked: %s is absent\n", what, ref.label)
	default:
		r := ratio(a.wall, ref.wall)
		fmt.Printf("target: %s: %s (%.2f×)\n", what, verdict(r <= limit), r)
	}
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}
