//go:build e2e

package e2e

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ocix/ocix/core/tree"
	"github.com/ocix/ocix/e2e/images"
)

// TestHostileImages exports every hostile image (images.HostileImages)
// with every export backend. The images aim at a directory of this host;
// after each export it must be as it was, and the export either fails in
// one line, leaving nothing at its destination, or succeeds. The api
// backend applies the image's layers with ocix's applier: it must refuse
// what the applier refuses and give exactly the tree the images say.
// The other backends flatten the image their own way first (crane's
// library, the engines' appliers) and ocix applies the flattened tar:
// they may refuse more, or flatten otherwise (containerd 1.6 ignores an
// opaque whiteout at the root; crane leaves out entries below symlinked
// directories and cannot write GNU sparse entries again), so of their
// trees the test checks what ocix's applier decides: holes for runs of
// zeros and the extended attributes an export drops.
func TestHostileImages(t *testing.T) {
	w := need(t)
	target := hostTarget(t)
	hostile, err := images.HostileImages(target)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	refs := map[string]string{}
	for _, h := range hostile {
		repo := images.Repository{Host: w.v3.Host, Name: "hostile/" + h.Name}
		if err := images.Push(ctx, repo, "latest", h.Image); err != nil {
			t.Fatal(err)
		}
		refs[h.Name] = repo.Ref("latest")
	}
	before := hostState(t, target)
	rel := strings.TrimPrefix(target, "/")
	for _, b := range backendsFor("export") {
		layers := b.name == "api" // ocix's applier gets the image's own layers
		for _, h := range hostile {
			t.Run(b.name+"/"+h.Name, func(t *testing.T) {
				s := b.sandbox(t)
				dest := filepath.Join(s.dir, "rootfs")
				r := s.ocix(t, "--backend", b.name, "export", "-q", refs[h.Name], dest)
				unchanged(t, target, before)
				switch {
				case r.code != 0 && (h.Refused || !layers):
					oneLineNaming(t, "export of a hostile image", r)
					nothingAt(t, dest)
					t.Logf("refused: %s", strings.TrimSpace(r.stderr))
					return
				case r.code != 0:
					t.Fatalf("export: %s", r)
				case h.Refused && layers:
					t.Fatalf("ocix exported the hostile image %s, which its applier must refuse", h.Name)
				}
				hostileTree(t, dest, h, layers)
			})
		}
		// --include through hostile symlinks: /abs leads to the target,
		// inside the export.
		t.Run(b.name+"/include", func(t *testing.T) {
			s := b.sandbox(t)
			dest := filepath.Join(s.dir, "rootfs")
			r := s.ocix(t, "--backend", b.name, "export", "-q", "--include", "/abs", refs["escape"], dest)
			unchanged(t, target, before)
			switch {
			case r.code != 0 && !layers:
				oneLineNaming(t, "export of a hostile image", r)
				nothingAt(t, dest)
			case r.code != 0:
				t.Fatalf("export: %s", r)
			case layers:
				if got := readIn(t, dest, rel+"/pwned"); got != "1" {
					t.Errorf("%s/pwned: %q, want what the layer wrote through /abs", rel, got)
				}
			}
		})
	}
}

// hostTarget makes the host directory the hostile images aim at: a file,
// a directory with a file, a symlink.
func hostTarget(t *testing.T) string {
	t.Helper()
	target := filepath.Join(t.TempDir(), "target")
	for _, err := range []error{
		os.MkdirAll(filepath.Join(target, "dir"), 0o755),
		os.WriteFile(filepath.Join(target, "file"), []byte("host file\n"), 0o644),
		os.WriteFile(filepath.Join(target, "dir", "x"), []byte("host x\n"), 0o644),
		os.Symlink("file", filepath.Join(target, "link")),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return target
}

// hostPath is what a test sees of one host path: its tree entry and the
// times a write, chmod, chown, xattr or link would change.
type hostPath struct {
	entry        tree.Entry
	mtime, ctime unix.Timespec
}

func hostState(t *testing.T, dir string) map[string]hostPath {
	t.Helper()
	m, err := tree.Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]hostPath{}
	for p, e := range m {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(dir, p), &st); err != nil {
			t.Fatal(err)
		}
		out[p] = hostPath{entry: e, mtime: st.Mtim, ctime: st.Ctim}
	}
	return out
}

// unchanged checks that the host directory is as before.
func unchanged(t *testing.T, dir string, before map[string]hostPath) {
	t.Helper()
	after := hostState(t, dir)
	for p, a := range after {
		if b, ok := before[p]; !ok {
			t.Errorf("host %s%s appeared", dir, p)
		} else if !reflect.DeepEqual(a, b) {
			t.Errorf("host %s%s changed: %+v -> %+v", dir, p, b, a)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			t.Errorf("host %s%s was removed", dir, p)
		}
	}
}

// readIn reads rel inside root one component at a time (os.Root), since
// rel may be longer than a path the kernel takes at once.
func readIn(t *testing.T, root, rel string) string {
	t.Helper()
	f, err := os.OpenInRoot(root, rel)
	if err != nil {
		return "missing: " + err.Error()
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// hostileTree checks a successful export of h: the holes and the
// extended attributes a root filesystem export does not carry; and, when
// ocix applied the image's own layers, its files, what it must not hold,
// its device nodes and the attributes it keeps.
func hostileTree(t *testing.T, dest string, h images.Hostile, layers bool) {
	t.Helper()
	for _, p := range h.Holes {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(dest, p), &st); err != nil || st.Size != images.HostileSparseSize || st.Blocks*512 > 1<<20 {
			t.Errorf("%s: %d bytes, %d allocated (%v); want %d, nearly all holes", p, st.Size, st.Blocks*512, err, images.HostileSparseSize)
		}
	}
	if h.Name == "xattrs" {
		x, err := tree.Xattrs(filepath.Join(dest, "x"))
		if err != nil {
			t.Fatal(err)
		}
		for k := range x {
			if strings.HasPrefix(k, "trusted.") || k == "security.selinux" {
				t.Errorf("x carries %s, which a root filesystem export drops", k)
			}
		}
		if layers && (x["user.keep"] != "kept" || x["security.capability"] == "") {
			t.Errorf("x: xattrs %q, want user.keep and security.capability kept", x)
		}
	}
	if !layers {
		return
	}
	for p, want := range h.Files {
		if got := readIn(t, dest, p); got != want {
			t.Errorf("%.80s: %.80q, want %q", p, got, want)
		}
	}
	for _, p := range h.Absent {
		if _, err := os.Lstat(filepath.Join(dest, p)); err == nil {
			t.Errorf("%s is in the export", p)
		}
	}
	for _, p := range h.Blocks {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(dest, p), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFBLK || st.Rdev != unix.Mkdev(8, 0) {
			t.Errorf("%s: mode %#o rdev %#x (%v), want block device 8:0", p, st.Mode, st.Rdev, err)
		}
	}
}
