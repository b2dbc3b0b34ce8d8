package applier

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// world is a test directory holding root and, beside it, a sentinel tree
// that no layer may touch.
type world struct {
	base     string // the test's temporary directory
	root     string // base/world/root
	sentinel string // base/world/sentinel, absolute
}

func newWorld(t *testing.T) world {
	base := t.TempDir()
	w := world{base: base, root: filepath.Join(base, "world/root"), sentinel: filepath.Join(base, "world/sentinel")}
	for _, p := range []string{w.root, w.sentinel + "/dir"} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"file", "dir/x"} {
		if err := os.WriteFile(filepath.Join(w.sentinel, p), []byte("sentinel "+p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("file", filepath.Join(w.sentinel, "link")); err != nil {
		t.Fatal(err)
	}
	// Make the sentinel's times distinct from anything a layer sets.
	old := time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, p := range []string{"file", "dir/x", "dir", "."} {
		os.Chtimes(filepath.Join(w.sentinel, p), old, old)
	}
	return w
}

// canaries are host paths the hostile layers name; none may appear.
var canaries = []string{"/ocix-canary", "/etc/ocix-canary", "/tmp/ocix-canary"}

// hostile applies layers (built once the sentinel path is known) and
// checks that nothing outside the root changed: the whole test directory
// but the root is compared before and after, ctimes included (so a chmod,
// chown, utimes, xattr or link on a sentinel counts), and the canaries
// must not exist. It returns the world and Apply's error.
func hostile(t *testing.T, layers func(w world) [][]byte) (world, error) {
	t.Helper()
	w, _, err := hostileWith(t, Options{}, layers)
	return w, err
}

// hostileWith is hostile with options; it also returns the warnings.
func hostileWith(t *testing.T, opts Options, layers func(w world) [][]byte) (world, []string, error) {
	t.Helper()
	w := newWorld(t)
	for _, c := range canaries {
		if _, err := os.Lstat(c); !isNotExist(err) {
			t.Fatalf("canary %s exists before the test", c)
		}
	}
	before := snapshot(t, w.base, w.root)
	warns, err := applyAll(w.root, opts, layers(w)...)
	after := snapshot(t, w.base, w.root)
	if !reflect.DeepEqual(before, after) {
		for p, n := range after {
			if b, ok := before[p]; !ok || !reflect.DeepEqual(b, n) {
				t.Errorf("outside the root, %s changed: %+v -> %+v", p, b, n)
			}
		}
		for p := range before {
			if _, ok := after[p]; !ok {
				t.Errorf("outside the root, %s was removed", p)
			}
		}
	}
	for _, c := range canaries {
		if _, err := os.Lstat(c); !isNotExist(err) {
			os.RemoveAll(c)
			t.Errorf("%s was created outside the root", c)
		}
	}
	if fi, lerr := os.Lstat(w.root); lerr != nil || !fi.IsDir() {
		t.Errorf("root is no longer a directory: %v", lerr)
	}
	return w, warns, err
}

// in asserts that path (relative to root) exists with the given content.
func in(t *testing.T, w world, p, body string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(w.root, p))
	if err != nil || string(b) != body {
		t.Errorf("root/%s: %q, %v; want %q", p, b, err, body)
	}
}

func TestHostileDotDot(t *testing.T) {
	for _, e := range []tent{
		reg("../escape", "x"),
		reg("a/../../escape", "x"),
		dir("foo/../../../"),
		sym("../evil", "/"),
		hard("..", "etc"),
		reg("../.wh.sentinel", ""),
		reg("/../escape", "x"),
	} {
		t.Run(e.hdr.Name, func(t *testing.T) {
			_, err := hostile(t, func(world) [][]byte { return [][]byte{layer(t, e)} })
			oneLine(t, err, e.hdr.Name)
			if err != nil && !strings.Contains(err.Error(), "climbs above the root") {
				t.Errorf("error %q does not say why", err)
			}
		})
	}
}

func TestHostileAbsoluteNames(t *testing.T) {
	w, err := hostile(t, func(w world) [][]byte {
		return [][]byte{layer(t,
			reg("/ocix-canary", "a"),
			reg("/etc/ocix-canary", "b"),
			reg(w.sentinel+"/file", "pwned"), // the sentinel's real absolute path
		)}
	})
	if err != nil {
		t.Fatal(err)
	}
	in(t, w, "ocix-canary", "a")
	in(t, w, "etc/ocix-canary", "b")
	in(t, w, w.sentinel+"/file", "pwned")
}

func TestHostileSymlinkParent(t *testing.T) {
	w, err := hostile(t, func(w world) [][]byte {
		return [][]byte{layer(t,
			sym("toroot", "/"), reg("toroot/ocix-canary", "1"),
			sym("up", "../../../../../../../../../../"), reg("up/tmp/ocix-canary", "2"),
			sym("abs", w.sentinel), reg("abs/file", "3"), reg("abs/new", "4"),
			sym("dirlink", w.sentinel+"/dir"), dir("dirlink/sub/"),
		)}
	})
	if err != nil {
		t.Fatal(err)
	}
	in(t, w, "ocix-canary", "1")
	in(t, w, "tmp/ocix-canary", "2")
	in(t, w, w.sentinel+"/file", "3")
	in(t, w, w.sentinel+"/new", "4")
}

func TestHostileSymlinkChain(t *testing.T) {
	w, err := hostile(t, func(w world) [][]byte {
		return [][]byte{layer(t,
			dir("c/"), sym("a", "b"), sym("b", "c/../.."), reg("a/ocix-canary", "1"),
			sym("x", "y"), sym("y", "z"), sym("z", w.sentinel), reg("x/file", "2"),
			sym("loop1", "loop2"), sym("loop2", "loop1"),
		)}
	})
	if err != nil {
		t.Fatal(err)
	}
	in(t, w, "ocix-canary", "1")
	in(t, w, w.sentinel+"/file", "2")
	// A symlink loop as a parent is an error, not a hang.
	_, err = hostile(t, func(w world) [][]byte {
		return [][]byte{layer(t, sym("loop1", "loop2"), sym("loop2", "loop1"), reg("loop1/f", "x"))}
	})
	oneLine(t, err, "loop1/f")
}

// TestHostileLowerSymlink: a symlink planted by one layer and used as a
// parent by the next.
func TestHostileLowerSymlink(t *testing.T) {
	w, err := hostile(t, func(w world) [][]byte {
		return [][]byte{
			layer(t, sym("abs", w.sentinel), sym("rel", "../sentinel"), sym("deep", "../../../../../../../../../..")),
			layer(t, reg("abs/file", "1"), reg("rel/file", "2"), reg("deep/tmp/ocix-canary", "3"), dir("abs/dir/"), reg("abs/dir/x", "4")),
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	in(t, w, w.sentinel+"/file", "1")
	in(t, w, "sentinel/file", "2")
	in(t, w, "tmp/ocix-canary", "3")
	in(t, w, w.sentinel+"/dir/x", "4")
}

func TestHostileHardLinks(t *testing.T) {
	for _, tc := range []struct {
		name   string
		layers func(w world) []tent
		entry  string // the entry the error names; "" for success
	}{
		{"dotdot target", func(w world) []tent { return []tent{hard("x", "../sentinel/file")} }, "x"},
		{"absolute host path", func(w world) []tent { return []tent{hard("x", w.sentinel+"/file")} }, "x"},
		{"host passwd", func(w world) []tent { return []tent{hard("x", "/etc/passwd")} }, "x"},
		{"symlinked parent", func(w world) []tent { return []tent{sym("s", w.sentinel), hard("x", "s/file")} }, "x"},
		{"relative symlinked parent", func(w world) []tent { return []tent{sym("s", "../sentinel"), hard("x", "s/file")} }, "x"},
		{"root's own passwd", func(w world) []tent {
			return []tent{dir("etc/"), reg("etc/passwd", "root's"), hard("x", "/etc/passwd")}
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := hostile(t, func(w world) [][]byte { return [][]byte{layer(t, tc.layers(w)...)} })
			if tc.entry != "" {
				oneLine(t, err, `"`+tc.entry+`"`)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			in(t, w, "x", "root's")
		})
	}
}

func TestHostileWhiteouts(t *testing.T) {
	w, err := hostile(t, func(w world) [][]byte {
		return [][]byte{
			layer(t, sym("abs", w.sentinel), sym("rel", "../sentinel"), sym("dirlink", w.sentinel+"/dir"),
				dir("sentinel/"), reg("sentinel/file", "inside")),
			layer(t,
				reg("abs/.wh.file", ""), reg("abs/.wh.dir", ""), reg("abs/.wh..wh..opq", ""),
				reg("rel/.wh.file", ""), // removes root's own sentinel/file
				reg("dirlink/.wh.x", ""), reg("dirlink/.wh..wh..opq", ""),
				reg(w.sentinel+"/.wh.file", ""),
			),
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(w.root, "sentinel/file")); !isNotExist(err) {
		t.Errorf("rel/.wh.file did not remove root's sentinel/file: %v", err)
	}
	for _, name := range []string{".wh..", ".wh...", ".wh.", "abs/.wh..."} {
		t.Run(name, func(t *testing.T) {
			_, err := hostile(t, func(w world) [][]byte {
				return [][]byte{layer(t, sym("abs", w.sentinel), reg("f", "f")), layer(t, reg(name, ""))}
			})
			oneLine(t, err, name)
		})
	}
}

// TestHostileMetadataThroughSymlink: metadata of an entry named like a
// symlink that points outside applies to the symlink or to a new inode
// that replaces it, never to what it points to.
func TestHostileMetadataThroughSymlink(t *testing.T) {
	evil := func(e tent) tent {
		return e.perm(0o4777).owner(1234, 1234).mtime(t0).xattr("user.pwn", "1")
	}
	_, err := hostile(t, func(w world) [][]byte {
		return [][]byte{
			layer(t, evil(sym("f", w.sentinel+"/file")), evil(sym("d", w.sentinel+"/dir")),
				evil(sym("l", w.sentinel+"/link")), hard("hl", "f"), dir("later/")),
			layer(t, evil(dir("d/")), evil(reg("f", "x")), evil(fifo("l")), evil(chr("hl", 1, 3))),
			// A directory whose recorded metadata Finish would apply, replaced
			// by a symlink to the sentinel.
			layer(t, evil(sym("later", w.sentinel))),
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestHostileRoot(t *testing.T) {
	for _, e := range []tent{
		sym("./", "/"),
		sym("/", "../sentinel"),
		reg("/.", "x"),
		reg("", "x"),
		hard(".", "etc"),
		fifo("a/.."),
		chr(".", 1, 3),
	} {
		t.Run(e.hdr.Name, func(t *testing.T) {
			w, err := hostile(t, func(world) [][]byte { return [][]byte{layer(t, e)} })
			oneLine(t, err, `"`+e.hdr.Name+`"`)
			var st unix.Stat_t
			if err := unix.Lstat(w.root, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
				t.Errorf("root replaced: %v", err)
			}
		})
	}
}
