package rootfs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// prunePrefix names an image being removed: renamed out of sight first,
// so that no run finds half of it.
const prunePrefix = ".prune-"

// Image is one cached image, as `ocix cache ls` shows it.
type Image struct {
	Digest string `json:"digest"`
	// Images are the references that resolved to it.
	Images   []string  `json:"images"`
	Platform string    `json:"platform"`
	Size     int64     `json:"size"`
	Created  time.Time `json:"created"`
	LastUsed time.Time `json:"lastUsed"`
	// InUse says a run is using it now.
	InUse bool `json:"inUse"`
}

// List lists the cached images, most recently used first.
func (c *Cache) List() ([]Image, error) {
	names, err := c.entries()
	if err != nil {
		return nil, err
	}
	refs := c.store.refs()
	out := []Image{}
	for _, name := range names {
		path := c.store.entryPath(name)
		m, used, err := readMeta(path)
		if err != nil {
			continue // vanished (pruned) since listed
		}
		img := Image{
			Digest: digestOf(name), Platform: m.Platform, Size: m.Size, Created: m.Created,
			LastUsed: used, InUse: held(c.store.lockPath(name)),
		}
		for _, r := range refs {
			if r.Digest == img.Digest && !slices.Contains(img.Images, r.Image) {
				img.Images = append(img.Images, r.Image)
			}
		}
		if len(img.Images) == 0 {
			img.Images = []string{m.Image}
		}
		sort.Strings(img.Images)
		out = append(out, img)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].LastUsed.After(out[j].LastUsed) })
	return out, nil
}

// entries lists the names of the images in the cache.
func (c *Cache) entries() ([]string, error) {
	des, err := os.ReadDir(c.store.images())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, de := range des {
		if de.IsDir() && !strings.HasPrefix(de.Name(), ".") && de.Name() != refsDir {
			names = append(names, de.Name())
		}
	}
	return names, nil
}

// Pruned is what Prune did.
type Pruned struct {
	// Removed are the images removed.
	Removed []Image `json:"removed"`
	// InUse are the images kept because a run is using them.
	InUse []Image `json:"inUse"`
	// Runs are the run directories removed: kept runs (--keep), and runs
	// left by an ocix that died.
	Runs []string `json:"runs"`
	// Freed is the size of the images removed.
	Freed int64 `json:"freed"`
}

// Prune removes every image no run is using, their records, and the run
// directories no live ocix owns, kept ones included.
func (c *Cache) Prune(ctx context.Context) (Pruned, error) {
	p := Pruned{Removed: []Image{}, InUse: []Image{}, Runs: []string{}}
	// Runs first: a kept run's view, still mounted, has its image as
	// lower layer.
	runs, _ := filepath.Glob(filepath.Join(c.store.dir, runsDir, "*"))
	for _, r := range runs {
		if abandoned(r) && removeRun(r) == nil {
			p.Runs = append(p.Runs, r)
		}
	}
	images, err := c.List()
	if err != nil {
		return p, err
	}
	for _, img := range images {
		name, err := entryName(img.Digest)
		if err != nil {
			continue
		}
		l, err := lockFile(ctx, c.store.lockPath(name), unix.LOCK_EX, false)
		if errors.Is(err, errLocked) {
			img.InUse = true
			p.InUse = append(p.InUse, img)
			continue
		}
		if err != nil {
			return p, err
		}
		err = c.removeImage(name)
		l.unlock()
		if err != nil {
			return p, err
		}
		c.store.dropRefs(img.Digest)
		img.InUse = false
		p.Removed = append(p.Removed, img)
		p.Freed += img.Size
	}
	c.sweep()
	return p, nil
}

// removeImage removes image name; the caller holds its lock exclusively.
// The lock file goes too: a waiter on it sees that and starts again.
func (c *Cache) removeImage(name string) error {
	gone, err := os.MkdirTemp(c.store.images(), prunePrefix+name+"-")
	if err != nil {
		return err
	}
	if err := os.Rename(c.store.entryPath(name), filepath.Join(gone, name)); err != nil {
		os.Remove(gone)
		return err
	}
	os.Remove(c.store.lockPath(name))
	return os.RemoveAll(gone)
}
