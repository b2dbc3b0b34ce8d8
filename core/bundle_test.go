package core_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/core/coretest"
)

func bundler(fn func(ctx context.Context, req core.BundleRequest) (core.BundleResult, error)) *core.Core {
	b := &coretest.Bundler{
		Runner: coretest.Runner{Backend: coretest.Backend{Info: core.Info{
			Name: "rt", Available: true, NeedsRootfs: true, Capabilities: []core.Capability{core.CapRun},
		}}},
		BundleFunc: fn,
	}
	engine := &coretest.Runner{Backend: coretest.Backend{Info: core.Info{
		Name: "engine", Available: true, Capabilities: []core.Capability{core.CapRun},
	}}}
	return &core.Core{
		Loader: &coretest.Loader{Backends: map[string]core.Backend{"rt": b, "engine": engine}},
		Rootfs: &coretest.Rootfs{Config: []byte(`{"config":{}}`)},
	}
}

func TestBundleIsCommittedWhole(t *testing.T) {
	var got core.BundleRequest
	c := bundler(func(_ context.Context, req core.BundleRequest) (core.BundleResult, error) {
		got = req
		return core.BundleResult{Command: []string{"runc", "run", "--bundle", req.Path, "x"}},
			os.WriteFile(filepath.Join(req.Dir, "config.json"), []byte("{}"), 0o644)
	})
	dir := filepath.Join(t.TempDir(), "bundle")
	dest, err := core.DirDestination(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Bundle(context.Background(), "rt", core.RunRequest{Image: "img"}, dest, dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Path != dir || got.Run.Rootfs != filepath.Join(got.Dir, "rootfs") || string(got.Run.ImageConfig) != `{"config":{}}` || got.Run.Invocation == "" {
		t.Fatalf("request %+v", got)
	}
	if strings.Join(res.Command, " ") != "runc run --bundle "+dir+" x" {
		t.Fatalf("command %v", res.Command)
	}
	for _, f := range []string{"config.json", "rootfs/etc/image"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAFailedBundleLeavesNothing(t *testing.T) {
	c := bundler(func(context.Context, core.BundleRequest) (core.BundleResult, error) {
		return core.BundleResult{}, errors.New("no user nobody")
	})
	parent := t.TempDir()
	dir := filepath.Join(parent, "bundle")
	dest, _ := core.DirDestination(dir, false)
	if _, err := c.Bundle(context.Background(), "rt", core.RunRequest{}, dest, dir); err == nil {
		t.Fatal("no error")
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Fatalf("left behind: %v", entries)
	}
}

func TestOnlyRuntimeBackendsWriteBundles(t *testing.T) {
	c := bundler(nil)
	dir := filepath.Join(t.TempDir(), "bundle")
	dest, _ := core.DirDestination(dir, false)
	_, err := c.Bundle(context.Background(), "engine", core.RunRequest{}, dest, dir)
	var usage *core.UsageError
	if !errors.As(err, &usage) || !strings.Contains(err.Error(), "writes no OCI bundle") {
		t.Fatalf("err %v", err)
	}
}

func TestResolveNeedsAResolver(t *testing.T) {
	exporter := &coretest.Backend{Info: core.Info{Name: "ex", Available: true, Capabilities: []core.Capability{core.CapExport}}}
	c := &core.Core{Loader: &coretest.Loader{Backends: map[string]core.Backend{"ex": exporter}}}
	if _, err := c.Resolve(context.Background(), "ex", core.ResolveRequest{}); !errors.Is(err, core.ErrUnsupported) {
		t.Fatalf("err %v", err)
	}
}
