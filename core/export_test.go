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

// exporter serves one fake export backend, "fake", that declares export.
func exporter(fn func(ctx context.Context, req core.ExportRequest) (core.ExportResult, error)) (*core.Core, *coretest.Exporter, *coretest.Loader) {
	e := &coretest.Exporter{
		Backend:    coretest.Backend{Info: core.Info{Name: "fake", Available: true, Capabilities: []core.Capability{core.CapExport}}},
		ExportFunc: fn,
	}
	loader := &coretest.Loader{Backends: map[string]core.Backend{"fake": e}}
	return &core.Core{Loader: loader}, e, loader
}

// newDest is a directory destination that does not exist yet.
func newDest(t *testing.T) (*core.Destination, string) {
	t.Helper()
	parent := t.TempDir()
	path := filepath.Join(parent, "rootfs")
	d, err := core.DirDestination(path, false)
	if err != nil {
		t.Fatal(err)
	}
	return d, path
}

func TestExportCommitsTheDestinationOnSuccess(t *testing.T) {
	var got core.ExportRequest
	c, e, loader := exporter(func(_ context.Context, req core.ExportRequest) (core.ExportResult, error) {
		got = req
		return core.ExportResult{Digest: "sha256:aa"}, os.WriteFile(filepath.Join(req.Dir, "f"), []byte("x"), 0o644)
	})
	dest, path := newDest(t)
	res, err := c.Export(context.Background(), "fake", core.ExportRequest{Repository: "r", Reference: "t"}, dest)
	if err != nil || res.Digest != "sha256:aa" {
		t.Fatalf("res %+v, err %v", res, err)
	}
	if got.Dir != dest.Dir || got.ScratchDir != dest.Scratch || got.Invocation == "" || got.Repository != "r" {
		t.Fatalf("the backend got %+v: want the destination's dir and scratch and an invocation", got)
	}
	if b, err := os.ReadFile(filepath.Join(path, "f")); err != nil || string(b) != "x" {
		t.Fatalf("committed tree: %q %v", b, err)
	}
	if loader.Running() != 0 || len(e.Cleanups()) != 0 {
		t.Fatalf("running %d, cleanups %v: want none", loader.Running(), e.Cleanups())
	}
}

func TestAFailedExportAbortsTheDestination(t *testing.T) {
	c, e, loader := exporter(func(_ context.Context, req core.ExportRequest) (core.ExportResult, error) {
		os.WriteFile(filepath.Join(req.Dir, "half"), nil, 0o644)
		return core.ExportResult{}, errors.New("manifest unknown")
	})
	dest, path := newDest(t)
	_, err := c.Export(context.Background(), "fake", core.ExportRequest{}, dest)
	if err == nil || err.Error() != "manifest unknown" {
		t.Fatalf("err = %v", err)
	}
	if l := entriesIn(t, filepath.Dir(path)); len(l) != 0 {
		t.Fatalf("left behind: %v", l)
	}
	// A plugin that lived reports its own failure: nothing to clean up.
	if loader.Running() != 0 || len(e.Cleanups()) != 0 {
		t.Fatalf("running %d, cleanups %v: want none", loader.Running(), e.Cleanups())
	}
}

func TestADeadExportPluginIsCleanedUpAfter(t *testing.T) {
	var invocation string
	c, e, loader := exporter(func(_ context.Context, req core.ExportRequest) (core.ExportResult, error) {
		invocation = req.Invocation
		return core.ExportResult{}, core.Mark(errors.New(`plugin "fake" crashed: panic: boom`), core.ErrBackendDied)
	})
	dest, path := newDest(t)
	_, err := c.Export(context.Background(), "fake", core.ExportRequest{}, dest)
	if !errors.Is(err, core.ErrBackendDied) {
		t.Fatalf("err = %v, want ErrBackendDied", err)
	}
	if cl := e.Cleanups(); invocation == "" || len(cl) != 1 || cl[0] != invocation {
		t.Fatalf("cleanups %v, want [%s]: a fresh instance removes what the dead one made", cl, invocation)
	}
	if l := entriesIn(t, filepath.Dir(path)); len(l) != 0 {
		t.Fatalf("left behind: %v", l)
	}
	if loader.Running() != 0 {
		t.Fatalf("%d backends left running", loader.Running())
	}
}

// The capability a backend declares is what core checks, whatever the
// backend's Go type has: a plugin's client has every method.
func TestTheDeclaredCapabilityDecides(t *testing.T) {
	ctx := context.Background()
	t.Run("declared but missing", func(t *testing.T) {
		liar := &coretest.Backend{Info: core.Info{Name: "liar", Available: true, Capabilities: []core.Capability{core.CapExport, core.CapTags, core.CapRun}}}
		loader := &coretest.Loader{Backends: map[string]core.Backend{"liar": liar}}
		c := &core.Core{Loader: loader}
		dest, path := newDest(t)
		_, err := c.Export(ctx, "liar", core.ExportRequest{}, dest)
		want := `backend "liar" declares it can export a root filesystem but has no code for it`
		if err == nil || !strings.HasPrefix(err.Error(), want) || !errors.Is(err, core.ErrUnsupported) {
			t.Fatalf("export: err = %v, want %q", err, want)
		}
		if l := entriesIn(t, filepath.Dir(path)); len(l) != 0 {
			t.Fatalf("left behind: %v", l)
		}
		if _, err := c.ListTags(ctx, "liar", core.TagsRequest{}); !errors.Is(err, core.ErrUnsupported) {
			t.Fatalf("tags: err = %v", err)
		}
		if _, err := c.Run(ctx, "liar", core.RunRequest{}, core.RunSignals{}); !errors.Is(err, core.ErrUnsupported) {
			t.Fatalf("run: err = %v", err)
		}
		if loader.Running() != 0 {
			t.Fatalf("%d backends left running", loader.Running())
		}
	})
	t.Run("present but not declared", func(t *testing.T) {
		called := false
		c, e, loader := exporter(func(context.Context, core.ExportRequest) (core.ExportResult, error) {
			called = true
			return core.ExportResult{}, nil
		})
		e.Info.Capabilities = []core.Capability{core.CapTags}
		dest, _ := newDest(t)
		_, err := c.Export(ctx, "fake", core.ExportRequest{}, dest)
		want := `backend "fake" cannot export a root filesystem, and no installed backend can: ` + core.ErrUnsupported.Error()
		if err == nil || err.Error() != want || core.ExitCode(err) != core.ExitUsage {
			t.Fatalf("err = %v, want %q", err, want)
		}
		if called || loader.Running() != 0 {
			t.Fatalf("called %v, running %d: an undeclared job is never called", called, loader.Running())
		}
	})
}

// entriesIn lists what dir holds: a failed export into a fresh parent
// leaves it empty.
func entriesIn(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
