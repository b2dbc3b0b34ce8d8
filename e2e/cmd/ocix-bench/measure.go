package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"
)

// tool is one command line to time.
type tool struct {
	label string
	argv  []string
	env   []string
	// before runs, untimed, before each run (emptying an output directory).
	before func() error
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
	start := time.Now()
	err = cmd.Run()
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

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}
