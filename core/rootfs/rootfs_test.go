package rootfs

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ocix/ocix/core"
)

// source is a fake export backend: an image is one file, /etc/release,
// holding its digest. Tags resolve through the tags map.
type source struct {
	tags       map[string]string // reference → digest
	noResolve  bool              // answer Resolve with ErrUnsupported
	failExport error
	// exporting, when set, is called in the middle of each export.
	exporting func()

	resolves, exports atomic.Int32
}

func (s *source) Resolve(_ context.Context, req core.ResolveRequest) (core.ResolveResult, error) {
	if s.noResolve {
		return core.ResolveResult{}, core.ErrUnsupported
	}
	s.resolves.Add(1)
	d, ok := s.tags[req.Reference]
	if !ok {
		return core.ResolveResult{}, errors.New("manifest unknown")
	}
	return core.ResolveResult{Digest: d, Platform: req.Platform}, nil
}

func (s *source) Export(_ context.Context, req core.ExportRequest, dest *core.Destination) (core.ExportResult, error) {
	s.exports.Add(1)
	digest := req.Reference
	if d, ok := s.tags[req.Reference]; ok {
		digest = d
	}
	os.MkdirAll(filepath.Join(dest.Dir, "etc"), 0o755)
	os.WriteFile(filepath.Join(dest.Dir, "etc", "release"), []byte(digest), 0o644)
	if s.exporting != nil {
		s.exporting()
	}
	if s.failExport != nil {
		dest.Abort()
		return core.ExportResult{}, s.failExport
	}
	cfg, _ := json.Marshal(map[string]any{"config": map[string]any{"Cmd": []string{"sh"}}, "digest": digest})
	return core.ExportResult{Digest: digest, Config: cfg, Platform: req.Platform, Bytes: int64(len(digest)), Entries: 3},
		dest.Commit()
}

const (
	digestA = "sha256:aaaa"
	digestB = "sha256:bbbb"
)

func newSource() *source {
	return &source{tags: map[string]string{"1": digestA, "2": digestB}}
}

func request(tag string) *core.RunRequest {
	return &core.RunRequest{
		Image: "registry.test/run/busybox:" + tag, Repository: "run/busybox", Reference: tag,
		Platform: core.Platform{OS: "linux", Architecture: "amd64"},
	}
}

// newCache is a cache in a temporary directory whose views are copies,
// so that tests need no root.
func newCache(t *testing.T, src Source, pull Policy) *Cache {
	t.Helper()
	return New(Options{Dir: t.TempDir(), Source: src, Pull: pull, Copy: true})
}

