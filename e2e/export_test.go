//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/ocix/ocix/core/tree"
	"github.com/ocix/ocix/e2e/front"
	"github.com/ocix/ocix/e2e/harness"
	"github.com/ocix/ocix/e2e/images"
)

// hostArch is the architecture an export picks from an index by default.
const hostArch = runtime.GOARCH

// bulkSize is the size of the bulk image's one file: large enough that a
// stalled or corrupted blob is cut in the middle of its content.
const bulkSize = 8 << 20

// rulesSet is where the rules images are, in the shared v3 registry.
type rulesSet struct {
	index, single, schema2, mixed, noQuirk, bulk string // references
	// digests are the index's manifest digests by architecture.
	digests map[string]string
	// bulkRepo is the bulk image's repository, to reach it through a front.
	bulkRepo string
	// bulkLayer is the digest of the bulk image's one layer.
	bulkLayer v1.Hash
}

var (
	rulesOnce   sync.Once
	rulesPushed *rulesSet
	rulesErr    error
)

// rulesImages pushes the rules images once, for every test that needs them.
func rulesImages(t *testing.T) (*world, *rulesSet) {
	t.Helper()
	w := need(t)
	rulesOnce.Do(func() { rulesPushed, rulesErr = pushRules(w) })
	if rulesErr != nil {
		t.Fatal(rulesErr)
	}
	return w, rulesPushed
}

func pushRules(w *world) (*rulesSet, error) {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	repo := func(name string) images.Repository { return images.Repository{Host: w.v3.Host, Name: "rules/" + name} }
	set := &rulesSet{digests: map[string]string{}, bulkRepo: repo("bulk").Name}

	idx, err := images.RulesIndex()
	if err != nil {
		return nil, err
	}
	if err := images.PushIndex(ctx, repo("index"), "latest", idx); err != nil {
		return nil, err
	}
	set.index = repo("index").Ref("latest")
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, m := range im.Manifests {
		set.digests[m.Platform.Architecture] = m.Digest.String()
	}

	bulk, err := images.Bulk(bulkSize)
	if err != nil {
		return nil, err
	}
	layers, err := bulk.Layers()
	if err != nil {
		return nil, err
	}
	if set.bulkLayer, err = layers[0].Digest(); err != nil {
		return nil, err
	}
	for _, p := range []struct {
		ref   *string
		name  string
		image func(string) (v1.Image, error)
	}{
		{&set.single, "single", images.Rules},
		{&set.schema2, "schema2", images.RulesSchema2},
		{&set.mixed, "mixed", images.RulesMixed},
		{&set.noQuirk, "noquirk", images.RulesWithoutQuirk},
		{&set.bulk, "bulk", func(string) (v1.Image, error) { return bulk, nil }},
	} {
		img, err := p.image(hostArch)
		if err != nil {
			return nil, err
		}
		if err := images.Push(ctx, repo(p.name), "latest", img); err != nil {
			return nil, err
		}
		*p.ref = repo(p.name).Ref("latest")
	}
	return set, nil
}

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
	{"interrupt", exportInterrupted},
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

