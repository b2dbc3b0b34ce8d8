//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ocix/ocix/e2e/harness"
	"github.com/ocix/ocix/e2e/images"
)

// The runc backend needs no daemon: root, and Debian's runc. Its
// containers live in runc's state directory ocix uses by default.
const runcRoot = "/run/ocix-runc"

func init() {
	register(&backend{name: "runc", jobs: []string{"run"}, start: needRunc, containers: runcContainers})
}

// needRunc checks what the runc backend needs; there is nothing to start.
func needRunc(*world) ([]string, error) { return nil, runcMissing() }

// runcMissing says what the runc backend lacks here, or nil.
func runcMissing() error {
	if _, err := exec.LookPath("runc"); err != nil {
		return &harness.MissingError{What: "runc not found", Fix: "install runc"}
	}
	if os.Geteuid() != 0 {
		return &harness.MissingError{What: "the runc backend needs root", Fix: "run the e2e tests as root"}
	}
	return nil
}

// runcContainers lists ocix's containers in runc's state directory.
func runcContainers(t *testing.T, _ []string) []string {
	t.Helper()
	return runcList(t, runcRoot)
}

func runcList(t *testing.T, root string) []string {
	t.Helper()
	out, err := exec.Command("runc", "--root", root, "list", "-q").Output()
	if err != nil {
		t.Fatalf("runc list: %v", err)
	}
	return slices.DeleteFunc(lines(string(out)), func(id string) bool { return !strings.HasPrefix(id, "ocix-") })
}

// cachedImages lists the image directories in the sandbox's cache, and
// fills under way or cut short.
func (s *sandbox) cachedImages() (images, fills []string) {
	all, _ := filepath.Glob(filepath.Join(s.cacheDir(), "rootfs", "*"))
	for _, p := range all {
		switch name := filepath.Base(p); {
		case strings.HasPrefix(name, ".fill-"):
			fills = append(fills, name)
		case strings.HasPrefix(name, "sha256-") && !strings.HasSuffix(name, ".lock"):
			images = append(images, name)
		}
	}
	return images, fills
}

// runc runs `ocix --backend runc run --network none FLAGS IMAGE -- CMD…`.
func runcRun(t *testing.T, s *sandbox, image string, flags []string, cmd ...string) result {
	t.Helper()
	args := append([]string{"--backend", "runc", "run", "--network", "none"}, flags...)
	args = append(append(args, image, "--"), cmd...)
	return s.ocix(t, args...)
}

// runcSandbox is a sandbox for the runc backend with nothing left behind
// checked at the end.
func runcSandbox(t *testing.T) *sandbox {
	t.Helper()
	var b *backend
	for _, c := range backendsFor("run") {
		if c.name == "runc" {
			b = c
		}
	}
	s := b.sandbox(t)
	t.Cleanup(func() {
		if left := runcContainers(t, nil); len(left) != 0 {
			t.Errorf("containers left behind: %v", left)
		}
		if dirs := s.runDirs(); len(dirs) != 0 {
			t.Errorf("run directories left behind: %v", dirs)
		}
	})
	return s
}

func TestRuncBinaryIsHonoured(t *testing.T) {
	s := runcSandbox(t)
	ref := runnable(t)
	real, err := exec.LookPath("runc")
	if err != nil {
		t.Fatal(err)
	}
	calls := filepath.Join(s.dir, "calls")
	wrapper := s.write(t, "bin/runc-wrapper", fmt.Sprintf("#!/bin/sh\necho \"$*\" >> %s\nexec %s \"$@\"\n", calls, real), 0o755)
	s.set("OCIX_RUNC_BINARY=" + wrapper)
	res := runcRun(t, s, ref, nil, "echo", "through the wrapper")
	if res.code != 0 || res.stdout != "through the wrapper\n" {
		t.Fatalf("%s", res)
	}
	got := readFile(t, calls)
	if !strings.Contains(got, " run --detach ") || !strings.Contains(got, " delete --force ") {
		t.Fatalf("the wrapper recorded:\n%s", got)
	}
}

