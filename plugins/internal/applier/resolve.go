package applier

import (
	"errors"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ocix/ocix/plugins/internal/inroot"
)

// maxFollow bounds how many dangling symlinks one directory creation may
// follow, as the kernel bounds symlink traversal (ELOOP after 40).
const maxFollow = 40

// inRoot opens name as the kernel resolves it with the root directory as
// "/": absolute symlinks and ".." stay inside the root, as they will for
// the container at run time (package inroot, with or without openat2).
func inRoot(rootfd int, name string, flags int) (int, error) {
	return inroot.Open(rootfd, name, flags)
}

// child opens one plain component of a directory, refusing symlinks: the
// fast path of dirStack, valid because a name without symlinks resolves
// the same from any ancestor as from the root.
func child(dirfd int, name string) (int, error) {
	return inroot.Child(dirfd, name, unix.O_PATH|unix.O_DIRECTORY)
}

// dirStack holds O_PATH descriptors for the chain of directories from the
// root down to the directory of the last entry. Tar streams list a
// directory's entries together and walk the tree depth first, so most
// entries reuse the top descriptor and a new directory costs one openat
// of a single component relative to its parent.
//
// The descriptors name inodes, not paths: after anything that could change
// what a path resolves to (removing a directory or a symlink) the stack is
// marked stale and rebuilt from the root on the next lookup. The
// descriptors stay open until then, so the entry being applied can keep
// using the one it holds.
type dirStack struct {
	rootfd int
	path   string // logical path of the top directory; "" for the root
	ends   []int  // ends[i] is the length of path up to component i
	fds    []int  // fds[i] is the directory path[:ends[i]] resolved to
	stale  bool
}

// invalidate marks the stack stale; see dirStack.
func (s *dirStack) invalidate() { s.stale = true }

// reset closes every descriptor of the stack.
func (s *dirStack) reset() {
	s.truncate(0)
	s.stale = false
}

func (s *dirStack) truncate(n int) {
	for _, fd := range s.fds[n:] {
		unix.Close(fd)
	}
	s.fds = s.fds[:n]
	s.ends = s.ends[:n]
	if n == 0 {
		s.path = ""
	} else {
		s.path = s.path[:s.ends[n-1]]
	}
}

func (s *dirStack) top() int {
	if len(s.fds) == 0 {
		return s.rootfd
	}
	return s.fds[len(s.fds)-1]
}

// shared returns how many components of dir (cleaned, relative) the stack
// already holds.
func (s *dirStack) shared(dir string) int {
	n := 0
	for n < len(s.ends) {
		e := s.ends[n]
		if len(dir) < e || dir[:e] != s.path[:e] || (len(dir) > e && dir[e] != '/') {
			break
		}
		n++
	}
	return n
}

// open returns a descriptor for directory dir (cleaned, relative, "." for
// the root), resolved inside the root. With create, missing directories
// are made (mode 0755, as tar does). The descriptor belongs to the stack:
// the caller must not close it and may use it until the next call.
func (s *dirStack) open(dir string, create bool) (int, error) {
	if s.stale {
		s.reset()
	}
	if dir == "." {
		s.truncate(0)
		return s.rootfd, nil
	}
	n := s.shared(dir)
	s.truncate(n)
	start := 0
	if n > 0 {
		start = s.ends[n-1] + 1
	}
	for start < len(dir) {
		end := strings.IndexByte(dir[start:], '/')
		if end < 0 {
			end = len(dir)
		} else {
			end += start
		}
		fd, err := s.step(dir, start, end, create)
		if err != nil {
			return -1, err
		}
		s.fds = append(s.fds, fd)
		s.ends = append(s.ends, end)
		s.path = dir[:end]
		start = end + 1
	}
	return s.top(), nil
}

// step opens component dir[start:end] below the top of the stack.
func (s *dirStack) step(dir string, start, end int, create bool) (int, error) {
	parent, name := s.top(), dir[start:end]
	fd, err := child(parent, name)
	if err == unix.ENOENT && create {
		if err = unix.Mkdirat(parent, name, 0o755); err == nil || err == unix.EEXIST {
			fd, err = child(parent, name)
		}
	}
	switch err {
	case nil:
		return fd, nil
	case unix.ELOOP, unix.ENOTDIR:
		// A symlink (or something that is no directory) on the way: let the
		// kernel resolve the whole prefix from the root.
		if create {
			budget := maxFollow
			return mkdirAll(s.rootfd, dir[:end], &budget)
		}
		return inRoot(s.rootfd, dir[:end], unix.O_PATH|unix.O_DIRECTORY)
	}
	return -1, err
}

// lookup returns a descriptor for directory dir without creating anything
// and without moving the stack; owned reports whether the caller must
// close it.
func (s *dirStack) lookup(dir string) (fd int, owned bool, err error) {
	if dir == "." {
		return s.rootfd, false, nil
	}
	if !s.stale {
		if n := s.shared(dir); n > 0 && s.ends[n-1] == len(dir) {
			return s.fds[n-1], false, nil
		}
	}
	fd, err = inRoot(s.rootfd, dir, unix.O_PATH|unix.O_DIRECTORY)
	return fd, err == nil, err
}

// mkdirAll opens directory rel inside the root, creating what is missing.
// When a component is a dangling symlink, the directory is made where the
// symlink points (inside the root), as docker's applier does for layers
// that write below /var/run -> /run before /run exists; budget bounds how
// many such symlinks are followed.
func mkdirAll(rootfd int, rel string, budget *int) (int, error) {
	fd, err := inRoot(rootfd, rel, unix.O_PATH|unix.O_DIRECTORY)
	if err != unix.ENOENT || rel == "." {
		return fd, err
	}
	parentRel, name := split(rel)
	pfd, err := mkdirAll(rootfd, parentRel, budget)
	if err != nil {
		return -1, err
	}
	if pfd != rootfd {
		defer unix.Close(pfd)
	}
	err = unix.Mkdirat(pfd, name, 0o755)
	if err == nil {
		return child(pfd, name)
	}
	if err != unix.EEXIST {
		return -1, err
	}
	target, err := inroot.Readlink(pfd, name)
	if errors.Is(err, unix.EINVAL) { // not a symlink: it appeared meanwhile
		return inRoot(rootfd, rel, unix.O_PATH|unix.O_DIRECTORY)
	}
	if err != nil {
		return -1, err
	}
	if *budget--; *budget < 0 {
		return -1, unix.ELOOP
	}
	return mkdirAll(rootfd, linkDest(parentRel, target), budget)
}

// linkDest is where a symlink in directory dir with the given target
// points, as a cleaned path relative to the root, ".." clamped at the root
// as RESOLVE_IN_ROOT does.
func linkDest(dir, target string) string {
	if !path.IsAbs(target) {
		target = dir + "/" + target
	}
	p := path.Clean("/" + target)
	if p == "/" {
		return "."
	}
	return p[1:]
}