// SIGINT while a layer is half fetched: exit 130 within 2 s, no DEST, no
// temporary directory beside it, no plugin left.
func exportInterrupted(t *testing.T, x *exporter) {
	stalled, release := make(chan struct{}), make(chan struct{})
	f := listenFront(t, x.w, stallBlob(x.imgs.bulkLayer.String(), 1<<20, stalled, release))
	t.Cleanup(func() { close(release) }) // before the front closes: cleanups run last first
	s := x.b.sandbox(t)
	dest := filepath.Join(s.dir, "rootfs")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd, _, stderr := s.command(ctx, "--backend", x.b.name, "export", "-q", f.Addr+"/"+x.imgs.bulkRepo+":latest", dest)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-stalled:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the export never fetched the layer: %s", stderr)
	}
	// Let the first MiB reach the temporary tree.
	time.Sleep(300 * time.Millisecond)
	if temps, _ := filepath.Glob(filepath.Join(s.dir, ".rootfs.ocix-*")); len(temps) == 0 {
		t.Errorf("no temporary directory beside DEST while the export runs")
	}
	if partial, _ := filepath.Glob(filepath.Join(s.dir, ".rootfs.ocix-*", "*", "data", "bulk")); len(partial) == 1 {
		if st, err := os.Stat(partial[0]); err == nil {
			t.Logf("%d of %d bytes of /data/bulk written when interrupted", st.Size(), bulkSize)
		}
	}
	plugins := childPids(cmd.Process.Pid)
	if len(plugins) == 0 {
		t.Errorf("no plugin process under ocix %d", cmd.Process.Pid)
	}
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("ocix took %v to exit", took)
	}
	if code := exitCode(cmd); code != 130 || len(lines(stderr.String())) != 1 {
		t.Errorf("want exit 130 and one line; exit %d: %s", code, stderr)
	}
	t.Log(strings.TrimSpace(stderr.String()))
	for _, pid := range plugins {
		waitGone(t, pid, time.Second)
	}
	nothingAt(t, dest)
	if dirs := s.socketDirs(); len(dirs) != 0 {
		t.Errorf("socket directories left: %v", dirs)
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
			unfinished(t, r.stdout)
		}
	}
	nothingAt(t, dest)
	nothingAt(t, out)
}

// unfinished checks that a failed export's stream lacks the two zero
// blocks that end a tar. GNU tar 1.34 takes such a stream as complete
// when it ends between entries, so only ocix's exit status tells.
func unfinished(t *testing.T, stream string) {
	t.Helper()
	if end := stream[max(0, len(stream)-1024):]; len(end) == 1024 && strings.Count(end, "\x00") == 1024 {
		t.Errorf("the failed export's stream (%d bytes) ends as a complete tar", len(stream))
	}
	cmd := exec.Command("tar", "-t", "-f", "-")
	cmd.Stdin = strings.NewReader(stream)
	out, err := cmd.CombinedOutput()
	t.Logf("tar -t on the %d-byte stream: %v: %q", len(stream), err, out)
}

// sameTree checks that root holds want exactly, except where known says it
// differs — which it must, so that a fixed or a newly broken backend is
// noticed. A known entry is a path, which may differ only in content, size
// and hard links (crane's #2002), or "path field", one exact difference
// (an engine's additions, as engineAdditions records them).
func sameTree(t *testing.T, root string, want tree.Manifest, known []string) {
	t.Helper()
	got, err := tree.Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	var unexpected, seen []string
	differs := map[string]bool{}
	for _, d := range tree.Diff(want, got) {
		exact := d.Path + " " + d.Field
		switch {
		case slices.Contains(known, exact):
			differs[exact] = true
		case slices.Contains(known, d.Path) && slices.Contains([]string{"content", "size", "links"}, d.Field):
			differs[d.Path] = true
		default:
			unexpected = append(unexpected, d.String())
			continue
		}
		seen = append(seen, exact)
	}
	if len(seen) > 0 {
		t.Logf("known differences: %s", strings.Join(seen, ", "))
	}
	if len(unexpected) > 0 {
		t.Errorf("the tree differs from the expected one (expected ≠ exported):\n%s", strings.Join(unexpected, "\n"))
	}
	for _, p := range known {
		if !differs[p] {
			t.Errorf("%s no longer differs from the expected tree: the recorded difference must go", p)
		}
	}
}

// sameMtimes checks the mtimes of some paths, except those known to
// differ.
func sameMtimes(t *testing.T, root string, want map[string]time.Time, known []string) {
	t.Helper()
	for p, mtime := range want {
		if slices.Contains(known, p) {
			continue
		}
		st, err := os.Lstat(filepath.Join(root, p))
		if err != nil {
			t.Errorf("%s: %v", p, err)
		} else if !st.ModTime().Equal(mtime) {
			t.Errorf("%s: mtime %s, want %s", p, st.ModTime().UTC(), mtime)
		}
	}
}

