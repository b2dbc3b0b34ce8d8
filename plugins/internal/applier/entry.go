package applier

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"

	"golang.org/x/sys/unix"
)

// entry applies one tar entry.
func (a *Applier) entry(hdr *tar.Header, r io.Reader, st *Stats) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil // archive metadata (git archive writes one), no file
	}
	name, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if wh, dir, target := parseWhiteout(name); wh != notWhiteout {
		return a.whiteout(wh, name, dir, target)
	}
	if a.include != nil && !a.include.match(name) {
		st.Skipped++
		return nil
	}
	if name == "." {
		return a.rootEntry(hdr)
	}
	dir, base := split(name)
	pfd, err := a.dirs.open(dir, true)
	if err != nil {
		return fmt.Errorf("parent directory %q: %w", dir, err)
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		err = a.mkdir(pfd, base, name, hdr)
	case tar.TypeReg, tar.TypeCont, tar.TypeGNUSparse:
		err = a.writeFile(pfd, base, name, hdr, r)
		st.Bytes += hdr.Size
	case tar.TypeSymlink:
		err = a.symlink(pfd, base, name, hdr)
	case tar.TypeLink:
		err = a.hardlink(pfd, base, name, hdr)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		err = a.mknod(pfd, base, name, hdr)
	default:
		a.warns.add(warnType, "%q (type %q)", name, hdr.Typeflag)
		st.Skipped++
		return nil
	}
	if err == nil {
		a.upper.add(name)
	}
	return err
}

// rootEntry applies an entry naming the root itself. The root may take
// metadata but never another type: replacing it with a symlink would send
// every later entry, and the caller's own use of the root, elsewhere
// (umoci CVE-2021-29136).
func (a *Applier) rootEntry(hdr *tar.Header) error {
	if hdr.Typeflag != tar.TypeDir {
		return fmt.Errorf("refusing to replace the root directory with an entry of type %q", hdr.Typeflag)
	}
	a.dirMeta["."] = metaOf(hdr)
	return nil
}

// mkdir makes a directory, or keeps the one there with its contents (a
// directory over a directory merges). Its metadata waits for Finish.
func (a *Applier) mkdir(pfd int, base, name string, hdr *tar.Header) error {
	m := metaOf(hdr)
	// Owner rwx until Finish, so that its entries can be written even as
	// non-root.
	perm := m.mode&0o777 | 0o700
	err := unix.Mkdirat(pfd, base, perm)
	if err == unix.EEXIST {
		var isDir bool
		if isDir, err = a.clearUnlessDir(pfd, base, name); err == nil && !isDir {
			err = unix.Mkdirat(pfd, base, perm)
		}
	}
	if err != nil {
		return err
	}
	if err := a.countDirMeta(name, &m); err != nil {
		return err
	}
	a.dirMeta[name] = m
	return nil
}

// writeFile writes a regular file, always as a new inode: whatever was at
// the path is removed first, never opened and truncated, so that a hard
// link to the old file keeps the old content.
func (a *Applier) writeFile(pfd int, base, name string, hdr *tar.Header, r io.Reader) error {
	m := metaOf(hdr)
	fd := -1
	err := a.replacing(pfd, base, name, func() (err error) {
		fd, err = unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, m.mode&0o777)
		return err
	})
	if err != nil {
		return err
	}
	if hdr.Size > 0 {
		var hole bool
		if hole, err = a.copyData(fd, r); err == nil && hole {
			// The file ends in a hole: its size is set, not written.
			err = unix.Ftruncate(fd, hdr.Size)
		}
	}
	if err == nil {
		err = a.setFd(fd, &m, name, false)
	}
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	return err
}

// copyData copies the entry's content into fd through the reused buffer.
// A read that is all zeros is skipped over, leaving a hole, as GNU tar
// and cp do for sparse files: a sparse entry, or a layer of compressed
// zeros, takes no disk. hole reports that the file ends in one, whose
// size the caller then sets (only then: a system call per file matters on
// images of many small files). Between reads it checks the Apply's
// context, so that one huge entry can still be cancelled.
func (a *Applier) copyData(fd int, r io.Reader) (hole bool, err error) {
	for {
		select {
		case <-a.done:
			return false, errCancelled
		default:
		}
		n, rerr := r.Read(a.buf)
		if err := a.countContent(int64(n)); err != nil {
			return false, err
		}
		if n > 0 {
			hole = allZero(a.buf[:n])
		}
		if hole && n > 0 {
			if _, err := unix.Seek(fd, int64(n), io.SeekCurrent); err != nil {
				return false, err
			}
			n = 0
		}
		for off := 0; off < n; {
			w, err := unix.Write(fd, a.buf[off:n])
			switch {
			case err == unix.EINTR:
				continue
			case err != nil:
				return false, err
			case w == 0:
				return false, io.ErrShortWrite
			}
			off += w
		}
		if rerr == io.EOF {
			return hole, nil
		}
		if rerr != nil {
			return false, rerr
		}
	}
}

