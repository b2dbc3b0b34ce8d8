package tree

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/ocix/ocix/e2e/testenv"
)

// build makes a small tree: a file with two names, a symlink, a directory,
// a fifo, a setuid file owned by 1000:1000 (when root).
func build(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "etc"), 0o755))
	must(os.WriteFile(filepath.Join(root, "etc", "passwd"), []byte("root:x:0:0::/root:/bin/sh\n"), 0o644))
	must(os.WriteFile(filepath.Join(root, "bin"), []byte("busybox"), 0o755))
	must(os.Link(filepath.Join(root, "bin"), filepath.Join(root, "sh")))
	must(os.Symlink("/bin", filepath.Join(root, "ls")))
	must(syscall.Mkfifo(filepath.Join(root, "fifo"), 0o600))
	must(os.WriteFile(filepath.Join(root, "su"), []byte("su"), 0o755))
	if os.Geteuid() == 0 {
		must(os.Lchown(filepath.Join(root, "su"), 1000, 1000))
	}
	// After chown, which clears setuid.
	must(syscall.Chmod(filepath.Join(root, "su"), 0o4755))
	return root
}

func scan(t *testing.T, root string) Manifest {
	t.Helper()
	m, err := Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestScanDescribesEveryField(t *testing.T) {
	m := scan(t, build(t))
	if got := strings.Join(m.Paths(), " "); got != "/ /bin /etc /etc/passwd /fifo /ls /sh /su" {
		t.Fatalf("paths %s", got)
	}
	if e := m["/bin"]; e.Type != "file" || e.Size != 7 || !slices.Equal(e.Links, []string{"/sh"}) || !strings.HasPrefix(e.Digest, "sha256:") {
		t.Errorf("/bin %+v", e)
	}
	if e := m["/ls"]; e.Type != "symlink" || e.Target != "/bin" {
		t.Errorf("/ls %+v", e)
	}
	if e := m["/fifo"]; e.Type != "fifo" || e.Mode.Perm() != 0o600 {
		t.Errorf("/fifo %+v", e)
	}
	if e := m["/su"]; e.Mode.String() != "urwxr-xr-x" {
		t.Errorf("/su mode %s", e.Mode)
	}
	// build gives /su another owner only as root; either way Scan reads
	// the owner the file has.
	uid, gid := os.Geteuid(), os.Getegid()
	if uid == 0 {
		uid, gid = 1000, 1000
	}
	if e := m["/su"]; e.UID != uid || e.GID != gid {
		t.Errorf("/su owner %d:%d, want %d:%d", e.UID, e.GID, uid, gid)
	}
}

func TestDiffNamesEachKindOfDifference(t *testing.T) {
	testenv.RequireRoot(t) // changing owners
	a := build(t)
	for _, tc := range []struct {
		name   string
		change func(root string) error
		want   string
	}{
		{"mode only", func(r string) error { return os.Chmod(filepath.Join(r, "etc/passwd"), 0o600) }, "/etc/passwd mode -rw-r--r-- -rw-------"},
		{"owner only", func(r string) error { return os.Lchown(filepath.Join(r, "etc/passwd"), 0, 42) }, "/etc/passwd gid 0 42"},
		{"content only", func(r string) error {
			return os.WriteFile(filepath.Join(r, "etc/passwd"), []byte("ROOT:x:0:0::/root:/bin/sh\n"), 0o644)
		}, "/etc/passwd content"},
		{"type change", func(r string) error {
			os.Remove(filepath.Join(r, "fifo"))
			return os.Mkdir(filepath.Join(r, "fifo"), 0o600)
		}, "/fifo type fifo dir"},
		{"hard-link group change", func(r string) error {
			os.Remove(filepath.Join(r, "sh"))
			return os.WriteFile(filepath.Join(r, "sh"), []byte("busybox"), 0o755)
		}, "/bin links /sh "},
		{"symlink target change", func(r string) error {
			os.Remove(filepath.Join(r, "ls"))
			return os.Symlink("bin", filepath.Join(r, "ls"))
		}, "/ls target /bin bin"},
		{"only in one", func(r string) error { return os.Remove(filepath.Join(r, "su")) }, "/su presence file (absent)"},
	} {
		b := build(t)
		if err := tc.change(b); err != nil {
			t.Fatal(err)
		}
		diffs := Diff(scan(t, a), scan(t, b))
		var got []string
		for _, d := range diffs {
			got = append(got, strings.Join([]string{d.Path, d.Field, d.A, d.B}, " "))
		}
		if len(got) == 0 || !strings.HasPrefix(got[0], tc.want) {
			t.Errorf("%s: differences %q, want first %q", tc.name, got, tc.want)
		}
		if tc.name != "hard-link group change" && len(got) != 1 {
			t.Errorf("%s: want exactly one difference, got %q", tc.name, got)
		}
	}
	if d := Diff(scan(t, a), scan(t, build(t))); len(d) != 0 {
		t.Errorf("two identical trees differ: %v", d)
	}
}
