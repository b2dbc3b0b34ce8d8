package applier

import (
	"fmt"
	"hash/maphash"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

const (
	whPrefix     = ".wh."
	whMetaPrefix = ".wh..wh."     // aufs bookkeeping (.wh..wh.plnk and the like)
	whOpaque     = ".wh..wh..opq" // the directory hides what lower layers had in it
)

type whiteoutKind int

const (
	notWhiteout whiteoutKind = iota
	whRemove                 // .wh.NAME: NAME is removed
	whOpaqueDir              // .wh..wh..opq: the directory is made opaque
	whMeta                   // aufs bookkeeping: ignored
	whInside                 // below a whiteout-named directory: skipped
)

// parseWhiteout classifies a cleaned entry name. For whRemove it returns
// the directory and the name to remove; for whOpaqueDir, the directory.
func parseWhiteout(name string) (kind whiteoutKind, dir, target string) {
	if !strings.Contains(name, whPrefix) {
		return notWhiteout, "", ""
	}
	dir, base := split(name)
	for c := range strings.SplitSeq(dir, "/") {
		if strings.HasPrefix(c, whMetaPrefix) {
			return whMeta, "", ""
		}
		if strings.HasPrefix(c, whPrefix) {
			return whInside, "", ""
		}
	}
	switch {
	case base == whOpaque:
		return whOpaqueDir, dir, ""
	case strings.HasPrefix(base, whMetaPrefix):
		return whMeta, "", ""
	case strings.HasPrefix(base, whPrefix):
		return whRemove, dir, base[len(whPrefix):]
	}
	return notWhiteout, "", ""
}

// whiteout applies a whiteout entry: it removes from the lower layers what
// it names (never what this layer wrote, whichever comes first in the
// tar), and never appears in the result itself.
func (a *Applier) whiteout(kind whiteoutKind, name, dir, target string) error {
	switch kind {
	case whMeta:
		return nil
	case whInside:
		a.warns.add(warnWhiteoutDir, "%q", name)
		return nil
	case whRemove:
		// ".wh.", ".wh.." and ".wh..." would name the directory itself or
		// its parent.
		if target == "" || target == "." || target == ".." {
			return fmt.Errorf("invalid whiteout %q", name)
		}
	}
	hidden := dir
	if kind == whRemove {
		hidden = join(dir, target)
	}
	if a.include != nil && !a.include.match(hidden) {
		return nil
	}
	pfd, err := a.dirs.open(dir, false)
	if err == unix.ENOENT || err == unix.ENOTDIR {
		return nil // nothing below to hide
	}
	if err != nil {
		return fmt.Errorf("whiteout directory %q: %w", dir, err)
	}
	// Removing directories or symlinks can change what cached paths
	// resolve to.
	a.dirs.invalidate()
	if kind == whRemove {
		return a.removeLower(pfd, target, hidden)
	}
	return a.removeLowerChildren(pfd, ".", dir)
}

// removeLower removes base (in pfd; rel is its path in the root) unless
// this layer wrote it. A directory this layer wrote, or made as the
// parent of something it wrote, stays, but what lower layers left in it
// is removed.
func (a *Applier) removeLower(pfd int, base, rel string) error {
	if !a.upper.has(rel) {
		return a.removeAll(pfd, base, rel)
	}
	return a.removeLowerChildren(pfd, base, rel)
}

// removeLowerChildren applies removeLower to the entries of directory
// base in pfd, if it is a directory.
func (a *Applier) removeLowerChildren(pfd int, base, rel string) error {
	fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err == unix.ENOTDIR || err == unix.ELOOP || err == unix.ENOENT {
		return nil // not a directory: nothing below
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	names, err := readNames(fd)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := a.removeLower(fd, n, join(rel, n)); err != nil {
			return err
		}
	}
	return nil
}

// removeAll removes base in pfd, a whole tree if it is a directory,
// without following symlinks.
func (a *Applier) removeAll(pfd int, base, rel string) error {
	err := unix.Unlinkat(pfd, base, 0)
	switch err {
	case nil, unix.ENOENT:
		return nil
	case unix.EISDIR:
		return a.removeTree(pfd, base, rel)
	}
	return fmt.Errorf("removing %q: %w", rel, err)
}

// removeTree removes directory base in pfd and everything below it, and
// forgets the metadata recorded for the directories it removes.
func (a *Applier) removeTree(pfd int, base, rel string) error {
	a.dirs.invalidate()
	fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("removing %q: %w", rel, err)
	}
	names, err := readNames(fd)
	for _, n := range names {
		if err = a.removeAll(fd, n, join(rel, n)); err != nil {
			break
		}
	}
	unix.Close(fd)
	if err != nil {
		return err
	}
	delete(a.dirMeta, rel)
	if err := unix.Unlinkat(pfd, base, unix.AT_REMOVEDIR); err != nil {
		return fmt.Errorf("removing %q: %w", rel, err)
	}
	return nil
}

// readNames lists a directory open at fd, which stays open.
func readNames(fd int) ([]string, error) {
	dup, err := unix.Dup(fd)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(dup), "")
	defer f.Close()
	return f.Readdirnames(-1)
}

// upperSet holds the paths the current layer wrote, and their parent
// directories, so that its whiteouts spare them: the OCI spec has a
// whiteout apply to lower layers only, wherever it sits in the tar. Paths
// are kept as 64-bit seeded hashes, not strings, so that a layer of a
// million entries costs a few megabytes; a collision (odds 2^-64 per pair)
// would only leave a lower file in place.
type upperSet struct {
	seed    maphash.Seed
	m       map[uint64]struct{}
	lastDir string // parent of the last path added: its ancestors are in
}

func newUpperSet() upperSet {
	return upperSet{seed: maphash.MakeSeed(), m: make(map[uint64]struct{})}
}

func (u *upperSet) reset() {
	clear(u.m)
	u.lastDir = ""
}

func (u *upperSet) has(rel string) bool {
	_, ok := u.m[maphash.String(u.seed, rel)]
	return ok
}

// add records name and its ancestors. Tars list a directory's entries
// together, so the ancestors are usually known already.
func (u *upperSet) add(name string) {
	u.m[maphash.String(u.seed, name)] = struct{}{}
	dir, _ := split(name)
	if dir == u.lastDir {
		return
	}
	u.lastDir = dir
	for dir != "." {
		h := maphash.String(u.seed, dir)
		if _, ok := u.m[h]; ok {
			return // its ancestors were added with it
		}
		u.m[h] = struct{}{}
		dir, _ = split(dir)
	}
}
