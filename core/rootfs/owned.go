package rootfs

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// ownerLock is the file in an owned directory that its owner keeps locked.
const ownerLock = "lock"

// newborn is how long a directory without its lock file yet is taken for
// one being set up rather than one left by an ocix that died in between.
const newborn = time.Minute

// ownedDir is a directory that one live ocix works in — a fill of the
// cache, a run — holding its lock file locked for as long as it works
// there. One whose lock is free was left by an ocix that died (SIGKILL,
// power loss) and is swept by the next.
type ownedDir struct {
	path string
	lock *lock
}

// newOwnedDir makes a directory in parent named after pattern (as
// os.MkdirTemp) and locks it.
func newOwnedDir(parent, pattern string) (*ownedDir, error) {
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, err
	}
	path, err := os.MkdirTemp(parent, pattern)
	if err != nil {
		return nil, err
	}
	l, err := lockFile(context.Background(), filepath.Join(path, ownerLock), unix.LOCK_EX, false)
	if err != nil {
		os.RemoveAll(path)
		return nil, err
	}
	return &ownedDir{path: path, lock: l}, nil
}

// release gives the directory up, leaving it to be swept unless removed.
func (d *ownedDir) release() { d.lock.unlock() }

// abandoned reports whether the owned directory at path has no live owner.
func abandoned(path string) bool {
	f, err := os.Open(filepath.Join(path, ownerLock))
	if errors.Is(err, fs.ErrNotExist) {
		st, err := os.Stat(path)
		return err == nil && time.Since(st.ModTime()) > newborn
	}
	if err != nil {
		return false
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return false
	}
	return true
}
