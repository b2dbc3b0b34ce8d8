package images

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"path"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/ocix/ocix/core/tree"
)

// How the fixture images are written: nodes (a layer's entries), the
// layer tar they make, and the tree manifest they stand for.

// node is one tar entry of a test layer, or one path of an expected tree.
// Its methods return modified copies, so nodes read as
// file("a", "x", 0o600).owner(1, 2).
type node struct {
	name     string
	kind     byte // a tar type flag
	mode     int64
	uid, gid int
	body     string
	link     string // a symlink's target; a hard link's first name
	major    int64
	minor    int64
	mtime    time.Time // the layer's when zero
	xattrs   map[string]string
}

func dir(name string, mode int64) node { return node{name: name, kind: tar.TypeDir, mode: mode} }

func file(name, body string, mode int64) node {
	return node{name: name, kind: tar.TypeReg, mode: mode, body: body}
}

func symlink(name, target string) node {
	return node{name: name, kind: tar.TypeSymlink, mode: 0o777, link: target}
}

// hardlink is one more name of the file first. In a layer it takes
// first's metadata (layerTar), as tar writers describe one inode.
func hardlink(name, first string) node {
	return node{name: name, kind: tar.TypeLink, link: first}
}

func device(name string, kind byte, mode, major, minor int64) node {
	return node{name: name, kind: kind, mode: mode, major: major, minor: minor}
}

// whiteout hides name, in the same directory, from lower layers.
func whiteout(name string) node {
	d, base := path.Split(name)
	return file(d+".wh."+base, "", 0o644)
}

func (n node) owner(uid, gid int) node { n.uid, n.gid = uid, gid; return n }

func (n node) at(t time.Time) node { n.mtime = t; return n }

func (n node) with(xattrs map[string]string) node {
	n.xattrs = xattrs
	return n
}

// layerMaker makes a layer of media type mt from an uncompressed tar.
type layerMaker func(tarball []byte, mt types.MediaType) (v1.Layer, error)

func opener(b []byte) tarball.Opener {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

func gzipLayer(b []byte, mt types.MediaType) (v1.Layer, error) {
	return tarball.LayerFromOpener(opener(b), tarball.WithMediaType(mt), tarball.WithCompressedCaching)
}

func zstdLayer(b []byte, _ types.MediaType) (v1.Layer, error) {
	return tarball.LayerFromOpener(opener(b), tarball.WithCompression(compression.ZStd),
		tarball.WithMediaType(types.OCILayerZStd), tarball.WithCompressedCaching)
}

func plainLayer(b []byte, _ types.MediaType) (v1.Layer, error) {
	return static.NewLayer(b, types.OCIUncompressedLayer), nil
}

// randomContent is n bytes that look random, the same on every call.
func randomContent(n int) string {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{'o', 'c', 'i', 'x'}).Read(b)
	return string(b)
}

// layerTar writes nodes as a layer tar, dated mtime unless a node has its
// own.
func layerTar(nodes []node, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	written := map[string]node{}
	for _, n := range nodes {
		if n.kind == tar.TypeLink {
			// docker and podman apply a hard link entry's mode, owner and
			// mtime to the inode, GNU tar does not: give it the file's.
			first := written[n.link]
			n.mode, n.uid, n.gid, n.mtime = first.mode, first.uid, first.gid, first.mtime
		}
		written[n.name] = n
		hdr := &tar.Header{
			Typeflag: n.kind, Name: n.name, Linkname: n.link, Mode: n.mode,
			Uid: n.uid, Gid: n.gid, Size: int64(len(n.body)), ModTime: n.mtime,
			Devmajor: n.major, Devminor: n.minor, Format: tar.FormatPAX,
		}
		if n.kind == tar.TypeDir {
			hdr.Name += "/"
		}
		if n.kind != tar.TypeReg {
			hdr.Size = 0
		}
		if hdr.ModTime.IsZero() {
			hdr.ModTime = mtime
		}
		for k, v := range n.xattrs {
			if hdr.PAXRecords == nil {
				hdr.PAXRecords = map[string]string{}
			}
			hdr.PAXRecords["SCHILY.xattr."+k] = v
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("%s: %w", n.name, err)
		}
		if _, err := io.WriteString(tw, n.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// manifestOf describes expected nodes as tree entries. A hard link node
// is one more name of the file node it names: same entry, and each name
// lists the others in Links.
func manifestOf(nodes []node) (tree.Manifest, error) {
	m := tree.Manifest{}
	groups := map[string][]string{} // first name -> every name
	for _, n := range nodes {
		if _, dup := m[n.name]; dup {
			return nil, fmt.Errorf("expected tree: %s twice", n.name)
		}
		if n.kind == tar.TypeLink {
			first, ok := m[n.link]
			if !ok || first.Type != "file" {
				return nil, fmt.Errorf("expected tree: hard link %s to %s, not a file listed before it", n.name, n.link)
			}
			first.Path = n.name
			m[n.name] = first
			if groups[n.link] == nil {
				groups[n.link] = []string{n.link}
			}
			groups[n.link] = append(groups[n.link], n.name)
			continue
		}
		m[n.name] = entryOf(n)
	}
	for _, names := range groups {
		for _, name := range names {
			e := m[name]
			e.Links = slices.DeleteFunc(slices.Clone(names), func(o string) bool { return o == name })
			slices.Sort(e.Links)
			m[name] = e
		}
	}
	return m, nil
}

func entryOf(n node) tree.Entry {
	e := tree.Entry{Path: n.name, Mode: fileMode(n.mode), UID: n.uid, GID: n.gid, Xattrs: n.xattrs}
	switch n.kind {
	case tar.TypeReg:
		sum := sha256.Sum256([]byte(n.body))
		e.Type, e.Size, e.Digest = "file", int64(len(n.body)), "sha256:"+hex.EncodeToString(sum[:])
	case tar.TypeDir:
		e.Type = "dir"
	case tar.TypeSymlink:
		e.Type, e.Target, e.Mode = "symlink", n.link, 0 // tree ignores a symlink's mode
	case tar.TypeFifo:
		e.Type = "fifo"
	case tar.TypeChar, tar.TypeBlock:
		e.Type = map[byte]string{tar.TypeChar: "char", tar.TypeBlock: "block"}[n.kind]
		e.Device = fmt.Sprintf("%d:%d", n.major, n.minor)
	}
	return e
}

// fileMode turns a tar mode (07777 bits) into tree's fs.FileMode.
func fileMode(mode int64) fs.FileMode {
	m := fs.FileMode(mode & 0o777)
	for bit, flag := range map[int64]fs.FileMode{0o4000: fs.ModeSetuid, 0o2000: fs.ModeSetgid, 0o1000: fs.ModeSticky} {
		if mode&bit != 0 {
			m |= flag
		}
	}
	return m
}
