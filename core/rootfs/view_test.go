package rootfs

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ocix/ocix/e2e/testenv"
)

func TestOverlayViewWhereTheKernelAllows(t *testing.T) {
	testenv.RequireRoot(t) // mounting overlayfs
	c := New(Options{Dir: t.TempDir(), Source: newSource()})
	req := request("1")
	release := prepare(t, c, req)
	if !mountPoint(req.Rootfs) {
		release()
		testenv.Missing(t, "overlayfs refused here: views are copies")
	}
	if err := os.WriteFile(filepath.Join(req.Rootfs, "etc", "release"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(req.Rootfs, "etc", "release"))
	e, _ := c.store.open(context.Background(), digestA)
	if got := read(t, filepath.Join(e.rootfs(), "etc", "release")); got != digestA {
		t.Fatalf("the run's write reached the cache: %q", got)
	}
	e.release()
	var root, lower unix.Stat_t
	unix.Stat(req.Rootfs, &root)
	unix.Stat(e.rootfs(), &lower)
	if root.Mode != lower.Mode || root.Uid != lower.Uid {
		t.Fatalf("the view's root is %#o %d, the image's %#o %d", root.Mode, root.Uid, lower.Mode, lower.Uid)
	}
	release()
	if _, err := os.Stat(req.Rootfs); !os.IsNotExist(err) {
		t.Fatalf("the view outlived its run: %v", err)
	}
}

func TestCopyTreeKeepsWhatARootFilesystemCarries(t *testing.T) {
	src := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(src, "usr", "bin"), 0o755))
	must(os.WriteFile(filepath.Join(src, "usr", "bin", "su"), []byte("su"), 0o755))
	must(unix.Chmod(filepath.Join(src, "usr", "bin", "su"), 0o4755))
	must(os.Link(filepath.Join(src, "usr", "bin", "su"), filepath.Join(src, "usr", "bin", "su2")))
	must(os.Symlink("/usr/bin/su", filepath.Join(src, "su")))
	must(unix.Mkfifo(filepath.Join(src, "fifo"), 0o600))
	must(os.Mkdir(filepath.Join(src, "ro"), 0o555))

	dst := filepath.Join(t.TempDir(), "copy")
	must(copyTree(src, dst))

	var a, b unix.Stat_t
	must(unix.Stat(filepath.Join(dst, "usr", "bin", "su"), &a))
	must(unix.Stat(filepath.Join(dst, "usr", "bin", "su2"), &b))
	if a.Ino != b.Ino || a.Mode&0o7777 != 0o4755 {
		t.Fatalf("hard link lost or mode %#o", a.Mode&0o7777)
	}
	if to, err := os.Readlink(filepath.Join(dst, "su")); err != nil || to != "/usr/bin/su" {
		t.Fatalf("symlink %q %v", to, err)
	}
	must(unix.Lstat(filepath.Join(dst, "fifo"), &a))
	if a.Mode&unix.S_IFMT != unix.S_IFIFO {
		t.Fatalf("fifo is %#o", a.Mode)
	}
	must(unix.Stat(filepath.Join(dst, "ro"), &a))
	if a.Mode&0o7777 != 0o555 {
		t.Fatalf("read-only directory is %#o", a.Mode&0o7777)
	}
	var sa, sb unix.Stat_t
	must(unix.Stat(filepath.Join(src, "usr", "bin"), &sa))
	must(unix.Stat(filepath.Join(dst, "usr", "bin"), &sb))
	if sa.Mtim != sb.Mtim {
		t.Fatalf("directory mtime %v, want %v", sb.Mtim, sa.Mtim)
	}
}

// TestCopyTreeKeepsOwners: a copy keeps every node's owner, symlinks'
// included, not the copier's.
func TestCopyTreeKeepsOwners(t *testing.T) {
	testenv.RequireRoot(t) // giving files other owners
	src := t.TempDir()
	for _, err := range []error{
		os.Mkdir(filepath.Join(src, "usr"), 0o755),
		os.WriteFile(filepath.Join(src, "usr", "f"), []byte("f"), 0o644),
		os.Symlink("usr/f", filepath.Join(src, "link")),
		os.Lchown(filepath.Join(src, "usr"), 1000, 1001),
		os.Lchown(filepath.Join(src, "usr", "f"), 1002, 1003),
		os.Lchown(filepath.Join(src, "link"), 1004, 1005),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	dst := filepath.Join(t.TempDir(), "copy")
	if err := copyTree(src, dst); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string][2]uint32{"usr": {1000, 1001}, "usr/f": {1002, 1003}, "link": {1004, 1005}} {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(dst, p), &st); err != nil || st.Uid != want[0] || st.Gid != want[1] {
			t.Errorf("%s: owner %d:%d (%v), want %d:%d", p, st.Uid, st.Gid, err, want[0], want[1])
		}
	}
}
