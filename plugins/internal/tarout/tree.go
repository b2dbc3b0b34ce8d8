package tarout

import (
	"archive/tar"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/ocix/ocix/core/tree"
)

// AddTree writes the tree under dir, in lexical order, as `docker export`
// writes a container's root: names relative to it, owners as numbers, hard
// links as links to the first path of their inode, xattrs as PAX records.
func (w *Writer) AddTree(ctx context.Context, dir string) error {
	links := map[inode]string{}
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		return w.addPath(path, rel, links)
	})
}

type inode struct{ dev, ino uint64 }

func (w *Writer) addPath(path, rel string, links map[inode]string) error {
	info, err := os.Lstat(path)
	if err != nil {
		return err
	}
	target := ""
	if info.Mode()&fs.ModeSymlink != 0 {
		if target, err = os.Readlink(path); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(info, target)
	if err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	hdr.Name = rel
	if info.IsDir() {
		hdr.Name += "/"
	}
	// Numbers only: the host's user names mean nothing in the image.
	hdr.Uname, hdr.Gname = "", ""
	st := info.Sys().(*syscall.Stat_t)
	if info.Mode().IsRegular() && st.Nlink > 1 {
		key := inode{uint64(st.Dev), st.Ino}
		if first, ok := links[key]; ok {
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
		} else {
			links[key] = rel
		}
	}
	if hdr.PAXRecords, err = paxXattrs(path); err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	if hdr.Typeflag != tar.TypeReg {
		return w.add(hdr, nil)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return w.add(hdr, f)
}

// paxXattrs are a path's extended attributes as PAX records.
func paxXattrs(path string) (map[string]string, error) {
	x, err := tree.Xattrs(path)
	if err != nil || len(x) == 0 {
		return nil, err
	}
	recs := make(map[string]string, len(x))
	for name, val := range x {
		recs["SCHILY.xattr."+name] = val
	}
	return recs, nil
}
