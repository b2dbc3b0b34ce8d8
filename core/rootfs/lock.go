package rootfs

import (
	"context"
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// lockPoll is how often a lock held by another ocix is tried again. flock
// cannot wait on a context, and the waits are for an export or a prune.
const lockPoll = 25 * time.Millisecond

// errLocked is a lock that another process holds, for the non-waiting tries.
var errLocked = errors.New("locked")

// lock is a flock(2) lock on a file. The kernel drops it when its holder
// dies, however it dies: a lock is never stale, so no lock needs recovery.
type lock struct{ f *os.File }

// lockFile takes a lock of kind how (unix.LOCK_SH or LOCK_EX) on path,
// creating the file, waiting for it until ctx ends. With wait false it
// fails at once with errLocked when another process holds it.
//
// A lock file may be removed by whoever holds it exclusively (prune): a
// waiter that then gets the lock of the removed file sees that path now
// names another file, or none, and starts again.
func lockFile(ctx context.Context, path string, how int, wait bool) (*lock, error) {
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, err
		}
		for {
			err = unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
			if err != unix.EWOULDBLOCK && err != unix.EINTR {
				break
			}
			if !wait {
				f.Close()
				return nil, errLocked
			}
			select {
			case <-ctx.Done():
				f.Close()
				return nil, ctx.Err()
			case <-time.After(lockPoll):
			}
		}
		if err != nil {
			f.Close()
			return nil, err
		}
		if samePath(f, path) {
			return &lock{f: f}, nil
		}
		f.Close()
	}
}

// samePath reports whether path still names the file f.
func samePath(f *os.File, path string) bool {
	var a, b unix.Stat_t
	if unix.Fstat(int(f.Fd()), &a) != nil || unix.Stat(path, &b) != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}

// unlock releases the lock.
func (l *lock) unlock() {
	if l != nil && l.f != nil {
		l.f.Close()
		l.f = nil
	}
}

// held reports whether some process holds a lock on path, without waiting.
func held(path string) bool {
	l, err := lockFile(context.Background(), path, unix.LOCK_EX, false)
	if err != nil {
		return errors.Is(err, errLocked)
	}
	l.unlock()
	return false
}
