package applier

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ocix/ocix/e2e/testenv"
)

// t0 is the mtime of every test entry unless one is given.
var t0 = time.Date(2021, 3, 4, 5, 6, 7, 123456789, time.UTC)

// tent is a test tar entry; its methods return modified copies, so
// entries read as reg("a", "x").perm(0o600).owner(1, 2).
type tent struct {
	hdr  tar.Header
	body string
}

func mk(typ byte, name string, mode int64) tent {
	return tent{hdr: tar.Header{Typeflag: typ, Name: name, Mode: mode, ModTime: t0, Format: tar.FormatPAX}}
}

func reg(name, body string) tent {
	e := mk(tar.TypeReg, name, 0o644)
	e.body = body
	return e
}
func dir(name string) tent { return mk(tar.TypeDir, name, 0o755) }
func sym(name, target string) tent {
	e := mk(tar.TypeSymlink, name, 0o777)
	e.hdr.Linkname = target
	return e
}
func hard(name, target string) tent {
	e := mk(tar.TypeLink, name, 0o644)
	e.hdr.Linkname = target
	return e
}
func fifo(name string) tent { return mk(tar.TypeFifo, name, 0o644) }
func chr(name string, major, minor int64) tent {
	e := mk(tar.TypeChar, name, 0o666)
	e.hdr.Devmajor, e.hdr.Devminor = major, minor
	return e
}

func (e tent) perm(m int64) tent       { e.hdr.Mode = m; return e }
func (e tent) owner(uid, gid int) tent { e.hdr.Uid, e.hdr.Gid = uid, gid; return e }
func (e tent) mtime(t time.Time) tent  { e.hdr.ModTime = t; return e }
func (e tent) xattr(k, v string) tent {
	if e.hdr.PAXRecords == nil {
		e.hdr.PAXRecords = map[string]string{}
	}
	e.hdr.PAXRecords[xattrPAXPrefix+k] = v
	return e
}

// layer builds an uncompressed layer tar.
func layer(t testing.TB, entries ...tent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("tar header %q: %v", h.Name, err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// applyAll applies layers into root with a fresh Applier, and returns the
// first error and the warnings.
func applyAll(root string, opts Options, layers ...[]byte) (warns []string, err error) {
	opts.Warn = func(m string) { warns = append(warns, m) }
	a, err := New(root, opts)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	for _, l := range layers {
		if _, err := a.Apply(context.Background(), bytes.NewReader(l)); err != nil {
			return warns, err
		}
	}
	err = a.Finish()
	return warns, err
}

func mustApply(t *testing.T, root string, opts Options, layers ...[]byte) []string {
	t.Helper()
	warns, err := applyAll(root, opts, layers...)
	if err != nil {
		t.Fatal(err)
	}
	return warns
}

// node is what a test sees of one path.
type node struct {
	typ      byte // f d l p c b
	mode     uint32
	uid, gid uint32
	body     string
	target   string
	ino      uint64
	nlink    uint64
	rdev     uint64
	mtime    unix.Timespec
	ctime    unix.Timespec
	xattrs   map[string]string
}

func lnode(t testing.TB, p string) (node, error) {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return node{}, err
	}
	n := node{
		mode: st.Mode & 0o7777, uid: st.Uid, gid: st.Gid, ino: st.Ino, nlink: st.Nlink,
		rdev: st.Rdev, mtime: st.Mtim, ctime: st.Ctim, xattrs: userXattrs(t, p),
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		n.typ = 'f'
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		n.body = string(b)
	case unix.S_IFDIR:
		n.typ = 'd'
	case unix.S_IFLNK:
		n.typ = 'l'
		n.target, _ = os.Readlink(p)
	case unix.S_IFIFO:
		n.typ = 'p'
	case unix.S_IFCHR:
		n.typ = 'c'
	case unix.S_IFBLK:
		n.typ = 'b'
	default:
		n.typ = '?'
	}
	return n, nil
}

func userXattrs(t testing.TB, p string) map[string]string {
	buf := make([]byte, 4096)
	n, err := unix.Llistxattr(p, buf)
	if err != nil || n == 0 {
		return nil
	}
	m := map[string]string{}
	for _, k := range strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00") {
		if !strings.HasPrefix(k, "user.") {
			continue
		}
		v := make([]byte, 4096)
		vn, err := unix.Lgetxattr(p, k, v)
		if err != nil {
			t.Fatalf("getxattr %s %s: %v", p, k, err)
		}
		m[k] = string(v[:vn])
	}
	return m
}

