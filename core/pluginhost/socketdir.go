package pluginhost

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The plugins of one ocix process put their unix sockets in a private
// directory of its own, which ocix removes when it ends. A host that is
// killed cannot remove it: the next ocix sweeps such leftovers. Each
// directory holds a lock file its host keeps locked while it lives, so a
// directory whose lock can be taken belongs to a dead host. A directory is
// made under a "new-" name and renamed to "host-" only once locked, so a
// sweep never mistakes one being made for one left behind.

const lockName = "lock"

type socketDir struct {
	path string
	lock *os.File
}

// maxBaseLen keeps socket paths (base/host-N/pluginN, about 35 bytes more)
// within the 108 bytes a unix socket address holds.
const maxBaseLen = 64

// socketBase is the per-user parent of every host's socket directory:
// under $TMPDIR, or /tmp when $TMPDIR is too deep for a socket path.
func socketBase() (string, error) {
	base := filepath.Join(os.TempDir(), fmt.Sprintf("ocix-%d", os.Getuid()))
	if len(base) > maxBaseLen {
		base = filepath.Join("/tmp", fmt.Sprintf("ocix-%d", os.Getuid()))
	}
	if err := os.Mkdir(base, 0o700); err != nil && !os.IsExist(err) {
		return "", err
	}
	st, err := os.Lstat(base)
	if err != nil {
		return "", err
	}
	// Refuse a directory another user made or could write into: the
	// sockets in it are the plugins' only door.
	if !st.IsDir() || st.Mode().Perm() != 0o700 || int(st.Sys().(*syscall.Stat_t).Uid) != os.Getuid() {
		return "", fmt.Errorf("%s is not a private directory of this user", base)
	}
	return base, nil
}

// newSocketDir sweeps stale directories and makes this host's own.
func newSocketDir() (*socketDir, error) {
	base, err := socketBase()
	if err != nil {
		return nil, fmt.Errorf("plugin socket directory: %w", err)
	}
	sweep(base)
	tmp, err := os.MkdirTemp(base, "new-")
	if err != nil {
		return nil, fmt.Errorf("plugin socket directory: %w", err)
	}
	dir := filepath.Join(base, "host-"+strings.TrimPrefix(filepath.Base(tmp), "new-"))
	lock, err := os.OpenFile(filepath.Join(tmp, lockName), os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		err = unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	}
	if err == nil {
		err = os.Rename(tmp, dir)
	}
	if err != nil {
		if lock != nil {
			lock.Close()
		}
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("plugin socket directory: %w", err)
	}
	return &socketDir{path: dir, lock: lock}, nil
}

// remove deletes the directory and every socket left in it.
func (d *socketDir) remove() {
	os.RemoveAll(d.path)
	d.lock.Close()
}

// sweep removes the socket directories of hosts that died.
func sweep(base string) {
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range entries {
		dir := filepath.Join(base, e.Name())
		if !e.IsDir() {
			continue
		}
		// "new-" directories are made and renamed within microseconds; one
		// older than a minute was left by a host killed in between.
		if strings.HasPrefix(e.Name(), "new-") {
			if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > time.Minute {
				os.RemoveAll(dir)
			}
			continue
		}
		if strings.HasPrefix(e.Name(), "host-") && unlocked(filepath.Join(dir, lockName)) {
			os.RemoveAll(dir)
		}
	}
}

func unlocked(lockPath string) bool {
	f, err := os.Open(lockPath)
	if err != nil {
		return os.IsNotExist(err)
	}
	defer f.Close()
	return unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil
}
