//go:build e2e

package e2e

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ocix/ocix/e2e/images"
	"github.com/ocix/ocix/e2e/oldkernel"
)

// noOpenat2 makes ocix and its plugins use the resolver of kernels before
// 5.6 (plugins/internal/inroot.NoOpenat2Env, which e2e cannot import).
const noOpenat2 = "OCIX_NO_OPENAT2=1"

// TestExportFallbackResolver runs the export conformance suite again on
// every export backend with the fallback resolver forced: it must give the
// same trees as openat2.
func TestExportFallbackResolver(t *testing.T) {
	w, imgs := rulesImages(t)
	for _, b := range backendsFor("export") {
		env := b.environment(t)
		fb := &backend{
			name:       b.name,
			jobs:       b.jobs,
			known:      b.known,
			containers: b.containers,
			start: func(*world) ([]string, error) {
				return append(slices.Clone(env), noOpenat2), nil
			},
		}
		x := &exporter{b: fb, w: w, imgs: imgs}
		for _, tc := range exportCases {
			t.Run(b.name+"/"+tc.name, func(t *testing.T) { tc.run(t, x) })
		}
	}
}

// TestExportOldKernel runs one whole `ocix --backend api export` under a
// seccomp filter that answers openat2 and the other system calls newer
// than Linux 4.14 with ENOSYS, as on an old kernel: no hook, ocix has to
// notice by itself, in the host and in the plugin.
func TestExportOldKernel(t *testing.T) {
	_, imgs := rulesImages(t)
	b := backendsFor("export")[0]
	if b.name != "api" {
		t.Fatalf("the first export backend is %s, want api", b.name)
	}
	s := b.sandbox(t)
	dest := filepath.Join(s.dir, "rootfs")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd, stdout, stderr := s.command(ctx, "--backend", "api", "export", "-q", imgs.index, dest)
	if err := oldkernel.Run(cmd); err != nil {
		t.Fatalf("export under the old-kernel filter: %v\nstdout: %s\nstderr: %s", err, stdout, stderr)
	}
	sameTree(t, dest, images.RulesExpected(hostArch, true), nil)
	sameMtimes(t, dest, images.RulesMtimes(true), nil)
	noTemp(t, dest)
}