// errCancelled is what copyData returns when the Apply's context ends in
// the middle of an entry; Apply reports the context's own error.
var errCancelled = errors.New("cancelled")

// symlink makes a symlink. Its target is data: it is never followed here.
func (a *Applier) symlink(pfd int, base, name string, hdr *tar.Header) error {
	err := a.replacing(pfd, base, name, func() error {
		return unix.Symlinkat(hdr.Linkname, pfd, base)
	})
	if err != nil {
		return err
	}
	if a.include != nil {
		a.include.follow(name, hdr.Linkname)
	}
	m := metaOf(hdr)
	return a.setAt(pfd, base, &m, name, true)
}

// hardlink links to an entry already extracted, by this layer or a lower
// one, resolved inside the root. A missing target, a directory, or a name
// climbing out of the root is an error, never clamped to something else.
// Like GNU tar, the entry's own metadata is not applied: the inode has the
// metadata of the entry that made it.
func (a *Applier) hardlink(pfd int, base, name string, hdr *tar.Header) error {
	target, err := cleanName(hdr.Linkname)
	if err != nil {
		return fmt.Errorf("hard link target %q: %w", hdr.Linkname, err)
	}
	if target == "." {
		return fmt.Errorf("hard link target %q: the root directory", hdr.Linkname)
	}
	if target == name {
		return nil // links to itself: already there
	}
	if a.include != nil && !a.include.match(target) {
		a.warns.add(warnLinkExcluded, "%q -> %q", name, hdr.Linkname)
		return nil
	}
	tdir, tbase := split(target)
	tfd, owned, err := a.dirs.lookup(tdir)
	if err != nil {
		return fmt.Errorf("hard link target %q: %w", hdr.Linkname, err)
	}
	if owned {
		defer unix.Close(tfd)
	}
	err = a.replacing(pfd, base, name, func() error {
		return unix.Linkat(tfd, tbase, pfd, base, 0)
	})
	if err == unix.EPERM && isDirAt(tfd, tbase) {
		return fmt.Errorf("hard link target %q: is a directory", hdr.Linkname)
	}
	if err != nil {
		return fmt.Errorf("hard link to %q: %w", hdr.Linkname, err)
	}
	return nil
}

// mknod makes a fifo or a device node. Device nodes need privilege: where
// the kernel refuses, they are skipped with a warning.
func (a *Applier) mknod(pfd int, base, name string, hdr *tar.Header) error {
	m := metaOf(hdr)
	mode := m.mode & 0o777
	switch hdr.Typeflag {
	case tar.TypeChar:
		mode |= unix.S_IFCHR
	case tar.TypeBlock:
		mode |= unix.S_IFBLK
	default:
		mode |= unix.S_IFIFO
	}
	dev := int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor)))
	err := a.replacing(pfd, base, name, func() error {
		return unix.Mknodat(pfd, base, mode, dev)
	})
	if err == unix.EPERM && hdr.Typeflag != tar.TypeFifo {
		a.warns.add(warnDevice, "%q", name)
		return nil
	}
	if err != nil {
		return err
	}
	return a.setAt(pfd, base, &m, name, false)
}

// replacing runs create, and if the name is taken removes what is there
// (a whole tree for a directory) and runs it once more.
func (a *Applier) replacing(pfd int, base, name string, create func() error) error {
	err := create()
	if err != unix.EEXIST {
		return err
	}
	isDir, err := a.clearUnlessDir(pfd, base, name)
	if err == nil && isDir {
		err = a.removeTree(pfd, base, name)
	}
	if err != nil {
		return err
	}
	return create()
}

// clearUnlessDir removes what is at base unless it is a directory, and
// reports whether it is one. It costs an fstatat, paid only when a name is
// taken, so that the directory stack is dropped only when a symlink (which
// it may have followed) goes.
func (a *Applier) clearUnlessDir(pfd int, base, name string) (isDir bool, err error) {
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return false, err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return true, nil
	case unix.S_IFLNK:
		a.dirs.invalidate()
	}
	if err := unix.Unlinkat(pfd, base, 0); err != nil && err != unix.ENOENT {
		return false, fmt.Errorf("removing %q: %w", name, err)
	}
	return false, nil
}

func isDirAt(dirfd int, name string) bool {
	var st unix.Stat_t
	err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	return err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR
}