// noTemp checks that ocix left no temporary file or directory beside
// path: NAME.ocix-* (a tar being written) or .NAME.ocix-* (its own
// directory).
func noTemp(t *testing.T, path string) {
	t.Helper()
	dir, base := filepath.Split(path)
	for _, pattern := range []string{base + ".ocix-*", "." + base + ".ocix-*"} {
		if left, _ := filepath.Glob(filepath.Join(dir, pattern)); len(left) > 0 {
			t.Errorf("temporary files left: %v", left)
		}
	}
}

// nothingAt checks that a failed export left nothing at path or beside it.
func nothingAt(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s exists after a failed export (%v)", path, err)
	}
	noTemp(t, path)
}

// exitCode is a finished command's exit code, 128+N when killed by
// signal N, as a shell reports it.
func exitCode(cmd *exec.Cmd) int {
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return cmd.ProcessState.ExitCode()
}

// childPids lists the processes whose parent is pid.
func childPids(pid int) []int {
	var kids []int
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		s := string(b)
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			child, _ := strconv.Atoi(strings.Fields(s)[0])
			kids = append(kids, child)
		}
	}
	return kids
}

// openTerminal opens a new pseudo-terminal and returns its terminal end.
func openTerminal(t *testing.T) *os.File {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
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

// listenFront starts a front over the v3 registry with rules, without the
// tag-list throttle, closed when the test ends.
func listenFront(t *testing.T, w *world, rules ...front.Rule) *front.Server {
	t.Helper()
	f, err := front.Listen("127.0.0.1:0", front.Options{Upstream: w.v3.Host, NoThrottle: true, Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// isBlobGet reports whether r fetches the blob digest.
func isBlobGet(r *http.Request, digest string) bool {
	route := front.RouteOf(r)
	return r.Method == http.MethodGet && route.Kind == front.KindBlob && route.Reference == digest
}

// stallBlob lets the first after bytes of blob digest through, then holds
// the response until the client goes away or release is closed. stalled
// is closed when a response first stalls.
func stallBlob(digest string, after int64, stalled chan<- struct{}, release <-chan struct{}) front.Rule {
	var once sync.Once
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if !isBlobGet(r, digest) {
			next.ServeHTTP(w, r)
			return
		}
		hold := func() {
			once.Do(func() { close(stalled) })
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}
		next.ServeHTTP(&stallWriter{ResponseWriter: w, left: after, hold: hold}, r)
	}
}

var errStalled = errors.New("stalled by the test")

// stallWriter passes left bytes, flushes them, then holds and fails.
type stallWriter struct {
	http.ResponseWriter
	left int64
	hold func()
	done bool
}

func (s *stallWriter) Write(p []byte) (int, error) {
	if s.done {
		return 0, errStalled
	}
	if int64(len(p)) <= s.left {
		s.left -= int64(len(p))
		return s.ResponseWriter.Write(p)
	}
	n, _ := s.ResponseWriter.Write(p[:s.left])
	_ = http.NewResponseController(s.ResponseWriter).Flush()
	s.done = true
	s.hold()
	return n, errStalled
}

func (s *stallWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// corruptBlob inverts the byte at offset at of blob digest in flight: the
// registry serves the right number of bytes, which do not match their
// digest.
func corruptBlob(digest string, at int64) front.Rule {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if !isBlobGet(r, digest) {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(&flipWriter{ResponseWriter: w, off: rangeStart(r), at: at}, r)
	}
}

// rangeStart is where a "Range: bytes=N-" request starts; 0 for none.
func rangeStart(r *http.Request) int64 {
	spec, ok := strings.CutPrefix(r.Header.Get("Range"), "bytes=")
	if !ok {
		return 0
	}
	first, _, _ := strings.Cut(spec, "-")
	n, _ := strconv.ParseInt(first, 10, 64)
	return n
}

// flipWriter inverts the byte at offset at of a body starting at off.
type flipWriter struct {
	http.ResponseWriter
	off, at int64
}

func (f *flipWriter) Write(p []byte) (int, error) {
	if f.at >= f.off && f.at < f.off+int64(len(p)) {
		p = bytes.Clone(p)
		p[f.at-f.off] ^= 0xff
	}
	f.off += int64(len(p))
	return f.ResponseWriter.Write(p)
}

func (f *flipWriter) Unwrap() http.ResponseWriter { return f.ResponseWriter }

// engineAdditions lists, per engine, every way its export of the rules
// image differs from the expected tree, as "path field" in path order:
// what dockerd 20.10 and podman 4.3 were seen to do.
var engineAdditions = map[string][]string{
	"docker": {
		// The container's init layer, even for a container never
		// started: empty files (mode 0755) that docker bind-mounts over
		// at run time, the mount points of /dev, /proc and /sys, and
		// /etc/mtab -> /proc/mounts.
		"/.dockerenv presence",
		"/dev presence",
		"/dev/console presence",
		"/dev/pts presence",
		"/dev/shm presence",
		"/etc/hostname presence",
		"/etc/hosts presence",
		"/etc/mtab presence",
		"/etc/resolv.conf presence",
		"/proc presence",
		"/sys presence",
		// docker export's tar carries only security.capability of the
		// xattrs (it has /xattrs/cap's): the user.* ones are lost.
		"/xattrs/dir xattrs",
		"/xattrs/file xattrs",
	},
	// podman adds nothing to a created container's export: it makes
	// /etc/hosts, /etc/resolv.conf and the mount points only when it
	// starts one, and keeps every xattr.
	"podman": nil,
}

// The baselines: docker and podman export the rules image as a correct
// export does, apart from what they add themselves. This is the proof
// that the expected tree is right.
func TestExportBaselines(t *testing.T) {
	w, imgs := rulesImages(t)
	for _, tc := range []struct {
		name  string
		start func(context.Context) (engine, error)
	}{
		{"docker", func(ctx context.Context) (engine, error) {
			d, err := w.h.StartDocker(ctx)
			if err != nil {
				return engine{}, err
			}
			t.Cleanup(func() { d.Close() })
			return engine{name: "docker", cli: []string{"docker"}, env: d.Env()}, nil
		}},
		{"podman", func(ctx context.Context) (engine, error) {
			p, err := w.h.StartPodman(ctx)
			if err != nil {
				return engine{}, err
			}
			t.Cleanup(func() { p.Close() })
			return engine{name: "podman", cli: []string{"podman", "--remote"}, env: p.Env()}, nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			e, err := tc.start(ctx)
			harness.Require(t, err)
			checkBaseline(ctx, t, e, imgs.single, engineAdditions[e.name])
		})
	}
}

// checkBaseline has engine e export ref by hand (pull, create, export,
// rm) and checks the tree is the rules image's expected one, apart from
// additions, and keeps its mtimes.
func checkBaseline(ctx context.Context, t *testing.T, e engine, ref string, additions []string) {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "export.tar")
	if err := e.export(ctx, ref, out); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "rootfs")
	if err := untarFile(ctx, out, root); err != nil {
		t.Fatal(err)
	}
	got, err := tree.Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	var diffs, all []string
	for _, d := range tree.Diff(images.RulesExpected(hostArch, true), got) {
		diffs = append(diffs, d.Path+" "+d.Field)
		all = append(all, d.String())
	}
	if !slices.Equal(diffs, additions) {
		t.Errorf("%s differs from the expected tree in %q, recorded %q:\n%s", e.name, diffs, additions, strings.Join(all, "\n"))
	}
	sameMtimes(t, root, images.RulesMtimes(true), nil)
}
