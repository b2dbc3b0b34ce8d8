package compare

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/core/tree"
)

// Options shape every comparison.
type Options struct {
	Backends []string
	// Parallel runs the backends at once; one after another by default,
	// so that the timings mean something on a small machine.
	Parallel bool
}

// each runs job once per backend and times it.
func each(opts Options, job func(i int, backend string) Outcome) []Outcome {
	out := make([]Outcome, len(opts.Backends))
	run := func(i int, b string) {
		start := time.Now()
		o := job(i, b)
		o.Backend, o.Seconds = b, time.Since(start).Seconds()
		out[i] = o
	}
	if !opts.Parallel {
		for i, b := range opts.Backends {
			run(i, b)
		}
		return out
	}
	var wg sync.WaitGroup
	for i, b := range opts.Backends {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run(i, b)
		}()
	}
	wg.Wait()
	return out
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}

// Tags lists the repository's tags with every backend and reports the tags
// only some of them list.
func Tags(ctx context.Context, c *core.Core, req core.TagsRequest, subject string, opts Options) *Report {
	lists := make([][]string, len(opts.Backends))
	r := &Report{Mode: "tags", Subject: subject}
	r.Backends = each(opts, func(i int, b string) Outcome {
		tags, err := c.ListTags(ctx, b, req)
		lists[i] = tags
		return Outcome{Count: len(tags), Error: errText(err)}
	})
	in := map[string][]string{}
	var ok []string
	for i, o := range r.Backends {
		if o.Error != "" {
			continue
		}
		ok = append(ok, o.Backend)
		for _, t := range lists[i] {
			if !slices.Contains(in[t], o.Backend) {
				in[t] = append(in[t], o.Backend)
			}
		}
	}
	for t, bs := range in {
		if len(bs) < len(ok) {
			r.Tags = append(r.Tags, TagPresence{Tag: t, In: bs})
		}
	}
	slices.SortFunc(r.Tags, func(a, b TagPresence) int { return strings.Compare(a.Tag, b.Tag) })
	r.settle(len(r.Tags) > 0)
	return r
}

// TreeOptions narrow a comparison of trees.
type TreeOptions struct {
	// IgnoreEngineFiles hides the paths container engines add to every
	// export; without it they are shown, labelled.
	IgnoreEngineFiles bool
	// OnlyPaths, when set, keeps only these paths and what is below them.
	OnlyPaths []string
	// Ignore drops paths matching these patterns (path.Match, or a
	// directory and what is below it).
	Ignore []string
}

// ExportOptions shape an export comparison.
type ExportOptions struct {
	Options
	TreeOptions
	// WorkDir is where each backend's tree is written (ocix's cache).
	WorkDir string
	// Keep leaves the trees there and reports where.
	Keep bool
}

// Export exports the image with every backend, each into a directory of
// its own, and compares the trees path by path.
func Export(ctx context.Context, c *core.Core, req core.ExportRequest, subject string, opts ExportOptions) (*Report, error) {
	if err := os.MkdirAll(opts.WorkDir, 0o700); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp(opts.WorkDir, "compare-")
	if err != nil {
		return nil, err
	}
	if !opts.Keep {
		defer os.RemoveAll(work)
	}
	manifests := make([]tree.Manifest, len(opts.Backends))
	r := &Report{Mode: "export", Subject: subject}
	r.Backends = each(opts.Options, func(i int, b string) Outcome {
		dir := filepath.Join(work, b)
		dest, err := core.DirDestination(dir, false)
		if err == nil {
			_, err = c.Export(ctx, b, req, dest)
		}
		if err == nil {
			manifests[i], err = tree.Scan(dir)
		}
		o := Outcome{Error: errText(err), Entries: len(manifests[i])}
		if opts.Keep {
			o.Dir = dir
		}
		return o
	})
	compareTrees(r, manifests, opts.TreeOptions)
	return r, nil
}

// Dirs compares two trees already on disk.
func Dirs(a, b string, opts TreeOptions) (*Report, error) {
	r := &Report{Mode: "dirs", Subject: a + " " + b}
	manifests := make([]tree.Manifest, 2)
	for i, dir := range []string{a, b} {
		st, err := os.Stat(dir)
		if err == nil && !st.IsDir() {
			err = fmt.Errorf("%s is not a directory", dir)
		}
		if err != nil {
			return nil, core.Usagef("compare dirs: %v", err)
		}
		start := time.Now()
		m, err := tree.Scan(dir)
		if err != nil {
			return nil, err
		}
		manifests[i] = m
		r.Backends = append(r.Backends, Outcome{Backend: dir, Seconds: time.Since(start).Seconds(), Entries: len(m), Dir: dir})
	}
	compareTrees(r, manifests, opts)
	return r, nil
}

// compareTrees fills r.Paths from the manifests of the backends that
// succeeded.
func compareTrees(r *Report, manifests []tree.Manifest, opts TreeOptions) {
	var names []string
	var ms []tree.Manifest
	for i, o := range r.Backends {
		if o.Error == "" {
			names = append(names, o.Backend)
			ms = append(ms, manifests[i])
		}
	}
	if len(ms) > 1 {
		held := engineHolders(ms)
		for _, d := range tree.DiffN(ms) {
			if !opts.keeps(d.Path) {
				continue
			}
			engine := IsEngineFile(d.Path) || d.Field == "presence" && held(d.Path)
			if engine && opts.IgnoreEngineFiles {
				continue
			}
			values := map[string]string{}
			for i, v := range d.Values {
				values[names[i]] = v
			}
			r.Paths = append(r.Paths, PathDifference{Path: d.Path, Field: d.Field, Values: values, Engine: engine})
		}
	}
	r.settle(len(r.Paths) > 0)
}

