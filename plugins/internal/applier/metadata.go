package applier

import (
	"archive/tar"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

const xattrPAXPrefix = "SCHILY.xattr."

// meta is the metadata of an entry that outlives its header: directories
// keep it until Finish, so it is kept small.
type meta struct {
	mode     uint32 // permissions with setuid, setgid and sticky
	uid, gid int
	times    [2]unix.Timespec // atime, mtime
	xattrs   []xattr          // nil for nearly every entry
}

type xattr struct{ name, value string }

func metaOf(hdr *tar.Header) meta {
	atime := hdr.AccessTime
	if atime.IsZero() {
		atime = hdr.ModTime
	}
	m := meta{
		mode: uint32(hdr.Mode) & 0o7777,
		uid:  hdr.Uid,
		gid:  hdr.Gid,
		times: [2]unix.Timespec{
			{Sec: atime.Unix(), Nsec: int64(atime.Nanosecond())},
			{Sec: hdr.ModTime.Unix(), Nsec: int64(hdr.ModTime.Nanosecond())},
		},
	}
	for k, v := range hdr.PAXRecords {
		if name, ok := strings.CutPrefix(k, xattrPAXPrefix); ok {
			m.xattrs = append(m.xattrs, xattr{name, v})
		}
	}
	return m
}

// needChmod reports whether a node created with mode&0777 lacks bits of
// mode: the special bits, which creation ignores (and chown would clear),
// or what the umask took away. Most files need no chmod.
func (a *Applier) needChmod(mode uint32) bool {
	return mode&^0o777 != 0 || mode&a.umask != 0
}

// setFd applies m to an open file or directory, in the order that keeps
// each step: chown first (it clears setuid and setgid, and file
// capabilities), then the mode, the xattrs, and the times last (the other
// steps change ctime only, but writes would change mtime).
func (a *Applier) setFd(fd int, m *meta, name string, dir bool) error {
	if a.owner {
		if err := a.ownerErr(unix.Fchown(fd, m.uid, m.gid), name); err != nil {
			return err
		}
	} else {
		a.noteOwner(m, name)
	}
	if dir || a.needChmod(m.mode) {
		if err := unix.Fchmod(fd, m.mode); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	err := a.setXattrs(m, name, func(attr, value string) error {
		return unix.Fsetxattr(fd, attr, []byte(value), 0)
	})
	if err != nil {
		return err
	}
	if err := futimens(fd, &m.times); err != nil {
		return fmt.Errorf("setting times: %w", err)
	}
	return nil
}

// setAt applies m to base in pfd without following it, for symlinks (which
// have no mode of their own), fifos and device nodes, which are not opened.
func (a *Applier) setAt(pfd int, base string, m *meta, name string, symlink bool) error {
	if a.owner {
		err := unix.Fchownat(pfd, base, m.uid, m.gid, unix.AT_SYMLINK_NOFOLLOW)
		if err := a.ownerErr(err, name); err != nil {
			return err
		}
	} else {
		a.noteOwner(m, name)
	}
	if !symlink && a.needChmod(m.mode) {
		if err := chmodAt(pfd, base, m.mode); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	// lsetxattr does not follow the last component; the magic link names
	// pfd itself.
	err := a.setXattrs(m, name, func(attr, value string) error {
		return unix.Lsetxattr(procFd(pfd)+"/"+base, attr, []byte(value), 0)
	})
	if err != nil {
		return err
	}
	if err := unix.UtimesNanoAt(pfd, base, m.times[:], unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("setting times: %w", err)
	}
	return nil
}

// chmodAt changes the mode of base in pfd without following a symlink
// there: fchmodat2 (Linux 6.6) takes AT_SYMLINK_NOFOLLOW; without it, the
// mode is set through an O_PATH descriptor of the node itself.
func chmodAt(pfd int, base string, mode uint32) error {
	err := unix.Fchmodat(pfd, base, mode, unix.AT_SYMLINK_NOFOLLOW)
	if err != unix.EOPNOTSUPP {
		return err
	}
	fd, err := unix.Openat(pfd, base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Chmod(procFd(fd), mode)
}

func procFd(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

// futimens sets the times of an open file: utimensat with a NULL path,
// which x/sys/unix does not offer.
func futimens(fd int, ts *[2]unix.Timespec) error {
	_, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(ts)), 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// ownerErr turns the refusals a root without full privilege meets (ids
// not mapped in a user namespace) into a warning; other errors stay.
func (a *Applier) ownerErr(err error, name string) error {
	switch err {
	case nil:
		return nil
	case unix.EPERM, unix.EINVAL:
		a.warns.add(warnChown, "%q: %v", name, err)
		return nil
	}
	return fmt.Errorf("chown: %w", err)
}

// noteOwner counts entries whose owner could not be applied because we
// are not root.
func (a *Applier) noteOwner(m *meta, name string) {
	if a.warnOwner && (m.uid != a.euid || m.gid != a.egid) {
		a.warns.add(warnOwner, "%q (uid %d, gid %d)", name, m.uid, m.gid)
	}
}

// xattrErr turns a filesystem's refusal of an attribute (security.* on
// tmpfs, user.* on a symlink, trusted.* without privilege) into a warning.
func (a *Applier) xattrErr(err error, name, attr string) error {
	switch err {
	case nil:
		return nil
	case unix.EOPNOTSUPP, unix.EPERM, unix.EACCES, unix.EINVAL, unix.ERANGE, unix.E2BIG, unix.ENOSPC:
		a.warns.add(warnXattr, "%s on %q: %v", attr, name, err)
		return nil
	}
	return fmt.Errorf("xattr %s: %w", attr, err)
}

// applyDirMeta sets the recorded directory metadata, deepest first:
// reverse lexical order puts every path before its ancestors, which are
// its prefixes.
func (a *Applier) applyDirMeta() error {
	paths := slices.Sorted(maps.Keys(a.dirMeta))
	for _, p := range slices.Backward(paths) {
		m := a.dirMeta[p]
		fd, err := inRoot(a.rootfd, p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
		switch err {
		case nil:
		case unix.ENOENT, unix.ENOTDIR, unix.ELOOP:
			continue // replaced by a later entry that was no directory
		default:
			return fmt.Errorf("directory %q: %w", p, err)
		}
		err = a.setFd(fd, &m, p, true)
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("directory %q: %w", p, err)
		}
	}
	a.dirMeta = nil
	return nil
}
