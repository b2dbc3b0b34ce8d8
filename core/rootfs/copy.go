package rootfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// copyTree copies the tree at src into dst, which must not exist, with
// everything a root filesystem's files carry: owners, modes (setuid
// included), times, extended attributes (file capabilities), hard links,
// device nodes, fifos and symlinks. The tree is one ocix exported itself,
// so a walk that never follows a symlink is all the care src needs; dst is
// new, and written only by this walk.
func copyTree(src, dst string) error {
	links := map[[2]uint64]string{} // (dev, ino) of a multiply linked file → its copy
	type dir struct {
		path string
		st   unix.Stat_t
	}
	var dirs []dir
	err := filepath.WalkDir(src, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return &fs.PathError{Op: "lstat", Path: p, Err: err}
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			if err := os.Mkdir(target, 0o700); err != nil {
				return err
			}
			// Directories get their metadata last: writing into one
			// changes its times, and a read-only one could not be filled.
			dirs = append(dirs, dir{target, st})
			return copyXattrs(p, target)
		case unix.S_IFREG:
			key := [2]uint64{st.Dev, st.Ino}
			if first, ok := links[key]; ok {
				return os.Link(first, target)
			}
			if st.Nlink > 1 {
				links[key] = target
			}
			if err := copyFile(p, target); err != nil {
				return err
			}
		case unix.S_IFLNK:
			to, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := os.Symlink(to, target); err != nil {
				return err
			}
		case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO, unix.S_IFSOCK:
			if err := unix.Mknod(target, st.Mode, int(st.Rdev)); err != nil {
				return &fs.PathError{Op: "mknod", Path: target, Err: err}
			}
		default:
			return fmt.Errorf("%s: a file of unknown type %#o", p, st.Mode&unix.S_IFMT)
		}
		if err := copyXattrs(p, target); err != nil {
			return err
		}
		return setAttrs(target, &st)
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := setAttrs(dirs[i].path, &dirs[i].st); err != nil {
			return err
		}
	}
	return nil
}

// copyRootAttrs gives directory dst the owner, mode, times and extended
// attributes of directory src.
func copyRootAttrs(src, dst string) error {
	var st unix.Stat_t
	if err := unix.Lstat(src, &st); err != nil {
		return &fs.PathError{Op: "lstat", Path: src, Err: err}
	}
	if err := copyXattrs(src, dst); err != nil {
		return err
	}
	return setAttrs(dst, &st)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	// io.Copy between two files uses copy_file_range: no data crosses
	// user space, and filesystems that can share blocks do.
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// setAttrs gives path st's owner, mode and times. The owner comes first:
// chown clears setuid and setgid bits.
func setAttrs(path string, st *unix.Stat_t) error {
	if err := unix.Lchown(path, int(st.Uid), int(st.Gid)); err != nil {
		return &fs.PathError{Op: "lchown", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		if err := unix.Fchmodat(unix.AT_FDCWD, path, st.Mode&0o7777, 0); err != nil {
			return &fs.PathError{Op: "chmod", Path: path, Err: err}
		}
	}
	times := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, path, times, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "utimes", Path: path, Err: err}
	}
	return nil
}

// copyXattrs copies path's extended attributes. A filesystem without
// them has none to copy, or cannot take them: that is no error.
func copyXattrs(src, dst string) error {
	size, err := unix.Llistxattr(src, nil)
	if err != nil || size == 0 {
		return nil
	}
	buf := make([]byte, size)
	if size, err = unix.Llistxattr(src, buf); err != nil {
		return nil
	}
	for _, name := range splitNames(buf[:size]) {
		n, err := unix.Lgetxattr(src, name, nil)
		if err != nil {
			continue
		}
		val := make([]byte, n)
		if n, err = unix.Lgetxattr(src, name, val); err != nil {
			continue
		}
		err = unix.Lsetxattr(dst, name, val[:n], 0)
		if err != nil && !errors.Is(err, unix.ENOTSUP) && !errors.Is(err, unix.EPERM) {
			return &fs.PathError{Op: "setxattr " + name, Path: dst, Err: err}
		}
	}
	return nil
}

// splitNames splits listxattr's NUL-terminated names.
func splitNames(b []byte) []string {
	var out []string
	start := 0
	for i, c := range b {
		if c == 0 {
			if i > start {
				out = append(out, string(b[start:i]))
			}
			start = i + 1
		}
	}
	return out
}
