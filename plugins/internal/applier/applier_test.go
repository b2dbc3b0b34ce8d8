package applier

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ocix/ocix/e2e/testenv"
)

func TestWhiteouts(t *testing.T) {
	root := t.TempDir()
	l1 := layer(t,
		dir("a/"), reg("a/f1", "1"), reg("a/f2", "2"),
		dir("a/sub/"), reg("a/sub/lower", "l"),
		dir("b/"), dir("b/deep/"), reg("b/deep/x", "x"),
		reg("c", "file"),
		dir("d/"), reg("d/old", "o"), dir("d/olddir/"), reg("d/olddir/y", "y"),
		dir("e/"), reg("e/old", "o"), dir("e/kept/"), reg("e/kept/old", "o"),
	)
	l2 := layer(t,
		reg("a/.wh.f1", ""),                                  // file
		reg(".wh.b", ""),                                     // whole tree
		reg(".wh.c", ""), dir("c/"), reg("c/now-a-dir", "!"), // whiteout, then the same layer re-adds
		reg("a/sub/upper", "u"), reg("a/.wh.sub", ""), // same layer wrote a/sub before its whiteout
		dir("d/"), reg("d/before", "b"), reg("d/.wh..wh..opq", ""), reg("d/after", "a"),
		reg("e/kept/new", "n"), reg("e/.wh..wh..opq", ""), // implicit e/kept, opaque after
		reg(".wh.nothing", ""),
		reg(".wh..wh.plnk", ""),
	)
	mustApply(t, root, Options{}, l1, l2)
	checkTree(t, root, map[string]want{
		"a":           d(0o755),
		"a/f2":        f("2", 0o644),
		"a/sub":       d(0o755),
		"a/sub/upper": f("u", 0o644),
		"c":           d(0o755),
		"c/now-a-dir": f("!", 0o644),
		"d":           d(0o755),
		"d/before":    f("b", 0o644),
		"d/after":     f("a", 0o644),
		"e":           d(0o755),
		"e/kept":      d(0o755),
		"e/kept/new":  f("n", 0o644),
	})
}

func TestReplaceTypes(t *testing.T) {
	root := t.TempDir()
	l1 := layer(t,
		reg("f2d", "file"),
		dir("d2f/"), reg("d2f/inner", "i"),
		dir("d2l/"), dir("d2l/sub/"), reg("d2l/sub/x", "x"),
		dir("target/"),
		sym("l2d", "target"),
		fifo("p2f"),
		reg("f2l", "f"),
		dir("keep/"), reg("keep/a", "a"),
	)
	l2 := layer(t,
		dir("f2d/"), reg("f2d/x", "x"),
		reg("d2f", "now a file"),
		sym("d2l", "target"),
		dir("l2d/"), reg("l2d/y", "y"), // must not go through the old symlink
		reg("p2f", "was a fifo"),
		sym("f2l", "target"),
		dir("keep/").perm(0o700).owner(5, 6),
	)
	mustApply(t, root, Options{}, l1, l2)
	checkTree(t, root, map[string]want{
		"f2d":    d(0o755),
		"f2d/x":  f("x", 0o644),
		"d2f":    f("now a file", 0o644),
		"d2l":    l("target"),
		"target": d(0o755),
		"l2d":    d(0o755),
		"l2d/y":  f("y", 0o644),
		"p2f":    f("was a fifo", 0o644),
		"f2l":    l("target"),
		"keep":   d(0o700).owned(5, 6),
		"keep/a": f("a", 0o644),
	})
}

func TestHardLinks(t *testing.T) {
	root := t.TempDir()
	l1 := layer(t,
		reg("orig", "v1"), hard("link", "orig"),
		reg("c1", "chain"), hard("c2", "c1"), hard("c3", "/c2"),
		dir("sub/"), hard("sub/l", "./c1"),
		sym("s", "c1"), hard("s-link", "s"), // a hard link to a symlink links the symlink
	)
	l2 := layer(t,
		reg("orig", "v2"),  // a new inode: link keeps v1, like an overlayfs copy-up
		hard("late", "c3"), // to a lower layer's file
	)
	mustApply(t, root, Options{}, l1, l2)
	checkTree(t, root, map[string]want{
		"orig":   f("v2", 0o644).other("link"),
		"link":   f("v1", 0o644),
		"c1":     f("chain", 0o644),
		"c2":     f("chain", 0o644).same("c1"),
		"c3":     f("chain", 0o644).same("c1"),
		"late":   f("chain", 0o644).same("c1"),
		"sub":    d(0o755),
		"sub/l":  f("chain", 0o644).same("c1"),
		"s":      l("c1"),
		"s-link": l("c1").same("s"),
	})
}

func TestHardLinkErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		entry tent
	}{
		{"missing target", hard("x", "nothing")},
		{"directory target", hard("x", "dir")},
		{"root target", hard("x", "/")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := applyAll(t.TempDir(), Options{}, layer(t, dir("dir/"), tc.entry))
			oneLine(t, err, `"x"`)
		})
	}
}

