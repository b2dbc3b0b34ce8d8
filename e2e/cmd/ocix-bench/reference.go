package main

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/ocix/ocix/core/tree"
)

// reference is what a correct export of the benchmark image holds,
// computed here from the layer blobs with the OCI changeset rules
// (whiteouts, opaque directories, an entry replacing what was at its
// path, hard links keeping the content they had), independently of every
// tool the benchmark measures: a fast export that is wrong must not win.
type reference struct {
	tree    tree.Manifest
	size    int64 // uncompressed bytes of regular files in the layers
	entries int64 // tar entries in the layers
}

// checkedFields are the fields an export is checked on. Hard-link groups
// and xattrs are left out: tools differ there by design (crane's #2002,
// docker's xattrs) and the e2e suites check them on images made for it.
var checkedFields = []string{"presence", "type", "mode", "uid", "gid", "size", "content", "target", "device"}

// newReference reads the gzip layer blobs, lowest first, each once.
func newReference(layers []string) (*reference, error) {
	r := &reference{tree: tree.Manifest{}}
	for _, l := range layers {
		if err := r.apply(l); err != nil {
			return nil, fmt.Errorf("reference tree: %s: %w", l, err)
		}
	}
	delete(r.tree, "/") // the export's own directory: its mode is the caller's
	return r, nil
}

func (r *reference) apply(blob string) error {
	f, err := os.Open(blob)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	written := map[string]bool{} // by this layer: its opaque whiteouts spare them
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		r.entries++
		p := path.Clean("/" + hdr.Name)
		dir, base := path.Split(p)
		dir = path.Clean(dir)
		switch {
		case base == ".wh..wh..opq":
			r.remove(dir, false, func(q string) bool { return !written[q] })
			continue
		case strings.HasPrefix(base, ".wh."):
			r.remove(path.Join(dir, base[len(".wh."):]), true, func(string) bool { return true })
			continue
		}
		e, err := r.entry(p, hdr, tr)
		if err != nil {
			return err
		}
		if old, ok := r.tree[p]; ok && (old.Type != "dir" || e.Type != "dir") {
			r.remove(p, true, func(string) bool { return true })
		}
		r.tree[p] = e
		written[p] = true
	}
}

// remove deletes p's descendants (and p itself with self) that keep says.
func (r *reference) remove(p string, self bool, keep func(string) bool) {
	prefix := strings.TrimSuffix(p, "/") + "/"
	for q := range r.tree {
		if (q == p && self || strings.HasPrefix(q, prefix)) && keep(q) {
			delete(r.tree, q)
		}
	}
}

func (r *reference) entry(p string, hdr *tar.Header, content io.Reader) (tree.Entry, error) {
	e := tree.Entry{Path: p, UID: hdr.Uid, GID: hdr.Gid, Mode: tarMode(hdr.Mode)}
	switch hdr.Typeflag {
	case tar.TypeReg:
		h := sha256.New()
		n, err := io.Copy(h, content)
		if err != nil {
			return e, err
		}
		r.size += n
		e.Type, e.Size, e.Digest = "file", n, "sha256:"+hex.EncodeToString(h.Sum(nil))
	case tar.TypeLink:
		target, ok := r.tree[path.Clean("/"+hdr.Linkname)]
		if !ok || target.Type != "file" {
			return e, fmt.Errorf("%s: hard link to %s, which is no file", p, hdr.Linkname)
		}
		target.Path = p // one inode: the target's content and metadata
		return target, nil
	case tar.TypeDir:
		e.Type = "dir"
	case tar.TypeSymlink:
		e.Type, e.Target, e.Mode = "symlink", hdr.Linkname, 0
	case tar.TypeFifo:
		e.Type = "fifo"
	case tar.TypeChar, tar.TypeBlock:
		e.Type = "char"
		if hdr.Typeflag == tar.TypeBlock {
			e.Type = "block"
		}
		e.Device = fmt.Sprintf("%d:%d", hdr.Devmajor, hdr.Devminor)
	default:
		return e, fmt.Errorf("%s: tar entry type %q", p, hdr.Typeflag)
	}
	return e, nil
}

// tarMode is a tar header's mode as tree.Entry keeps it.
func tarMode(m int64) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// check compares the tree an export left at root with the reference; a
// difference at a path in known (an engine's own additions) is allowed.
// It returns nil, or what differs (at most a few examples).
func (r *reference) check(root string, known []string) error {
	got, err := tree.Scan(root)
	if err != nil {
		return err
	}
	delete(got, "/")
	var bad []string
	for _, d := range tree.Diff(r.tree, got) {
		if slices.Contains(checkedFields, d.Field) && !slices.Contains(known, d.Path) {
			bad = append(bad, d.String())
		}
	}
	if len(bad) == 0 {
		return nil
	}
	if len(bad) > 3 {
		bad = append(bad[:3], fmt.Sprintf("… %d in all", len(bad)))
	}
	return fmt.Errorf("%d entries, the reference has %d; reference ≠ export: %s", len(got), len(r.tree), strings.Join(bad, "; "))
}
