//go:build e2e

package e2e

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ocix/ocix/core/tree"
	"github.com/ocix/ocix/e2e/harness"
	"github.com/ocix/ocix/e2e/images"
)

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
