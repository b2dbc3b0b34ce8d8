// Package tree describes a root filesystem on disk entry by entry, and
// compares two descriptions path by path: how exports are checked against
// what they must hold, and how `ocix compare` tells backends apart.
package tree

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Entry is one path of a tree, with every field an export must get right.
type Entry struct {
	Path   string      `json:"path"` // "/etc/passwd"; the root is "/"
	Type   string      `json:"type"` // file, dir, symlink, fifo, char, block, socket
	Mode   fs.FileMode `json:"mode"` // permission bits with setuid, setgid and sticky
	UID    int         `json:"uid"`
	GID    int         `json:"gid"`
	Size   int64       `json:"size,omitempty"`   // files only
	Digest string      `json:"digest,omitempty"` // sha256 of a file's content
	Target string      `json:"target,omitempty"` // a symlink's
	Device string      `json:"device,omitempty"` // "major:minor" of a device node
	// Links lists the other paths sharing this file's inode (hard links),
	// sorted; empty for a file with one name.
	Links  []string          `json:"links,omitempty"`
	Xattrs map[string]string `json:"xattrs,omitempty"`
}

// Manifest is a tree's entries by path.
type Manifest map[string]Entry

// Paths lists the manifest's paths, sorted.
func (m Manifest) Paths() []string {
	paths := make([]string, 0, len(m))
	for p := range m {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	return paths
}

// Scan describes the tree under root, without following symlinks.
func Scan(root string) (Manifest, error) {
	m := Manifest{}
	inodes := map[[2]uint64][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		name := "/" + filepath.ToSlash(rel)
		if rel == "." {
			name = "/"
		}
		e, ino, err := entryAt(path, name)
		if err != nil {
			return err
		}
		if e.Type == "file" {
			inodes[ino] = append(inodes[ino], name)
		}
		m[name] = e
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, names := range inodes {
		if len(names) < 2 {
			continue
		}
		for _, n := range names {
			e := m[n]
			e.Links = slices.DeleteFunc(slices.Clone(names), func(o string) bool { return o == n })
			slices.Sort(e.Links)
			m[n] = e
		}
	}
	return m, nil
}

// entryAt is the Entry of the file at path, named name in the manifest,
// and its device and inode (for hard links).
func entryAt(path, name string) (Entry, [2]uint64, error) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return Entry{}, [2]uint64{}, &os.PathError{Op: "lstat", Path: path, Err: err}
	}
	e := Entry{Path: name, UID: int(st.Uid), GID: int(st.Gid), Mode: permMode(st.Mode)}
	ino := [2]uint64{st.Dev, st.Ino}
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFREG:
		e.Type, e.Size = "file", st.Size
		d, err := fileDigest(path)
		if err != nil {
			return e, ino, err
		}
		e.Digest = d
	case syscall.S_IFDIR:
		e.Type = "dir"
	case syscall.S_IFLNK:
		e.Type = "symlink"
		t, err := os.Readlink(path)
		if err != nil {
			return e, ino, err
		}
		e.Target = t
		// A symlink's mode means nothing and differs between filesystems.
		e.Mode = 0
	case syscall.S_IFIFO:
		e.Type = "fifo"
	case syscall.S_IFCHR, syscall.S_IFBLK:
		e.Type = "char"
		if st.Mode&syscall.S_IFMT == syscall.S_IFBLK {
			e.Type = "block"
		}
		e.Device = fmt.Sprintf("%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
	case syscall.S_IFSOCK:
		e.Type = "socket"
	}
	x, err := Xattrs(path)
	e.Xattrs = x
	return e, ino, err
}

// permMode keeps the permission bits with setuid, setgid and sticky.
func permMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	if m&syscall.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if m&syscall.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if m&syscall.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

func fileDigest(path string) (string, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// Xattrs reads a path's extended attributes, without following a symlink.
func Xattrs(path string) (map[string]string, error) {
	size, err := unix.Llistxattr(path, nil)
	if err != nil || size == 0 {
		if errors.Is(err, unix.ENOTSUP) {
			err = nil
		}
		return nil, err
	}
	buf := make([]byte, size)
	if size, err = unix.Llistxattr(path, buf); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, name := range strings.Split(strings.TrimRight(string(buf[:size]), "\x00"), "\x00") {
		vsize, err := unix.Lgetxattr(path, name, nil)
		if err != nil {
			return nil, err
		}
		val := make([]byte, vsize)
		if vsize, err = unix.Lgetxattr(path, name, val); err != nil {
			return nil, err
		}
		out[name] = string(val[:vsize])
	}
	return out, nil
}
