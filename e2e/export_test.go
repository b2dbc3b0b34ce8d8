//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/ocix/ocix/core/tree"
	"github.com/ocix/ocix/e2e/harness"
	"github.com/ocix/ocix/e2e/images"
)

// exporter runs the export cases on one backend.
type exporter struct {
	b    *backend
	w    *world
	imgs *rulesSet
}

// ocix runs bin/ocix on the backend; args start with global flags or the
// command.
func (x *exporter) ocix(t *testing.T, s *sandbox, args ...string) result {
	t.Helper()
	return s.ocix(t, append([]string{"--backend", x.b.name}, args...)...)
}

// known lists where the backend's export of a rules image differs from a
// correct one by design: crane's flattening for the image with the
// hard-link rewrite (quirk), an engine's own additions.
func (x *exporter) known(quirk bool) []string { return x.b.knownDifferences(quirk) }

// exportCases is the conformance suite every backend runs.
var exportCases = []struct {
	name string
	run  func(t *testing.T, x *exporter)
}{
	// Short names: the test's name is in its temporary directory, where
	// the plugin's unix socket (at most 108 bytes) is made.
	{"host", exportHostTree},
	{"arm64", exportArm64},
	{"schema2", exportSchema2},
	{"compressions", exportMixed},
	{"no-quirk", exportWithoutQuirk},
	{"no-platform", exportMissingPlatform},
	{"stream", exportStream},
	{"file", exportFile},
	{"include", exportInclude},
	{"empty-dir", exportIntoEmptyDir},
	{"used-dir", exportIntoNonEmptyDir},
	{"terminal", exportToTerminal},
	{"corrupt", exportCorruptBlob},
}

func TestExport(t *testing.T) {
	w, imgs := rulesImages(t)
	for _, b := range backendsFor("export") {
		x := &exporter{b: b, w: w, imgs: imgs}
		for _, tc := range exportCases {
			t.Run(b.name+"/"+tc.name, func(t *testing.T) { tc.run(t, x) })
		}
	}
}

// exportReport is what `ocix --format json export` prints.
type exportReport struct {
	Digest   string          `json:"digest"`
	Platform string          `json:"platform"`
	Entries  int64           `json:"entries"`
	Config   json.RawMessage `json:"config"`
}

// exportJSON exports ref into dest with --format json (and globals before
// the command) and returns the report.
func (x *exporter) exportJSON(t *testing.T, s *sandbox, globals []string, ref, dest string) exportReport {
	t.Helper()
	args := append(append([]string{"--format", "json"}, globals...), "export", ref, dest)
	r := x.ocix(t, s, args...)
	if r.code != 0 {
		t.Fatalf("export: %s", r)
	}
	var rep exportReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, r)
	}
	return rep
}

// The done-when case: the multi-arch index, for this host's platform.
func exportHostTree(t *testing.T, x *exporter) {
	s := x.b.sandbox(t)
	dest := filepath.Join(s.dir, "rootfs")
	rep := x.exportJSON(t, s, nil, x.imgs.index, dest)
	if rep.Digest != x.imgs.digests[hostArch] || !strings.HasPrefix(rep.Platform, "linux/"+hostArch) || rep.Entries == 0 {
		t.Errorf("report %+v, want the %s manifest %s", rep, hostArch, x.imgs.digests[hostArch])
	}
	var cfg v1.ConfigFile
	if err := json.Unmarshal(rep.Config, &cfg); err != nil {
		t.Fatalf("config: %v: %s", err, rep.Config)
	}
	want := images.RulesConfig
	if c := cfg.Config; !slices.Equal(c.Env, want.Env) || c.WorkingDir != want.WorkingDir || c.User != want.User || !slices.Equal(c.Cmd, want.Cmd) {
		t.Errorf("config %+v, want %+v", c, want)
	}
	sameTree(t, dest, images.RulesExpected(hostArch, true), x.known(true))
	sameMtimes(t, dest, images.RulesMtimes(true), x.known(true))
	noTemp(t, dest)
}

func exportArm64(t *testing.T, x *exporter) {
	s := x.b.sandbox(t)
	dest := filepath.Join(s.dir, "rootfs")
	rep := x.exportJSON(t, s, []string{"--platform", "linux/arm64"}, x.imgs.index, dest)
	if rep.Digest != x.imgs.digests["arm64"] || !strings.HasPrefix(rep.Platform, "linux/arm64") {
		t.Errorf("report %+v, want the arm64 manifest %s", rep, x.imgs.digests["arm64"])
	}
	sameTree(t, dest, images.RulesExpected("arm64", true), x.known(true))
}

