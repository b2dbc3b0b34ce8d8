package inroot

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ocix/ocix/e2e/testenv"
)

// hostileRoot makes a root directory whose symlinks try every way out
// (absolute, "..", chains, loops) beside a secret that no lookup may
// reach, and returns the root's descriptor.
func hostileRoot(t testing.TB) int {
	t.Helper()
	base := t.TempDir()
	root := filepath.Join(base, "root")
	for _, d := range []string{"root/dir/sub", "root/ro", "secret/dir"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"root/file", "root/dir/file", "root/dir/sub/file", "secret/file", "secret/dir/file"} {
		if err := os.WriteFile(filepath.Join(base, f), []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"abs":          "/dir",
		"rel":          "dir/sub",
		"up":           "../../../../dir",
		"secret":       "../secret",
		"secretabs":    filepath.Join(base, "secret"),
		"dotdot":       "..",
		"self":         ".",
		"loop1":        "loop2",
		"loop2":        "loop1",
		"dangling":     "/nowhere",
		"filelink":     "file",
		"filedir":      "file/",
		"dir/back":     "../..",
		"dir/sub/root": "/",
		"dir/sub/deep": "../../dir/sub/../../abs/sub",
		"trail":        "dir/",
	}
	// A chain of exactly maxSymlinks links resolves; one more is ELOOP.
	for i := range maxSymlinks + 1 {
		links[fmt.Sprintf("c%d", i)] = fmt.Sprintf("c%d", i+1)
	}
	links[fmt.Sprintf("c%d", maxSymlinks+1)] = "/dir"
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// flagSets are the ways ocix opens paths in a root.
var flagSets = []int{
	unix.O_PATH,
	unix.O_PATH | unix.O_DIRECTORY,
	unix.O_PATH | unix.O_NOFOLLOW,
	unix.O_RDONLY,
	unix.O_RDONLY | unix.O_NONBLOCK,
	unix.O_RDONLY | unix.O_DIRECTORY,
	unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW,
}

// outcome is what one lookup gave: the inode it opened, or its error.
type outcome struct {
	dev, ino uint64
	mode     uint32
	err      error
}

func (o outcome) String() string {
	if o.err != nil {
		return o.err.Error()
	}
	return fmt.Sprintf("inode %d:%d mode %o", o.dev, o.ino, o.mode)
}

func result(t testing.TB, fd int, err error) outcome {
	if err != nil {
		return outcome{err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	return outcome{dev: st.Dev, ino: st.Ino, mode: st.Mode}
}

// requireOpenat2 stops the test when the kernel has no openat2 to be
// the reference (a failure under CI=true, whose machines have it).
func requireOpenat2(t testing.TB) {
	t.Helper()
	probe()
	if !noOpenat2.Load() {
		return
	}
	testenv.Missing(t, "the kernel has no openat2: the fallback cannot be compared with it")
}

// compare opens name both ways and fails when the answers differ.
func compare(t testing.TB, rootfd int, name string, flags int) {
	t.Helper()
	fd, err := openat2(rootfd, name, flags)
	want := result(t, fd, err)
	fd, err = walkOpen(rootfd, name, flags)
	got := result(t, fd, err)
	if got != want {
		t.Errorf("open %q flags %#o: fallback gives %v, openat2 %v", name, flags, got, want)
	}
}

func TestSameAsOpenat2(t *testing.T) {
	requireOpenat2(t)
	rootfd := hostileRoot(t)
	names := []string{
		".", "/", "..", "../..", "/..", "", "//", "./.",
		"file", "/file", "file/", "file/.", "file/..", "dir", "dir/", "dir/file", "dir/sub/file",
		"abs", "abs/", "abs/file", "abs/sub/file", "rel", "rel/file", "up", "up/file", "up/sub/../file",
		"secret", "secret/file", "secret/dir/file", "secretabs", "secretabs/file",
		"dotdot", "dotdot/file", "dotdot/dotdot/dir", "self", "self/self/file",
		"loop1", "loop1/x", "dangling", "dangling/x", "filelink", "filelink/", "filedir", "filedir/x",
		"dir/back", "dir/back/file", "dir/back/secret/file", "dir/sub/root", "dir/sub/root/file",
		"dir/sub/deep", "dir/sub/deep/file", "trail", "trail/file", "nowhere", "nowhere/x",
		"c0", "c0/file", "c1", "c1/file", "c2/sub", "dir/../../../file", "ro/../dir/./sub//file",
	}
	for _, name := range names {
		for _, flags := range flagSets {
			compare(t, rootfd, name, flags)
		}
	}
}

// TestChild checks the one-component open both resolvers share.
func TestChild(t *testing.T) {
	rootfd := hostileRoot(t)
	for name, want := range map[string]error{
		"dir": nil, "abs": unix.ENOTDIR, "file": unix.ENOTDIR, "..": unix.EXDEV,
		"dir/sub": unix.EXDEV, "nowhere": unix.ENOENT,
	} {
		fd, err := Child(rootfd, name, unix.O_PATH|unix.O_DIRECTORY)
		if err == nil {
			unix.Close(fd)
		}
		if err != want {
			t.Errorf("Child %q: %v, want %v", name, err, want)
		}
	}
}

// TestForceFallback checks that the hook switches the resolver both ways.
func TestForceFallback(t *testing.T) {
	requireOpenat2(t)
	was := forced.Load()
	defer ForceFallback(was)
	for _, on := range []bool{false, true} {
		ForceFallback(on)
		want := map[bool]string{false: Openat2, true: Fallback}[on]
		if got := Resolver(); got != want {
			t.Fatalf("resolver %s after ForceFallback(%v), want %s", got, on, want)
		}
	}
}

// FuzzResolve compares the fallback with openat2 on random names in the
// hostile root: any difference, an escape included, is a failure.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{"abs/sub/file", "up/../../secret/file", "c0/sub", "dir/back/dotdot/file", "filedir/"} {
		f.Add(s, uint8(0))
	}
	rootfd := hostileRoot(f)
	f.Fuzz(func(t *testing.T, name string, which uint8) {
		requireOpenat2(t)
		if strings.IndexByte(name, 0) >= 0 || len(name) > 512 {
			return
		}
		compare(t, rootfd, name, flagSets[int(which)%len(flagSets)])
	})
}
