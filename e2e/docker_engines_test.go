//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/ocix/ocix/e2e/harness"
	"github.com/ocix/ocix/e2e/images"
)

// dockerBackend is the docker backend on the dockerd start starts: the
// export and run suites, docker's own additions to an export, and its
// labelled containers for the leak checks.
func dockerBackend(start func(*harness.Harness, context.Context) (*harness.Docker, error)) *backend {
	return &backend{
		name: "docker",
		jobs: []string{"export", "run"},
		start: func(w *world) ([]string, error) {
			ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
			defer cancel()
			d, err := start(w.h, ctx)
			if err != nil {
				return nil, err
			}
			// DOCKER_HOST, and a DOCKER_CONFIG of its own for the
			// credentials a pull reads.
			return d.Env(), nil
		},
		// What docker's export adds to every container's filesystem and
		// the xattrs it drops, exactly as the baseline records them.
		known: func(bool) []string { return engineAdditions["docker"] },
		containers: func(t *testing.T, env []string) []string {
			t.Helper()
			return dockerContainers(t, env)
		},
	}
}

// currentDocker is the docker backend on a current docker engine (moby
// v2, API 1.5x, containerd image store); the registered "docker" backend
// runs on Debian 12's dockerd 20.10 (API 1.41). It is not registered: its
// ocix backend is "docker" too, and the suites name their cases by it.
var currentDocker = dockerBackend((*harness.Harness).StartCurrentDocker)

// The export and run conformance suites, on the current engine.
func TestDockerCurrentEngine(t *testing.T) {
	w, imgs := rulesImages(t)
	x := &exporter{b: currentDocker, w: w, imgs: imgs}
	for _, tc := range exportCases {
		t.Run("export/"+tc.name, func(t *testing.T) { tc.run(t, x) })
	}
	r := &runner{b: currentDocker}
	for _, tc := range runCases {
		t.Run("run/"+tc.name, func(t *testing.T) {
			r.ref = runnable(t)
			tc.run(t, r)
		})
	}
}

// An image whose config names no os or architecture, as `crane append`
// makes without --platform: every export backend exports it, docker on
// both engines included, as `docker create IMAGE` accepts it.
func TestExportImageThatNamesNoPlatform(t *testing.T) {
	w := need(t)
	img, err := images.Busybox()
	harness.Require(t, err)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf.OS, cf.Architecture, cf.Variant = "", "", ""
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	repo := images.Repository{Host: w.v3.Host, Name: "no-platform/busybox"}
	if err := images.Push(ctx, repo, "1", img); err != nil {
		t.Fatal(err)
	}
	for _, b := range append(backendsFor("export"), currentDocker) {
		name := b.name
		if b == currentDocker {
			name += "-current"
		}
		t.Run(name, func(t *testing.T) {
			s := b.sandbox(t)
			dest := filepath.Join(s.dir, "rootfs")
			r := s.ocix(t, "--backend", b.name, "export", "-q", repo.Ref("1"), dest)
			if r.code != 0 {
				t.Fatalf("export: %s", r)
			}
			if _, err := os.Stat(filepath.Join(dest, "bin", "busybox")); err != nil {
				t.Errorf("the export has no busybox: %v\n%s", err, r)
			}
			if left := b.leftovers(t); len(left) != 0 {
				t.Errorf("containers left behind: %v", left)
			}
		})
	}
}
