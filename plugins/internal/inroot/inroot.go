// Package inroot opens paths inside a root directory the way a process
// whose root is that directory would see them: absolute symlinks mean the
// root's own paths and ".." stops at the root, so nothing an image holds
// can lead outside it. It is the one resolver of ocix: the layer applier
// and the runc backend's access to a root filesystem both go through it.
//
// Where the kernel has openat2 (Linux 5.6), RESOLVE_IN_ROOT does the work.
// Where it answers ENOSYS (an older kernel) or EPERM (a seccomp profile
// that does not know it), a resolver in this package gives the same
// guarantee: every component is opened relative to its parent's
// descriptor with O_NOFOLLOW, symlinks are read and resolved here, inside
// the root, and ".." goes back to a descriptor this walk already holds, so
// the kernel itself never follows a symlink or climbs a directory.
//
// Why not os.Root or filepath-securejoin, the two ready-made resolvers:
//   - os.Root refuses absolute symlinks and any symlink or ".." that
//     leads above the root ("path escapes from parent") and follows at
//     most 8 links. Images are full of absolute symlinks (/var/run ->
//     /run, /lib -> /usr/lib) that must mean the root's own paths, so its
//     answers differ from RESOLVE_IN_ROOT's: an export would fail where
//     the openat2 path succeeds.
//   - filepath-securejoin's handle API (pathrs-lite: OpenatInRoot,
//     MkdirAllHandle, Reopen), which runc uses on such kernels, has the
//     right semantics, but its fallback climbs ".." with openat(fd, "..")
//     and then checks /proc/self/fd to see that it did not leave the root,
//     and turns its O_PATH handles into open files through /proc too. It
//     needs a trustworthy procfs (absent or masked on some CI runners and
//     HPC nodes, the hosts the fallback is for), and its fallback cannot be
//     forced from outside, so our tests could not run it on this kernel.
//     Keeping the directories of the walk open makes ".." a pop of a
//     descriptor we hold: no procfs, and a rename inside the root cannot
//     take the walk out of it. It would also be a new module for ~150
//     lines.
package inroot

import (
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// maxSymlinks is how many symlinks one lookup may follow, as the kernel
// bounds it (MAXSYMLINKS): more is ELOOP.
const maxSymlinks = 40

// NoOpenat2Env, set to any non-empty value, makes every ocix process that
// sees it use the fallback resolver although the kernel has openat2: the
// test hook that lets the suites run the fallback on a current kernel.
const NoOpenat2Env = "OCIX_NO_OPENAT2"

// Resolver names.
const (
	Openat2  = "openat2"
	Fallback = "fallback"
)

var (
	// forced is set by ForceFallback or, once, from NoOpenat2Env.
	forced atomic.Bool
	// noOpenat2 is set when the kernel refused openat2.
	noOpenat2 atomic.Bool
	probeOnce sync.Once
)

// probe decides, once per process, whether openat2 can be used.
func probe() {
	probeOnce.Do(func() {
		if os.Getenv(NoOpenat2Env) != "" {
			forced.Store(true)
		}
		root, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return // the first real lookup will tell
		}
		defer unix.Close(root)
		fd, err := openat2(root, ".", unix.O_PATH|unix.O_DIRECTORY)
		if err == nil {
			unix.Close(fd)
		} else if err == unix.ENOSYS || err == unix.EPERM {
			noOpenat2.Store(true)
		}
	})
}

// Resolver reports which resolver Open uses in this process: Openat2 or
// Fallback.
func Resolver() string {
	probe()
	if forced.Load() || noOpenat2.Load() {
		return Fallback
	}
	return Openat2
}

// ForceFallback makes Open use the fallback resolver (on) or the kernel's
// when it has one (off), for this process; tests and benchmarks compare
// the two with it. Other processes follow NoOpenat2Env.
func ForceFallback(on bool) {
	probe()
	forced.Store(on)
}

// Open opens name, resolved with directory rootfd as "/", with the open(2)
// flags given (O_CLOEXEC is added; O_CREAT is not supported: create with
// an *at call relative to the parent's descriptor). A magic link (procfs's
// /proc/PID/fd/N and the like) on the way is refused with ELOOP, and
// O_NOFOLLOW refuses a symlink as the last component, as for open(2).
func Open(rootfd int, name string, flags int) (int, error) {
	if Resolver() == Openat2 {
		fd, err := openat2(rootfd, name, flags)
		if err != unix.ENOSYS {
			return fd, err
		}
		// A seccomp filter installed after the probe: fall back from now on.
		noOpenat2.Store(true)
	}
	return walkOpen(rootfd, name, flags)
}

// Child opens name, one component of directory dirfd, never following a
// symlink there (a symlink is ELOOP, or ENOTDIR with O_DIRECTORY) and
// never climbing: ".." and names with a slash are EXDEV, as openat2's
// RESOLVE_BENEATH answers. A single component needs nothing from the
// kernel beyond openat, so both resolvers share this.
func Child(dirfd int, name string, flags int) (int, error) {
	if name == ".." || strings.IndexByte(name, '/') >= 0 {
		return -1, unix.EXDEV
	}
	return unix.Openat(dirfd, name, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
}

// openat2 retries EAGAIN, which openat2 returns when a rename or mount
// raced with a RESOLVE_IN_ROOT lookup.
func openat2(rootfd int, name string, flags int) (int, error) {
	how := unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	for range 16 {
		fd, err := unix.Openat2(rootfd, name, &how)
		if err != unix.EAGAIN {
			return fd, err
		}
	}
	return -1, unix.EAGAIN
}