func TestMetadata(t *testing.T) {
	testenv.RequireRoot(t)
	root := t.TempDir()
	t1 := time.Date(2001, 2, 3, 4, 5, 6, 7, time.UTC)
	l1 := layer(t,
		dir("setgid/").perm(0o2775).owner(0, 50),
		dir("tmp/").perm(0o1777),
		reg("setuid", "#!").perm(0o4755).owner(1000, 1000), // chmod after chown keeps the bit
		reg("secret", "s").perm(0o600).owner(7, 8),
		reg("xattr", "x").xattr("user.foo", "bar").mtime(t1),
		dir("xdir/").xattr("user.dir", "yes").mtime(t1),
		sym("sym", "secret").owner(3, 4).mtime(t1),
		dir("ro/").perm(0o555), reg("ro/file", "w").perm(0o444),
		chr("null", 1, 3).owner(0, 5),
		fifo("fifo").perm(0o640).owner(7, 7),
		withAtime(reg("atime", "a"), t1),
	)
	mustApply(t, root, Options{}, l1)
	// Before checkTree, which reads the files and so moves their atime.
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(root, "atime"), &st); err != nil {
		t.Fatal(err)
	}
	if got := time.Unix(st.Atim.Unix()); !got.Equal(t1) {
		t.Errorf("atime %v, want %v", got, t1)
	}
	null := want{typ: 'c', mode: 0o666, gid: 5, rdev: unix.Mkdev(1, 3)}
	checkTree(t, root, map[string]want{
		"setgid":  d(0o2775).owned(0, 50),
		"tmp":     d(0o1777),
		"setuid":  f("#!", 0o4755).owned(1000, 1000),
		"secret":  f("s", 0o600).owned(7, 8),
		"xattr":   want{typ: 'f', body: "x", mode: 0o644, xattrs: map[string]string{"user.foo": "bar"}, mtime: t1},
		"xdir":    want{typ: 'd', mode: 0o755, xattrs: map[string]string{"user.dir": "yes"}, mtime: t1},
		"sym":     want{typ: 'l', target: "secret", uid: 3, gid: 4, mtime: t1},
		"ro":      d(0o555),
		"ro/file": f("w", 0o444),
		"null":    null,
		"fifo":    want{typ: 'p', mode: 0o640, uid: 7, gid: 7},
		"atime":   f("a", 0o644),
	})
}

func withAtime(e tent, at time.Time) tent {
	e.hdr.AccessTime = at
	return e
}

func TestIncludeFollowsSymlinks(t *testing.T) {
	root := t.TempDir()
	l1 := layer(t,
		sym("bin", "usr/bin"), sym("lib", "/usr/lib"),
		dir("etc/"), reg("etc/passwd", "p"), dir("etc/ssl/"), dir("etc/ssl/certs/"), reg("etc/ssl/certs/ca.pem", "ca"),
		dir("usr/"), dir("usr/bin/"), reg("usr/bin/sh", "sh"), reg("usr/bin/ls", "ls"),
		dir("usr/lib/"), reg("usr/lib/libc.so", "c"), hard("usr/lib/libc.so.6", "usr/lib/libc.so"),
		hard("usr/bin/dash", "usr/bin/ls"), // the target is not included
	)
	l2 := layer(t, reg("usr/lib/libm.so", "m"), reg("usr/bin/sh", "sh2"))
	warns := mustApply(t, root, Options{Include: []string{"/etc/ssl", "/bin/sh", "/lib/libc.so", "/lib/libc.so.6", "/bin/dash"}}, l1, l2)
	checkTree(t, root, map[string]want{
		"bin":                  l("usr/bin"),
		"lib":                  l("/usr/lib"),
		"etc":                  d(0o755),
		"etc/ssl":              d(0o755),
		"etc/ssl/certs":        d(0o755),
		"etc/ssl/certs/ca.pem": f("ca", 0o644),
		"usr":                  d(0o755),
		"usr/bin":              d(0o755),
		"usr/bin/sh":           f("sh2", 0o644),
		"usr/lib":              d(0o755),
		"usr/lib/libc.so":      f("c", 0o644),
		"usr/lib/libc.so.6":    f("c", 0o644).same("usr/lib/libc.so"),
	})
	if len(warns) != 1 || !strings.Contains(warns[0], "1 hard links skipped") {
		t.Errorf("warnings %q, want one about the skipped hard link", warns)
	}
}