// snapshot walks dir without following symlinks, skipping the subtree
// skip, and returns every path (relative to dir) with its node.
func snapshot(t testing.TB, dir, skip string) map[string]node {
	t.Helper()
	out := map[string]node{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == skip {
			return filepath.SkipDir
		}
		n, err := lnode(t, p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = n
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// want is the expected state of one path in a golden tree. mode is the
// full permission with special bits; mtime zero means t0; anyTime skips
// the time check (directories made implicitly).
type want struct {
	typ      byte
	mode     uint32
	uid, gid uint32
	body     string
	target   string
	sameAs   string // path of the same inode (hard link)
	notSame  string // path that must be another inode
	xattrs   map[string]string
	mtime    time.Time
	anyTime  bool
	rdev     uint64
}

func f(body string, mode uint32) want     { return want{typ: 'f', body: body, mode: mode} }
func d(mode uint32) want                  { return want{typ: 'd', mode: mode} }
func implicitDir() want                   { return want{typ: 'd', mode: 0o755 &^ processUmask(), anyTime: true} }
func l(target string) want                { return want{typ: 'l', target: target} }
func (w want) owned(uid, gid uint32) want { w.uid, w.gid = uid, gid; return w }
func (w want) same(p string) want         { w.sameAs = p; return w }
func (w want) other(p string) want        { w.notSame = p; return w }

// checkTree compares the tree under root, path by path, with the golden
// map (which must list every path but the root, unless it lists ".").
func checkTree(t *testing.T, root string, golden map[string]want) {
	t.Helper()
	testenv.RequireRoot(t) // owners are those of the tar
	got := snapshot(t, root, "")
	if _, ok := golden["."]; !ok {
		delete(got, ".")
	}
	var paths []string
	for p := range got {
		paths = append(paths, p)
	}
	for p := range golden {
		if _, ok := got[p]; !ok {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	for _, p := range paths {
		n, ok := got[p]
		w, expected := golden[p]
		switch {
		case !expected:
			t.Errorf("%s: unexpected %c", p, n.typ)
			continue
		case !ok:
			t.Errorf("%s: missing", p)
			continue
		}
		checkNode(t, p, n, w, got)
	}
}

func checkNode(t *testing.T, p string, n node, w want, all map[string]node) {
	t.Helper()
	if n.typ != w.typ {
		t.Errorf("%s: type %c, want %c", p, n.typ, w.typ)
		return
	}
	if w.typ != 'l' && n.mode != w.mode {
		t.Errorf("%s: mode %#o, want %#o", p, n.mode, w.mode)
	}
	if n.uid != w.uid || n.gid != w.gid {
		t.Errorf("%s: owner %d:%d, want %d:%d", p, n.uid, n.gid, w.uid, w.gid)
	}
	if n.body != w.body || n.target != w.target {
		t.Errorf("%s: content %q -> %q, want %q -> %q", p, n.body, n.target, w.body, w.target)
	}
	if n.rdev != w.rdev {
		t.Errorf("%s: rdev %#x, want %#x", p, n.rdev, w.rdev)
	}
	if w.sameAs != "" && all[w.sameAs].ino != n.ino {
		t.Errorf("%s: not the same inode as %s", p, w.sameAs)
	}
	if w.notSame != "" && all[w.notSame].ino == n.ino {
		t.Errorf("%s: same inode as %s", p, w.notSame)
	}
	if len(n.xattrs) != len(w.xattrs) {
		t.Errorf("%s: xattrs %v, want %v", p, n.xattrs, w.xattrs)
	}
	for k, v := range w.xattrs {
		if n.xattrs[k] != v {
			t.Errorf("%s: xattr %s=%q, want %q", p, k, n.xattrs[k], v)
		}
	}
	if !w.anyTime {
		mt := w.mtime
		if mt.IsZero() {
			mt = t0
		}
		if got := time.Unix(n.mtime.Unix()); !got.Equal(mt) {
			t.Errorf("%s: mtime %v, want %v", p, got, mt)
		}
	}
}

// oneLine checks that err is a one-line error naming entry.
func oneLine(t *testing.T, err error, entry string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one naming %q", entry)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, entry) {
		t.Errorf("error %q: want one line naming %q", msg, entry)
	}
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