func (o TreeOptions) keeps(p string) bool {
	if len(o.OnlyPaths) > 0 && !slices.ContainsFunc(o.OnlyPaths, func(only string) bool { return within(p, only) }) {
		return false
	}
	return !slices.ContainsFunc(o.Ignore, func(pat string) bool {
		if ok, _ := path.Match(pat, p); ok {
			return true
		}
		return within(p, pat)
	})
}

// within reports whether p is dir or below it.
func within(p, dir string) bool {
	dir = path.Clean("/" + dir)
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

// engineFiles are what container engines add to every container's export:
// docker's /.dockerenv and mount points, podman's /run/.containerenv.
var engineFiles = []string{
	"/.dockerenv", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf", "/etc/mtab",
	"/dev", "/proc", "/sys", "/run/.containerenv",
}

// IsEngineFile reports whether p is one of the engine additions, or below
// one of their mount points.
func IsEngineFile(p string) bool {
	return slices.ContainsFunc(engineFiles, func(e string) bool {
		return p == e || (e == "/dev" || e == "/proc" || e == "/sys") && strings.HasPrefix(p, e+"/")
	})
}

// engineHolders returns a test of whether p is, in every tree that has it,
// a directory that holds engine additions and nothing else: docker makes
// /etc to hold hosts and resolv.conf in an image that has no /etc, and
// such a directory is an engine addition too.
func engineHolders(ms []tree.Manifest) func(p string) bool {
	sorted := make([][]string, len(ms))
	return func(p string) bool {
		holds := false
		for i, m := range ms {
			e, ok := m[p]
			if !ok {
				continue
			}
			if e.Type != "dir" {
				return false
			}
			if sorted[i] == nil {
				sorted[i] = m.Paths()
			}
			// p's descendants sort together, right after p + "/".
			paths := sorted[i]
			j, _ := slices.BinarySearch(paths, p+"/")
			for ; j < len(paths) && strings.HasPrefix(paths[j], p+"/"); j++ {
				q := paths[j]
				switch {
				case IsEngineFile(q):
					holds = true
				case m[q].Type != "dir":
					return false
				}
			}
		}
		return holds
	}
}

// RunOptions shape a run comparison.
type RunOptions struct {
	Options
	// WorkDir holds each run's captured stdout and stderr.
	WorkDir string
}

// Run runs the same command with every backend, capturing its output, and
// compares stdout, stderr and exit code.
func Run(ctx context.Context, c *core.Core, req core.RunRequest, subject string, opts RunOptions) (*Report, error) {
	if err := os.MkdirAll(opts.WorkDir, 0o700); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp(opts.WorkDir, "compare-run-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	r := &Report{Mode: "run", Subject: subject}
	r.Backends = each(opts.Options, func(i int, b string) Outcome {
		return runOne(ctx, c, req, b, filepath.Join(work, b))
	})
	var ok []Outcome
	for _, o := range r.Backends {
		if o.Error == "" {
			ok = append(ok, o)
		}
	}
	for _, f := range []struct {
		name  string
		value func(Outcome) string
	}{
		{"stdout", func(o Outcome) string { return o.Stdout }},
		{"stderr", func(o Outcome) string { return o.Stderr }},
		{"exit", func(o Outcome) string { return fmt.Sprint(o.ExitCode) }},
	} {
		values := map[string]string{}
		differ := false
		for _, o := range ok {
			values[o.Backend] = f.value(o)
			differ = differ || f.value(o) != f.value(ok[0])
		}
		if differ {
			r.Outputs = append(r.Outputs, Values{Field: f.name, Values: values})
		}
	}
	r.settle(len(r.Outputs) > 0)
	return r, nil
}

// runOne runs req with backend, its output captured in files under dir.
func runOne(ctx context.Context, c *core.Core, req core.RunRequest, backend, dir string) Outcome {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return Outcome{Error: errText(err)}
	}
	stdout, err1 := os.Create(filepath.Join(dir, "stdout"))
	stderr, err2 := os.Create(filepath.Join(dir, "stderr"))
	if err := errors.Join(err1, err2); err != nil {
		return Outcome{Error: errText(err)}
	}
	defer stdout.Close()
	defer stderr.Close()
	req.Stdin, req.Stdout, req.Stderr = nil, stdout, stderr
	res, err := c.Run(ctx, backend, req, core.RunSignals{})
	o := Outcome{ExitCode: res.ExitCode}
	switch code := core.ExitCode(err); {
	case err == nil:
	case code == core.ExitNotFound || code == core.ExitNotInvoked:
		// The command could not run: an outcome to compare, not a failure.
		o.ExitCode = code
		fmt.Fprintln(stderr, errText(err))
	default:
		o.Error = errText(err)
	}
	out, _ := os.ReadFile(stdout.Name())
	errOut, _ := os.ReadFile(stderr.Name())
	o.Stdout, o.Stderr = string(out), string(errOut)
	return o
}