func prepare(t *testing.T, c *Cache, req *core.RunRequest) func() {
	t.Helper()
	release, err := c.Prepare(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return release
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// names lists dir's entries.
func names(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		out = append(out, de.Name())
	}
	return out
}

func TestWarmRunResolvesOnceAndDoesNotExport(t *testing.T) {
	src := newSource()
	c := newCache(t, src, PullAlways)
	for i := range 2 {
		req := request("1")
		release := prepare(t, c, req)
		if got := read(t, filepath.Join(req.Rootfs, "etc", "release")); got != digestA {
			t.Fatalf("run %d sees %q", i, got)
		}
		if !strings.Contains(string(req.ImageConfig), `"Cmd":["sh"]`) || req.ScratchDir == "" {
			t.Fatalf("config %s, scratch %q", req.ImageConfig, req.ScratchDir)
		}
		release()
		if _, err := os.Stat(req.Rootfs); !os.IsNotExist(err) {
			t.Fatalf("the view outlived its run: %v", err)
		}
	}
	if r, e := src.resolves.Load(), src.exports.Load(); r != 2 || e != 1 {
		t.Fatalf("%d resolves and %d exports, want 2 and 1", r, e)
	}
	if got := names(t, filepath.Join(c.store.dir, runsDir)); len(got) != 0 {
		t.Fatalf("runs left: %v", got)
	}
}

func TestTheViewIsPrivateToItsRun(t *testing.T) {
	c := newCache(t, newSource(), PullAlways)
	a, b := request("1"), request("1")
	defer prepare(t, c, a)()
	defer prepare(t, c, b)()
	os.WriteFile(filepath.Join(a.Rootfs, "etc", "release"), []byte("changed"), 0o644)
	if got := read(t, filepath.Join(b.Rootfs, "etc", "release")); got != digestA {
		t.Fatalf("another run's write shows: %q", got)
	}
	e, _ := c.store.open(context.Background(), digestA)
	defer e.release()
	if got := read(t, filepath.Join(e.rootfs(), "etc", "release")); got != digestA {
		t.Fatalf("a run's write reached the cache: %q", got)
	}
}

func TestPullPolicies(t *testing.T) {
	src := newSource()
	dir := t.TempDir()
	cache := func(p Policy) *Cache { return New(Options{Dir: dir, Source: src, Pull: p, Copy: true}) }

	_, err := cache(PullNever).Prepare(context.Background(), request("1"))
	var usage *core.UsageError
	if !errors.As(err, &usage) || !strings.Contains(err.Error(), "--pull never") {
		t.Fatalf("never, cold: %v", err)
	}
	if src.resolves.Load() != 0 {
		t.Fatal("--pull never asked the registry")
	}
	prepare(t, cache(PullMissing), request("1"))()
	prepare(t, cache(PullMissing), request("1"))()
	prepare(t, cache(PullNever), request("1"))()
	if r, e := src.resolves.Load(), src.exports.Load(); r != 1 || e != 1 {
		t.Fatalf("%d resolves and %d exports, want 1 and 1", r, e)
	}
	// The tag moves: always sees it, never keeps what it knew.
	src.tags["1"] = digestB
	req := request("1")
	defer prepare(t, cache(PullNever), req)()
	if got := read(t, filepath.Join(req.Rootfs, "etc", "release")); got != digestA {
		t.Fatalf("never: %q", got)
	}
	req = request("1")
	defer prepare(t, cache(PullAlways), req)()
	if got := read(t, filepath.Join(req.Rootfs, "etc", "release")); got != digestB {
		t.Fatalf("always: %q", got)
	}
}

func TestConcurrentRunsExportOnce(t *testing.T) {
	src := newSource()
	// The first export waits, so the others find the fill under way.
	started := make(chan struct{})
	var once sync.Once
	src.exporting = func() {
		once.Do(func() { close(started) })
		time.Sleep(100 * time.Millisecond)
	}
	c := newCache(t, src, PullAlways)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			req := request("1")
			release, err := c.Prepare(context.Background(), req)
			if err == nil {
				if got, _ := os.ReadFile(filepath.Join(req.Rootfs, "etc", "release")); string(got) != digestA {
					err = errors.New("wrong tree: " + string(got))
				}
				release()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if e := src.exports.Load(); e != 1 {
		t.Fatalf("%d exports, want 1", e)
	}
	if got := names(t, c.store.images()); strings.Join(got, " ") != "refs sha256-aaaa sha256-aaaa.lock" {
		t.Fatalf("cache holds %v", got)
	}
}

func TestAFailedFillLeavesNothing(t *testing.T) {
	src := newSource()
	src.failExport = errors.New("blob unknown")
	c := newCache(t, src, PullAlways)
	if _, err := c.Prepare(context.Background(), request("1")); err == nil || !strings.Contains(err.Error(), "blob unknown") {
		t.Fatalf("err %v", err)
	}
	for _, n := range names(t, c.store.images()) {
		if !strings.HasSuffix(n, ".lock") {
			t.Fatalf("left in the cache: %s", n)
		}
	}
	if got := names(t, filepath.Join(c.store.dir, runsDir)); len(got) != 0 {
		t.Fatalf("runs left: %v", got)
	}
}

// An ocix killed in the middle of a fill leaves a fill directory whose
// lock no one holds: it is no image, and the next ocix removes it.
func TestAFillCutShortIsNeverSeenAndIsSwept(t *testing.T) {
	src := newSource()
	c := newCache(t, src, PullAlways)
	dead, err := newOwnedDir(c.store.images(), fillPrefix+"*")
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dead.path, treeDir, "etc"), 0o755)
	dead.release() // the ocix died: the kernel dropped its lock
	if imgs, _ := c.List(); len(imgs) != 0 {
		t.Fatalf("a fill shows as an image: %+v", imgs)
	}
	prepare(t, c, request("1"))()
	if _, err := os.Stat(dead.path); !os.IsNotExist(err) {
		t.Fatalf("the dead fill is still there: %v", err)
	}
	// A fill whose owner lives is left alone.
	live, err := newOwnedDir(c.store.images(), fillPrefix+"*")
	if err != nil {
		t.Fatal(err)
	}
	defer live.release()
	prepare(t, c, request("1"))()
	if _, err := os.Stat(live.path); err != nil {
		t.Fatalf("a live fill was swept: %v", err)
	}
}