func TestRuncRootIsHonoured(t *testing.T) {
	s := runcSandbox(t)
	root := filepath.Join(s.dir, "runc-root")
	s.set("OCIX_RUNC_ROOT=" + root)
	res := runcRun(t, s, runnable(t), []string{"--keep"}, "true")
	if res.code != 0 || !strings.Contains(res.stderr, "kept container ocix-") {
		t.Fatalf("%s", res)
	}
	kept := runcList(t, root)
	if len(kept) != 1 {
		t.Fatalf("runc --root %s lists %v, want the kept container", root, kept)
	}
	if out, err := exec.Command("runc", "--root", root, "delete", kept[0]).CombinedOutput(); err != nil {
		t.Fatalf("runc delete: %v: %s", err, out)
	}
	if res := s.ocix(t, "cache", "prune"); res.code != 0 || !strings.Contains(res.stdout, "removed run ") {
		t.Fatalf("prune: %s", res)
	}
}

func TestRuncPsSeesOnlyTheContainer(t *testing.T) {
	s := runcSandbox(t)
	res := runcRun(t, s, runnable(t), nil, "sh", "-c", "ps -o pid,args; true")
	procs := lines(res.stdout)[1:] // below the header
	if res.code != 0 || len(procs) != 2 || !strings.HasPrefix(strings.TrimSpace(procs[0]), "1 ") {
		t.Fatalf("want sh as pid 1 and ps, nothing else\n%s", res)
	}
}

func TestBundleWritesARunnableBundle(t *testing.T) {
	s := runcSandbox(t)
	dir := filepath.Join(s.dir, "demo")
	res := s.ocix(t, "--backend", "runc", "bundle", "--hostname", "bundled", "-e", "WHO=bundle", runnable(t), dir,
		"--", "sh", "-c", `echo "hello from the $WHO as $(id -u) on $(hostname) in $(pwd)"`)
	out := lines(res.stdout)
	if res.code != 0 || len(out) != 2 || out[0] != dir || !strings.HasPrefix(out[1], "runc run --bundle "+dir+" ocix-") {
		t.Fatalf("want DIR and the runc command\n%s", res)
	}
	if _, err := os.Stat(filepath.Join(dir, "rootfs", "bin", "busybox")); err != nil {
		t.Fatalf("no root filesystem: %v", err)
	}
	var cfg struct {
		Root    struct{ Path string }
		Process struct{ Args []string }
	}
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dir, "config.json"))), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Root.Path != "rootfs" || len(cfg.Process.Args) != 3 {
		t.Fatalf("config.json: %+v", cfg)
	}
	// The command as a user types it; runc's own state directory, which
	// runc run leaves clean.
	run := exec.Command("sh", "-c", out[1])
	run.Stdin = nil
	got, err := run.Output()
	want := fmt.Sprintf("hello from the bundle as %d on bundled in %s\n", images.UID, images.RunnableConfig.WorkingDir)
	if err != nil || string(got) != want {
		t.Fatalf("%s: %v\ngot  %q\nwant %q", out[1], err, got, want)
	}
	if res := s.ocix(t, "--backend", "runc", "bundle", runnable(t), dir); res.code != 2 {
		t.Fatalf("a second bundle into a full DIR: %s", res)
	}
}

// counter is a transparent proxy in front of the v3 registry that records
// every request, and can hold blob downloads.
type counter struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string
	// hold, when set, holds every blob GET until it is closed; held is
	// sent on at the first.
	hold chan struct{}
	held chan struct{}
	once sync.Once
}

func newCounter(t *testing.T, w *world) *counter {
	t.Helper()
	c := &counter{}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: w.v3.Host})
	c.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.requests = append(c.requests, r.Method+" "+r.URL.Path)
		hold := c.hold
		c.mu.Unlock()
		if hold != nil && r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			c.once.Do(func() { close(c.held) })
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		}
		proxy.ServeHTTP(rw, r)
	}))
	t.Cleanup(c.Close)
	return c
}

