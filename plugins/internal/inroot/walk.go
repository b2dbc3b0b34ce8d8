package inroot

import (
	"strings"

	"golang.org/x/sys/unix"
)

// walk is the fallback resolver's position: the directories below the
// root it went through, outermost first. ".." pops one, so it returns to
// the very directory the walk came from and never above the root, without
// asking the kernel to climb.
type walk struct {
	root int
	dirs []int
}

func (w *walk) cur() int {
	if len(w.dirs) == 0 {
		return w.root
	}
	return w.dirs[len(w.dirs)-1]
}

func (w *walk) up() {
	if n := len(w.dirs); n > 0 {
		unix.Close(w.dirs[n-1])
		w.dirs = w.dirs[:n-1]
	}
}

func (w *walk) toRoot() {
	for len(w.dirs) > 0 {
		w.up()
	}
}

// walkOpen is Open without openat2: each component opened with
// O_NOFOLLOW relative to the directory before it, symlinks read and their
// targets walked from the root (absolute) or from where the link is
// (relative), at most maxSymlinks of them.
func walkOpen(rootfd int, name string, flags int) (int, error) {
	w := walk{root: rootfd}
	defer w.toRoot()
	rest, links := name, 0
	if rest == "" {
		return -1, unix.ENOENT
	}
	for {
		comp := rest
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			comp, rest = rest[:i], strings.TrimLeft(rest[i+1:], "/")
			if rest == "" {
				rest = "." // a trailing slash: what precedes must be a directory
			}
		} else {
			rest = ""
		}
		switch comp {
		case "", ".":
			if rest == "" {
				return unix.Openat(w.cur(), ".", flags|unix.O_CLOEXEC, 0)
			}
			continue
		case "..":
			w.up()
			if rest == "" {
				return unix.Openat(w.cur(), ".", flags|unix.O_CLOEXEC, 0)
			}
			continue
		}
		var err error
		if rest == "" {
			var fd int
			var maybeLink bool
			if fd, maybeLink, err = last(w.cur(), comp, flags); !maybeLink {
				return fd, err
			}
		} else {
			var fd int
			fd, err = unix.Openat(w.cur(), comp, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err == nil {
				w.dirs = append(w.dirs, fd)
				continue
			}
			if err != unix.ENOTDIR { // a symlink is ENOTDIR with O_DIRECTORY
				return -1, err
			}
		}
		target, lerr := Readlink(w.cur(), comp)
		if lerr == unix.EINVAL { // no symlink: a file where a directory was needed
			return -1, err
		}
		if lerr != nil {
			return -1, lerr
		}
		if magic, err := onProcfs(w.cur()); err != nil || magic {
			return -1, unix.ELOOP // RESOLVE_NO_MAGICLINKS: links in procfs are not followed
		}
		if links++; links > maxSymlinks {
			return -1, unix.ELOOP
		}
		if target == "" {
			return -1, unix.ENOENT
		}
		if target[0] == '/' {
			w.toRoot()
		}
		if rest != "" {
			target += "/" + rest
		}
		rest = target
	}
}

// last opens the final component, which must not be followed if it is a
// symlink; maybeLink reports a failure (or an O_PATH descriptor of a
// symlink, closed) that a symlink there explains, for walkOpen to follow
// unless flags has O_NOFOLLOW. err is then what a non-symlink would give.
func last(dirfd int, name string, flags int) (fd int, maybeLink bool, err error) {
	fd, err = unix.Openat(dirfd, name, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if flags&unix.O_NOFOLLOW != 0 {
		return fd, false, err
	}
	switch {
	case err == nil && flags&unix.O_PATH != 0:
		// O_PATH|O_NOFOLLOW opens a symlink itself.
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return -1, false, err
		}
		if st.Mode&unix.S_IFMT != unix.S_IFLNK {
			return fd, false, nil
		}
		unix.Close(fd)
		return -1, true, unix.ELOOP
	case err == unix.ELOOP, err == unix.ENOTDIR && flags&unix.O_DIRECTORY != 0:
		return -1, true, err
	}
	return fd, false, err
}

// onProcfs reports whether directory dirfd is in a procfs, whose symlinks
// are magic links.
func onProcfs(dirfd int) (bool, error) {
	var fs unix.Statfs_t
	if err := unix.Fstatfs(dirfd, &fs); err != nil {
		return false, err
	}
	return fs.Type == unix.PROC_SUPER_MAGIC, nil
}

// Readlink reads symlink name of directory dirfd.
func Readlink(dirfd int, name string) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(dirfd, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}