// TestForce applies a flattened export over a root that already holds a
// tree, as `tar -x` over a non-empty directory does.
func TestForce(t *testing.T) {
	root := t.TempDir()
	for _, p := range []string{"etc", "bin/old", "stale"} {
		if err := os.MkdirAll(filepath.Join(root, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	old := filepath.Join(root, "etc/passwd")
	if err := os.WriteFile(old, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(old, filepath.Join(root, "etc/passwd.hl")); err != nil {
		t.Fatal(err)
	}
	export := layer(t,
		dir("./"), dir("./etc/"), reg("./etc/passwd", "new"),
		sym("./bin", "usr/bin"), dir("./usr/"), dir("./usr/bin/"), reg("./usr/bin/x", "x"),
	)
	mustApply(t, root, Options{}, export)
	checkTree(t, root, map[string]want{
		".":             d(0o755),
		"etc":           d(0o755),
		"etc/passwd":    f("new", 0o644).other("etc/passwd.hl"),
		"etc/passwd.hl": want{typ: 'f', body: "old", mode: 0o600, anyTime: true},
		"bin":           l("usr/bin"),
		"usr":           d(0o755),
		"usr/bin":       d(0o755),
		"usr/bin/x":     f("x", 0o644),
		"stale":         implicitDir(),
	})
}

func TestNames(t *testing.T) {
	root := t.TempDir()
	mustApply(t, root, Options{}, layer(t,
		reg("./usr//bin/../bin/x", "x"), reg("/abs/y", "y"), dir("/").perm(0o700).mtime(t0),
	))
	checkTree(t, root, map[string]want{
		".":         d(0o700),
		"usr":       implicitDir(),
		"usr/bin":   implicitDir(),
		"usr/bin/x": f("x", 0o644),
		"abs":       implicitDir(),
		"abs/y":     f("y", 0o644),
	})
}

// TestSymlinkedParents: parents resolve through symlinks inside the root,
// absolute ones included, and a dangling one has its directory made where
// it points, as docker does.
func TestSymlinkedParents(t *testing.T) {
	root := t.TempDir()
	l1 := layer(t, dir("var/"), sym("var/run", "/run"), sym("rel", "var/../data"))
	l2 := layer(t, reg("var/run/pid", "1"), reg("rel/file", "d"))
	mustApply(t, root, Options{}, l1, l2)
	checkTree(t, root, map[string]want{
		"var":       d(0o755),
		"var/run":   l("/run"),
		"run":       implicitDir(),
		"run/pid":   f("1", 0o644),
		"rel":       l("var/../data"),
		"data":      implicitDir(),
		"data/file": f("d", 0o644),
	})
}

// TestCacheInvalidation: a directory replaced by a symlink within a layer
// must not keep receiving entries through a cached descriptor.
func TestCacheInvalidation(t *testing.T) {
	root := t.TempDir()
	mustApply(t, root, Options{}, layer(t,
		dir("x/"), dir("d/"), reg("d/a", "a"),
		sym("d", "x"), reg("d/b", "b"),
	))
	checkTree(t, root, map[string]want{
		"x":   d(0o755),
		"x/b": f("b", 0o644),
		"d":   l("x"),
	})
}

func TestCancel(t *testing.T) {
	a, err := New(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = a.Apply(ctx, bytes.NewReader(layer(t, reg("x", "x"))))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply with a cancelled context: %v", err)
	}
}

func TestStats(t *testing.T) {
	a, err := New(t.TempDir(), Options{Include: []string{"/a"}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	st, err := a.Apply(context.Background(), bytes.NewReader(layer(t, reg("a", "12345"), reg("b", "678"), dir("c/"))))
	if err != nil {
		t.Fatal(err)
	}
	if st != (Stats{Entries: 3, Bytes: 5, Skipped: 2}) {
		t.Errorf("stats %+v", st)
	}
}

// TestNoFdLeak: after Close, every descriptor the Applier opened is
// closed, whatever path the layers took through the resolver.
func TestNoFdLeak(t *testing.T) {
	count := func() int {
		fds, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			testenv.Missing(t, "no /proc/self/fd: %v", err)
		}
		return len(fds)
	}
	before := count()
	root := t.TempDir()
	for range 3 {
		applyAll(root, Options{}, layer(t,
			dir("a/"), dir("a/b/"), reg("a/b/c", "c"), sym("l", "a/b"), reg("l/d", "d"),
			sym("dangling", "/x/y"), reg("dangling/z", "z"), hard("h", "l/d"),
		), layer(t, reg("a/.wh.b", ""), reg("x/.wh..wh..opq", ""), sym("a", "x"), reg("a/e", "e")),
			layer(t, hard("bad", "nothing")))
	}
	if after := count(); after != before {
		t.Errorf("%d descriptors open before, %d after", before, after)
	}
}

// TestWarnings: problems that do not stop extraction are reported once
// per kind, with a count.
func TestWarnings(t *testing.T) {
	vol := mk('V', "volume", 0)
	global := tent{hdr: tar.Header{Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{"comment": "git"}}}
	warns := mustApply(t, t.TempDir(), Options{}, layer(t,
		global, vol, vol,
		sym("s1", "x").xattr("user.a", "1"), sym("s2", "x").xattr("user.b", "2"), // no user.* on symlinks
		dir(".wh.dir/"), reg(".wh.dir/f", ""),
	))
	want := []string{
		`2 extended attributes not set (refused by the filesystem); first: user.a on "s1"`,
		`2 entries of unsupported types skipped; first: "volume" (type 'V')`,
		`1 entries below whiteout-named directories skipped; first: ".wh.dir/f"`,
	}
	if len(warns) != len(want) {
		t.Fatalf("warnings:\n%s", strings.Join(warns, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(warns[i], want[i]) {
			t.Errorf("warning %q, want %q...", warns[i], want[i])
		}
	}
}
