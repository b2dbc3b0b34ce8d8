package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// run is one run's directory under runs/:
//
//	rootfs/       the run's view of the image: an overlayfs mount, or a copy
//	upper/ work/  overlayfs's writable layer and work directory
//	scratch/      the backend's scratch space (runc writes its bundle there)
//	lock          held by the ocix running it
//	kept          present when the run was kept (--keep): never swept
type run struct {
	*ownedDir
	mounted bool
}

const keptMark = "kept"

func (r *run) rootfs() string  { return filepath.Join(r.path, "rootfs") }
func (r *run) scratch() string { return filepath.Join(r.path, "scratch") }

// newRun makes a run directory with its view of e: overlayfs, whose
// lower layer is the cached image itself, so that starting a container
// costs no copy; a copy where overlayfs is refused (not root, a cache on a
// filesystem overlayfs cannot take as upper layer).
func (c *Cache) newRun(e *entry) (*run, error) {
	d, err := newOwnedDir(filepath.Join(c.store.dir, runsDir), "")
	if err != nil {
		return nil, fmt.Errorf("rootfs cache: %w", err)
	}
	r := &run{ownedDir: d}
	if err := os.Mkdir(r.scratch(), 0o700); err != nil {
		r.remove()
		return nil, err
	}
	if !c.copy {
		err := r.mount(e)
		if err == nil {
			c.log.Debug("rootfs cache: overlayfs view", "run", r.path, "image", e.digest)
			return r, nil
		}
		c.log.Debug("rootfs cache: overlayfs refused, copying the image instead", "error", err)
	}
	if err := copyTree(e.rootfs(), r.rootfs()); err != nil {
		r.remove()
		return nil, fmt.Errorf("copying the root filesystem: %w", err)
	}
	return r, nil
}

// mount mounts the overlayfs view of e at r.rootfs().
func (r *run) mount(e *entry) error {
	upper, work := filepath.Join(r.path, "upper"), filepath.Join(r.path, "work")
	for _, dir := range []string{upper, work, r.rootfs()} {
		if err := os.Mkdir(dir, 0o700); err != nil {
			return err
		}
	}
	lower := e.rootfs()
	// The view's root directory is upper's: it must have the image's
	// owner and mode, or a non-root user cannot even enter "/".
	if err := copyRootAttrs(lower, upper); err != nil {
		return err
	}
	// Mount options are comma-separated, and ':' separates lower layers.
	for _, p := range []string{lower, upper, work} {
		if strings.ContainsAny(p, ",:\\") {
			return fmt.Errorf("%s: a path overlayfs options cannot carry", p)
		}
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work)
	// volatile (Linux 5.10): the layer is thrown away after the run, so
	// overlayfs need not sync it. Older kernels refuse it: mount without.
	err := unix.Mount("overlay", r.rootfs(), "overlay", 0, opts+",volatile")
	if err != nil {
		err = unix.Mount("overlay", r.rootfs(), "overlay", 0, opts)
	}
	if err != nil {
		os.RemoveAll(upper)
		os.RemoveAll(work)
		os.Remove(r.rootfs())
		return fmt.Errorf("mount overlay: %w", err)
	}
	r.mounted = true
	return nil
}

// keep leaves the run as it is, for the user to look at.
func (r *run) keep() {
	os.WriteFile(filepath.Join(r.path, keptMark), nil, 0o600)
	r.release()
}

// remove unmounts the view and removes the run's directory.
func (r *run) remove() {
	defer r.release()
	removeRun(r.path)
}

// removeRun unmounts a run's view and removes its directory. It never
// removes through a view still mounted: that would write whiteouts, and
// with a copy fallback gone wrong, worse.
func removeRun(path string) error {
	view := filepath.Join(path, "rootfs")
	if err := unmount(view); err != nil {
		return err
	}
	return os.RemoveAll(path)
}

// unmount unmounts path if it is a mount point; a view still busy (a
// process of the container not quite gone) is detached after a while.
func unmount(path string) error {
	for i := 0; mountPoint(path); i++ {
		if i > 8 {
			return fmt.Errorf("unmount %s: still mounted", path)
		}
		switch err := unix.Unmount(path, 0); {
		case err == nil:
		case errors.Is(err, unix.EBUSY) && i < 5:
			time.Sleep(20 * time.Millisecond)
		case errors.Is(err, unix.EBUSY):
			if err := unix.Unmount(path, unix.MNT_DETACH); err != nil {
				return fmt.Errorf("unmount %s: %w", path, err)
			}
		default:
			return fmt.Errorf("unmount %s: %w", path, err)
		}
	}
	return nil
}

// mountPoint reports whether path is mounted on: it lives on another
// device than its parent (overlayfs has a device of its own).
func mountPoint(path string) bool {
	var st, parent unix.Stat_t
	if unix.Lstat(path, &st) != nil || unix.Lstat(filepath.Dir(path), &parent) != nil {
		return false
	}
	return st.Dev != parent.Dev
}

// sweep removes what ocix commands that died left: runs whose owner is
// gone (not kept ones), fills cut short, prunes cut short. Best effort:
// it never fails a run.
func (c *Cache) sweep() {
	runs, _ := filepath.Glob(filepath.Join(c.store.dir, runsDir, "*"))
	for _, p := range runs {
		if _, err := os.Stat(filepath.Join(p, keptMark)); err == nil {
			continue
		}
		if abandoned(p) {
			c.log.Debug("rootfs cache: removing a run left by an ocix that died", "run", p)
			removeRun(p)
		}
	}
	fills, _ := filepath.Glob(filepath.Join(c.store.images(), fillPrefix+"*"))
	for _, p := range fills {
		if abandoned(p) {
			c.log.Debug("rootfs cache: removing a fill cut short", "fill", p)
			os.RemoveAll(p)
		}
	}
	prunes, _ := filepath.Glob(filepath.Join(c.store.images(), prunePrefix+"*"))
	for _, p := range prunes {
		os.RemoveAll(p)
	}
}
