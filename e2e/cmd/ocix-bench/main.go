// Command ocix-bench prints, side by side in one run, how ocix compares with
// the tools users would pick instead. `make bench` runs it as root after
// `make build`; .ci/run installs the tools it compares against. Sections:
//
//	tags      10,000 tags from a registry that answers in one response and
//	          from one that forces pages; the cost of one plugin dispatch
//	export    a ~490 MB Debian-based image into an empty directory on tmpfs
//	run       `ocix --backend runc run IMAGE -- true`, cold and warm (cached),
//	          against runc run on a prepared bundle and docker run --rm
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/ocix/ocix/e2e/harness"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == inProcessArg {
		os.Exit(describeInProcess(os.Args[2:]))
	}
	bin := flag.String("bin", "bin", "directory holding ocix and its plugins (make build)")
	runs := flag.Int("runs", 15, "timed runs of each command (after one untimed warm-up)")
	only := flag.String("only", "", "comma-separated sections to run (default: all)")
	flag.Parse()
	if err := runBench(*bin, *runs, *only); err != nil {
		fmt.Fprintln(os.Stderr, "ocix-bench:", err)
		os.Exit(1)
	}
}

// bench is one benchmark run's shared state.
type bench struct {
	ctx  context.Context
	h    *harness.Harness
	ocix string // path of bin/ocix
	runs int
	// home is a private HOME (and XDG dirs) for every tool, so no user
	// configuration or credential changes what is measured.
	home string
}

var sections = []struct {
	name string
	run  func(*bench) error
}{
	{"tags", (*bench).tags},
	{"export", (*bench).export},
	{"run", (*bench).run},
}

func runBench(bin string, runs int, only string) error {
	ocix, err := filepath.Abs(filepath.Join(bin, "ocix"))
	if err != nil {
		return err
	}
	if _, err := os.Stat(ocix); err != nil {
		return fmt.Errorf("%v (run `make build` first)", err)
	}
	h, err := harness.New()
	if err != nil {
		return err
	}
	defer h.Close()
	home, err := os.MkdirTemp("", "ocix-bench-home-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(home)
	for _, d := range []string{".config", ".docker", "run", "tmp"} {
		if err := os.MkdirAll(filepath.Join(home, d), 0o700); err != nil {
			return err
		}
	}
	b := &bench{ctx: context.Background(), h: h, ocix: ocix, runs: runs, home: home}
	fmt.Printf("ocix-bench: %d timed runs per command, medians; machine: %s\n\n", runs, machine())
	for _, s := range sections {
		if only != "" && !strings.Contains(","+only+",", ","+s.name+",") {
			continue
		}
		if err := s.run(b); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}

func machine() string {
	out, err := exec.Command("nproc").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out)) + " CPUs"
}