// ref is the runnable image through the proxy.
func (c *counter) ref(t *testing.T) string {
	return strings.Replace(runnable(t), need(t).v3.Host, strings.TrimPrefix(c.URL, "http://"), 1)
}

// take returns the requests recorded since the last take.
func (c *counter) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.requests
	c.requests = nil
	return r
}

func TestRuncCacheMakesWarmRunsCheap(t *testing.T) {
	s := runcSandbox(t)
	c := newCounter(t, need(t))
	ref := c.ref(t)
	greet := []string{"sh", "-c", `echo "$GREETING"`}
	res := runcRun(t, s, ref, nil, greet...)
	cold := c.take()
	if res.code != 0 || res.stdout != "hello from the image\n" {
		t.Fatalf("cold: %s", res)
	}
	if !slices.ContainsFunc(cold, func(r string) bool { return strings.Contains(r, "/blobs/") }) {
		t.Fatalf("the cold run fetched no blob: %v", cold)
	}

	res = runcRun(t, s, ref, []string{"--debug"}, greet...)
	warm := c.take()
	if res.code != 0 || res.stdout != "hello from the image\n" {
		t.Fatalf("warm: %s", res)
	}
	if len(warm) != 1 || warm[0] != "GET /v2/run/busybox/manifests/1" {
		t.Fatalf("the warm run made %d requests, want the one that resolves the tag: %v", len(warm), warm)
	}
	if strings.Contains(res.stderr, "rootfs cache: exporting") || !strings.Contains(res.stderr, "rootfs cache: hit") {
		t.Fatalf("the warm run exported again:\n%s", res.stderr)
	}

	res = runcRun(t, s, ref, []string{"--pull", "never"}, greet...)
	if never := c.take(); res.code != 0 || len(never) != 0 {
		t.Fatalf("--pull never made requests %v\n%s", never, res)
	}

	var ls []struct {
		Digest string
		Images []string
		Size   int64
	}
	res = s.ocix(t, "--format", "json", "cache", "ls")
	if err := json.Unmarshal([]byte(res.stdout), &ls); err != nil || len(ls) != 1 {
		t.Fatalf("cache ls: %v\n%s", err, res)
	}
	if !strings.HasPrefix(ls[0].Digest, "sha256:") || !slices.Contains(ls[0].Images, ref) || ls[0].Size == 0 {
		t.Fatalf("cache ls: %+v", ls[0])
	}
	if res := s.ocix(t, "cache", "prune"); res.code != 0 || !strings.Contains(res.stdout, "removed "+ls[0].Digest) {
		t.Fatalf("prune: %s", res)
	}
	if res := s.ocix(t, "cache", "ls"); res.code != 0 || res.stdout != "" {
		t.Fatalf("cache ls after prune: %s", res)
	}
	if res := runcRun(t, s, ref, []string{"--pull", "never"}, "true"); res.code != 2 || !strings.Contains(res.stderr, "--pull never") {
		t.Fatalf("--pull never of a pruned image: %s", res)
	}
}

// Any export backend fills the cache; crane resolves too, so its warm
// runs export nothing either.
func TestRuncRootfsFromCrane(t *testing.T) {
	s := runcSandbox(t)
	c := newCounter(t, need(t))
	ref := c.ref(t)
	for i, want := range []string{"rootfs cache: exporting", "rootfs cache: hit"} {
		res := runcRun(t, s, ref, []string{"--debug", "--rootfs-from", "crane"}, "echo", "from crane")
		if res.code != 0 || res.stdout != "from crane\n" || !strings.Contains(res.stderr, want) {
			t.Fatalf("run %d: want %q in the debug log\n%s", i+1, want, res)
		}
		if blobs := slices.ContainsFunc(c.take(), func(r string) bool { return strings.Contains(r, "/blobs/") }); blobs != (i == 0) {
			t.Fatalf("run %d fetched blobs: %v", i+1, blobs)
		}
	}
}