// exportTree exports ref into a new directory and checks the tree.
func (x *exporter) exportTree(t *testing.T, ref string, quirk bool) {
	t.Helper()
	s := x.b.sandbox(t)
	dest := filepath.Join(s.dir, "rootfs")
	if r := x.ocix(t, s, "export", "-q", ref, dest); r.code != 0 {
		t.Fatalf("export: %s", r)
	}
	sameTree(t, dest, images.RulesExpected(hostArch, quirk), x.known(quirk))
	sameMtimes(t, dest, images.RulesMtimes(quirk), x.known(quirk))
}

func exportSchema2(t *testing.T, x *exporter) { x.exportTree(t, x.imgs.schema2, true) }

func exportMixed(t *testing.T, x *exporter) { x.exportTree(t, x.imgs.mixed, true) }

// The image the compare command uses: every backend exports it exactly.
func exportWithoutQuirk(t *testing.T, x *exporter) { x.exportTree(t, x.imgs.noQuirk, false) }

func exportMissingPlatform(t *testing.T, x *exporter) {
	s := x.b.sandbox(t)
	dest := filepath.Join(s.dir, "rootfs")
	r := x.ocix(t, s, "--platform", "linux/s390x", "export", x.imgs.index, dest)
	if r.code != 1 || len(lines(r.stderr)) != 1 || !strings.HasPrefix(r.stderr, "ocix: ") {
		t.Fatalf("want exit 1 and one line\n%s", r)
	}
	t.Log(strings.TrimSpace(r.stderr))
	for _, want := range []string{"linux/s390x", "linux/amd64", "linux/arm64"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the error does not name %s: %s", want, r.stderr)
		}
	}
	nothingAt(t, dest)
}

// `ocix export IMAGE -` into a pipe that GNU tar reads.
func exportStream(t *testing.T, x *exporter) {
	s := x.b.sandbox(t)
	dest := filepath.Join(s.dir, "rootfs")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	cmd, _, stderr := s.command(ctx, "--backend", x.b.name, "export", "-q", x.imgs.index, "-")
	cmd.Stdout = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close() // tar sees the end when ocix closes its copy
	tarErr := untar(ctx, pr, dest)
	if err := cmd.Wait(); err != nil || tarErr != nil {
		t.Fatalf("ocix: %v: %s\n%v", err, stderr, tarErr)
	}
	sameTree(t, dest, images.RulesExpected(hostArch, true), x.known(true))
	sameMtimes(t, dest, images.RulesMtimes(true), x.known(true))
	// A stream's scratch space is in the cache directory.
	if left, _ := filepath.Glob(filepath.Join(s.dir, "home", ".cache", "ocix", "*.ocix-*")); len(left) > 0 {
		t.Errorf("scratch left in the cache: %v", left)
	}
}

func exportFile(t *testing.T, x *exporter) {
	s := x.b.sandbox(t)
	out := filepath.Join(s.dir, "rootfs.tar")
	if r := x.ocix(t, s, "export", "-q", "-o", out, x.imgs.index); r.code != 0 || r.stdout != "" {
		t.Fatalf("export: %s", r)
	}
	noTemp(t, out)
	dest := filepath.Join(s.dir, "rootfs")
	if err := untarFile(context.Background(), out, dest); err != nil {
		t.Fatal(err)
	}
	sameTree(t, dest, images.RulesExpected(hostArch, true), x.known(true))
	sameMtimes(t, dest, images.RulesMtimes(true), x.known(true))
}

// --include keeps the paths asked for, what is below them and their
// parent directories, with their own metadata.
func exportInclude(t *testing.T, x *exporter) {
	s := x.b.sandbox(t)
	dest := filepath.Join(s.dir, "rootfs")
	include := []string{"/etc/passwd", "/links", "/modes/ro/file"}
	args := []string{"export", "-q"}
	for _, p := range include {
		args = append(args, "--include", p)
	}
	if r := x.ocix(t, s, append(args, x.imgs.index, dest)...); r.code != 0 {
		t.Fatalf("export: %s", r)
	}
	want := tree.Manifest{}
	for p, e := range images.RulesExpected(hostArch, true) {
		for _, inc := range include {
			if p == inc || strings.HasPrefix(p, inc+"/") || p == "/" || strings.HasPrefix(inc, p+"/") {
				want[p] = e
			}
		}
	}
	sameTree(t, dest, want, nil)
}

