package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/core/coretest"
	"github.com/ocix/ocix/core/rootfs"
)

func TestBundlePrintsTheDirAndTheCommand(t *testing.T) {
	fo := newFake(t)
	var got core.BundleRequest
	fo.loader.Backends["rt"] = &coretest.Bundler{
		Runner: coretest.Runner{Backend: coretest.Backend{Info: core.Info{
			Name: "rt", Available: true, NeedsRootfs: true, Capabilities: []core.Capability{core.CapRun},
		}}},
		BundleFunc: func(_ context.Context, req core.BundleRequest) (core.BundleResult, error) {
			got = req
			return core.BundleResult{Command: []string{"runc", "run", "--bundle", req.Path, "it's"}},
				os.WriteFile(filepath.Join(req.Dir, "config.json"), []byte("{}"), 0o644)
		},
	}
	fo.rootfs = &coretest.Rootfs{}
	dir := filepath.Join(t.TempDir(), "demo")
	code, out, errOut := fo.run(t, "--backend", "rt", "bundle", "--hostname", "h", "-u", "1000", "busybox", dir, "--", "echo", "hi")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if want := dir + "\nrunc run --bundle " + dir + " 'it'\\''s'\n"; out != want {
		t.Fatalf("out %q, want %q", out, want)
	}
	if got.Run.Hostname != "h" || got.Run.User != "1000" || strings.Join(got.Run.Args, " ") != "echo hi" || got.Run.Stdout != nil {
		t.Fatalf("request %+v", got.Run)
	}
	if _, err := os.Stat(filepath.Join(dir, "rootfs", "etc", "image")); err != nil {
		t.Fatal(err)
	}
	code, out, _ = fo.run(t, "--format", "json", "--backend", "rt", "bundle", "busybox", filepath.Join(t.TempDir(), "b2"))
	var report BundleReport
	if code != 0 || json.Unmarshal([]byte(out), &report) != nil || len(report.Command) != 5 {
		t.Fatalf("exit %d, json %q", code, out)
	}
}

func TestBundleAndRunRefuseBadInput(t *testing.T) {
	fo := newFake(t)
	for _, args := range [][]string{
		{"bundle", "busybox"},
		{"bundle", "busybox", "--", "sh"},
		{"run", "--pull", "sometimes", "busybox"},
		{"bundle", "--pull", "often", "busybox", "dir"},
	} {
		if code, _, errOut := fo.run(t, args...); code != 2 || !strings.HasPrefix(errOut, "ocix: ") {
			t.Errorf("%v: exit %d, %q", args, code, errOut)
		}
	}
}

func TestCacheLsAndPrune(t *testing.T) {
	fo := newFake(t)
	cacheDir := t.TempDir()
	t.Setenv("OCIX_CACHE_DIR", cacheDir)
	code, out, _ := fo.run(t, "cache", "ls")
	if code != 0 || out != "" {
		t.Fatalf("empty cache: exit %d, %q", code, out)
	}
	// Fill the cache as a run would, through a fake export backend.
	src := &fakeSource{}
	c := rootfs.New(rootfs.Options{Dir: cacheDir, Source: src, Copy: true})
	req := &core.RunRequest{Image: "registry.test/busybox:1", Repository: "busybox", Reference: "1", Platform: core.Platform{OS: "linux", Architecture: "amd64"}}
	release, err := c.Prepare(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	release()

	fo.outTTY = true
	code, out, _ = fo.run(t, "cache", "ls")
	if code != 0 || !strings.HasPrefix(out, "DIGEST") || !strings.Contains(out, "sha256:1111  registry.test/busybox:1  linux/amd64  3 B") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	code, out, _ = fo.run(t, "--format", "json", "cache", "ls")
	var images []rootfs.Image
	if code != 0 || json.Unmarshal([]byte(out), &images) != nil || len(images) != 1 || images[0].Digest != "sha256:1111" {
		t.Fatalf("exit %d: %s", code, out)
	}
	code, out, _ = fo.run(t, "cache", "prune")
	if code != 0 || out != "removed sha256:1111 registry.test/busybox:1 (3 B)\nfreed 3 B\n" {
		t.Fatalf("exit %d: %q", code, out)
	}
}

// fakeSource exports a tree with one file of 3 bytes.
type fakeSource struct{}

func (fakeSource) Resolve(context.Context, core.ResolveRequest) (core.ResolveResult, error) {
	return core.ResolveResult{Digest: "sha256:1111"}, nil
}

func (fakeSource) Export(_ context.Context, req core.ExportRequest, dest *core.Destination) (core.ExportResult, error) {
	os.WriteFile(filepath.Join(dest.Dir, "f"), []byte("abc"), 0o644)
	return core.ExportResult{Digest: req.Reference, Config: []byte("{}"), Platform: req.Platform, Bytes: 3}, dest.Commit()
}