func TestABackendThatCannotResolveExportsByReference(t *testing.T) {
	src := newSource()
	src.noResolve = true
	c := newCache(t, src, PullAlways)
	prepare(t, c, request("1"))()
	prepare(t, c, request("1"))()
	if e := src.exports.Load(); e != 2 {
		t.Fatalf("%d exports, want one per run", e)
	}
	imgs, err := c.List()
	if err != nil || len(imgs) != 1 || imgs[0].Digest != digestA {
		t.Fatalf("images %+v, %v", imgs, err)
	}
}

func TestListAndPrune(t *testing.T) {
	c := newCache(t, newSource(), PullAlways)
	prepare(t, c, request("1"))()
	busy := request("2")
	release := prepare(t, c, busy)
	imgs, err := c.List()
	if err != nil || len(imgs) != 2 {
		t.Fatalf("images %+v, %v", imgs, err)
	}
	if imgs[0].Digest != digestB || !imgs[0].InUse || imgs[1].InUse {
		t.Fatalf("want the image in use first: %+v", imgs)
	}
	if imgs[1].Images[0] != "registry.test/run/busybox:1" || imgs[1].Size != int64(len(digestA)) || imgs[1].Platform != "linux/amd64" {
		t.Fatalf("image %+v", imgs[1])
	}
	p, err := c.Prune(context.Background())
	if err != nil || len(p.Removed) != 1 || p.Removed[0].Digest != digestA || len(p.InUse) != 1 {
		t.Fatalf("prune %+v, %v", p, err)
	}
	if got := read(t, filepath.Join(busy.Rootfs, "etc", "release")); got != digestB {
		t.Fatalf("the run in use lost its view: %q", got)
	}
	release()
	if _, err := c.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := names(t, c.store.images()); strings.Join(got, " ") != "refs" {
		t.Fatalf("after prune the cache holds %v", got)
	}
	if _, ok := c.store.lookupRef("registry.test/run/busybox:1", "linux/amd64"); ok {
		t.Fatal("a pruned image's record remains")
	}
}

func TestKeptRunsStayUntilPruned(t *testing.T) {
	c := newCache(t, newSource(), PullAlways)
	req := request("1")
	release := prepare(t, c, req)
	req.Keep = true
	release()
	prepare(t, c, request("1"))() // sweeps, but not kept runs
	if _, err := os.Stat(req.Rootfs); err != nil {
		t.Fatalf("the kept run is gone: %v", err)
	}
	p, err := c.Prune(context.Background())
	if err != nil || len(p.Runs) != 1 {
		t.Fatalf("prune %+v, %v", p, err)
	}
	if _, err := os.Stat(req.Rootfs); !os.IsNotExist(err) {
		t.Fatal("prune left the kept run")
	}
}

func TestUnpackMakesALastingCopy(t *testing.T) {
	c := newCache(t, newSource(), PullAlways)
	req := request("1")
	dir := filepath.Join(t.TempDir(), "bundle-rootfs")
	if err := c.Unpack(context.Background(), req, dir); err != nil {
		t.Fatal(err)
	}
	if req.Rootfs != dir || len(req.ImageConfig) == 0 {
		t.Fatalf("request %+v", req)
	}
	if got := read(t, filepath.Join(dir, "etc", "release")); got != digestA {
		t.Fatalf("copy holds %q", got)
	}
	if imgs, _ := c.List(); len(imgs) != 1 || imgs[0].InUse {
		t.Fatalf("images %+v", imgs)
	}
}

func TestParsePolicy(t *testing.T) {
	for in, want := range map[string]Policy{"": PullAlways, "always": PullAlways, "missing": PullMissing, "never": PullNever} {
		if got, err := ParsePolicy(in); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	if _, err := ParsePolicy("sometimes"); err == nil {
		t.Error("sometimes accepted")
	}
}