func exportIntoEmptyDir(t *testing.T, x *exporter) {
	s := x.b.sandbox(t)
	dest := filepath.Join(s.dir, "mnt")
	if err := os.Mkdir(dest, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dest, 0o755); err != nil {
		t.Fatal(err)
	}
	if r := x.ocix(t, s, "export", "-q", x.imgs.index, dest); r.code != 0 {
		t.Fatalf("export: %s", r)
	}
	sameTree(t, dest, images.RulesExpected(hostArch, true), x.known(true))
	noTemp(t, dest)
}

// A non-empty DEST is refused, and extracted over with --force.
func exportIntoNonEmptyDir(t *testing.T, x *exporter) {
	s := x.b.sandbox(t)
	dest := filepath.Join(s.dir, "used")
	keep := s.write(t, "used/keep", "mine\n", 0o644)
	if err := os.Chmod(dest, 0o755); err != nil {
		t.Fatal(err)
	}
	before, err := tree.Scan(dest)
	if err != nil {
		t.Fatal(err)
	}
	r := x.ocix(t, s, "export", "-q", x.imgs.index, dest)
	if r.code != 2 || len(lines(r.stderr)) != 1 || !strings.Contains(r.stderr, "not empty") {
		t.Fatalf("want exit 2 and one line saying DEST is not empty\n%s", r)
	}
	if after, err := tree.Scan(dest); err != nil || len(tree.Diff(before, after)) != 0 {
		t.Fatalf("the refused export changed DEST: %v %v", err, tree.Diff(before, after))
	}
	noTemp(t, dest)

	if r := x.ocix(t, s, "export", "-q", "--force", x.imgs.index, dest); r.code != 0 {
		t.Fatalf("export --force: %s", r)
	}
	want := images.RulesExpected(hostArch, true)
	want["/keep"] = before["/keep"]
	sameTree(t, dest, want, x.known(true))
	if readFile(t, keep) != "mine\n" {
		t.Error("--force changed a file the image does not have")
	}
	noTemp(t, dest)
}

// A tar stream to a terminal is refused, as docker export refuses it.
func exportToTerminal(t *testing.T, x *exporter) {
	s := x.b.sandbox(t)
	tty := openTerminal(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd, _, stderr := s.command(ctx, "--backend", x.b.name, "export", "-q", x.imgs.index, "-")
	cmd.Stdout = tty
	err := cmd.Run()
	if code := exitCode(cmd); code != 2 || len(lines(stderr.String())) != 1 || !strings.Contains(stderr.String(), "terminal") {
		t.Fatalf("want exit 2 and one line about the terminal; exit %d (%v): %s", code, err, stderr)
	}
}

// A registry serving a layer whose bytes do not match its digest: exit 1,
// one line naming the problem, nothing at DEST or -o FILE, and a stream
// without its end.
func exportCorruptBlob(t *testing.T, x *exporter) {
	layer := x.imgs.bulkLayer
	f := listenFront(t, x.w, corruptBlob(layer.String(), bulkSize/2))
	ref := f.Addr + "/" + x.imgs.bulkRepo + ":latest"
	s := x.b.sandbox(t)
	dest := filepath.Join(s.dir, "rootfs")
	out := filepath.Join(s.dir, "rootfs.tar")
	for _, args := range [][]string{{ref, dest}, {"-o", out, ref}, {ref, "-"}} {
		r := x.ocix(t, s, append([]string{"export", "-q"}, args...)...)
		if r.code != 1 || len(lines(r.stderr)) != 1 || !strings.HasPrefix(r.stderr, "ocix: ") {
			t.Errorf("export %v: want exit 1 and one line\n%s", args, r)
		}
		t.Log(strings.TrimSpace(r.stderr))
		if !strings.Contains(r.stderr, layer.Hex[:12]) || !strings.Contains(r.stderr, "digest") && !strings.Contains(r.stderr, "checksum") {
			t.Errorf("export %v: the error does not say layer %s failed its digest: %s", args, layer, r.stderr)
		}
		if args[1] == "-" {
			unfinished(t, r.stdout, "data/bulk")
		}
	}
	nothingAt(t, dest)
	nothingAt(t, out)
}

// openTerminal opens a new pseudo-terminal and returns its terminal end.
func openTerminal(t *testing.T) *os.File {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		// Skipped only outside CI: under CI=true a missing terminal fails.
		harness.Require(t, &harness.MissingError{What: "no pseudo-terminal (" + err.Error() + ")", Fix: "mount devpts with /dev/ptmx"})
	}
	t.Cleanup(func() { ptmx.Close() })
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	return tty
}
