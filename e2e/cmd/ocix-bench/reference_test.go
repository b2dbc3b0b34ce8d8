package main

import (
	"archive/tar"
	"compress/gzip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// gzLayer writes a gzip layer of entries (a body for regular files).
func gzLayer(t *testing.T, dir string, hdrs ...tar.Header) string {
	t.Helper()
	f, err := os.CreateTemp(dir, "layer-*.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	for _, h := range hdrs {
		h.Uid, h.Gid = os.Getuid(), os.Getgid() // as the test's own files
		// Regular files carry their body in Linkname, for brevity.
		body := h.Linkname
		if h.Typeflag == tar.TypeReg {
			h.Linkname, h.Size = "", int64(len(body))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(body))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

func TestReference(t *testing.T) {
	dir := t.TempDir()
	d := func(name string) tar.Header { return tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755} }
	f := func(name, body string) tar.Header {
		return tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Linkname: body}
	}
	lower := gzLayer(t, dir, d("a/"), f("a/x", "x1"), f("a/y", "y1"), d("b/"), f("b/z", "z"),
		tar.Header{Name: "hl", Typeflag: tar.TypeLink, Linkname: "a/x"}, f("gone", "g"))
	upper := gzLayer(t, dir, f("a/x", "x2"), d("b/"), f("b/.wh..wh..opq", ""), f("b/new", "n"),
		f(".wh.gone", ""), tar.Header{Name: "a/y", Typeflag: tar.TypeSymlink, Linkname: "/b/new"})
	ref, err := newReference([]string{lower, upper})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ref.tree.Paths(), []string{"/a", "/a/x", "/a/y", "/b", "/b/new", "/hl"}; !slices.Equal(got, want) {
		t.Fatalf("paths %v, want %v", got, want)
	}
	if hl, x := ref.tree["/hl"], ref.tree["/a/x"]; hl.Size != 2 || hl.Digest == x.Digest {
		t.Errorf("the hard link must keep x1 while a/x became x2: /hl %+v, /a/x %+v", hl, x)
	}
	if e := ref.tree["/a/y"]; e.Type != "symlink" || e.Target != "/b/new" {
		t.Errorf("/a/y: %+v", e)
	}
	if ref.entries != 13 {
		t.Errorf("%d entries, want 13", ref.entries)
	}

	// An export that matches, then one that lost a file and one whose file
	// differs: check must pass the first and name the others' differences.
	root := filepath.Join(dir, "root")
	write := func(p, body string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a/x", "x2")
	write("b/new", "n")
	write("hl", "x1")
	if err := os.Symlink("/b/new", filepath.Join(root, "a/y")); err != nil {
		t.Fatal(err)
	}
	if err := ref.check(root, nil); err != nil {
		t.Fatalf("a correct tree: %v", err)
	}
	write("b/new", "wrong")
	err = ref.check(root, nil)
	if err == nil || !strings.Contains(err.Error(), "/b/new: content differs") {
		t.Fatalf("a wrong file: %v", err)
	}
	if err := ref.check(root, []string{"/b/new"}); err != nil {
		t.Fatalf("a known difference: %v", err)
	}
	os.Remove(filepath.Join(root, "b/new"))
	if err := ref.check(root, nil); err == nil || !strings.Contains(err.Error(), "/b/new: presence differs") {
		t.Fatalf("a missing file: %v", err)
	}
}
