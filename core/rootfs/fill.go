package rootfs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ocix/ocix/core"
)

// fillTries bounds how often an image filled into the cache may vanish
// (pruned) before the run using it gets it.
const fillTries = 3

// fill exports req's image into the cache and returns it, with its shared
// lock held. digest is what the source resolved the reference to, or ""
// for a source that cannot resolve: the export's own digest then names
// the image.
//
// Fills of one digest are serialised by its lock, held exclusively across
// the export: the first ocix exports, the others wait and then find the
// image (a second export would only be thrown away). A fill is written in
// a directory of its own and renamed into place when complete, so an ocix
// killed halfway leaves nothing that looks like an image: its directory is
// swept by the next.
func (c *Cache) fill(ctx context.Context, req *core.RunRequest, digest string) (*entry, error) {
	for range fillTries {
		var err error
		if digest == "" {
			digest, err = c.fillUnresolved(ctx, req)
		} else {
			err = c.fillResolved(ctx, req, digest)
		}
		if err != nil {
			return nil, err
		}
		e, err := c.store.open(ctx, digest)
		if e != nil || err != nil {
			return e, err
		}
	}
	return nil, fmt.Errorf("image %s was removed from the cache (ocix cache prune?) each time it was filled", digest)
}

// fillResolved fills digest unless another ocix did meanwhile.
func (c *Cache) fillResolved(ctx context.Context, req *core.RunRequest, digest string) error {
	name, err := entryName(digest)
	if err != nil {
		return err
	}
	l, err := lockFile(ctx, c.store.lockPath(name), unix.LOCK_EX, true)
	if err != nil {
		return err
	}
	defer l.unlock()
	if complete(c.store.entryPath(name)) {
		return nil
	}
	fill, err := c.export(ctx, req, digest, digest)
	if err != nil {
		return err
	}
	return c.install(fill, name)
}

// fillUnresolved exports by reference and keeps the result unless an
// image of the same digest arrived meanwhile.
func (c *Cache) fillUnresolved(ctx context.Context, req *core.RunRequest) (string, error) {
	fill, err := c.export(ctx, req, req.Reference, "")
	if err != nil {
		return "", err
	}
	name, err := entryName(fill.digest)
	if err != nil {
		fill.remove()
		return "", err
	}
	l, err := lockFile(ctx, c.store.lockPath(name), unix.LOCK_EX, true)
	if err != nil {
		fill.remove()
		return "", err
	}
	defer l.unlock()
	if complete(c.store.entryPath(name)) {
		fill.remove()
		return fill.digest, nil
	}
	return fill.digest, c.install(fill, name)
}

// filling is an export under way into the cache.
type filling struct {
	*ownedDir
	digest string
}

func (f *filling) remove() {
	os.RemoveAll(f.path)
	f.release()
}

// export exports req's image by reference into a new fill directory and
// records what it is. want, when set, is the digest the export must have.
func (c *Cache) export(ctx context.Context, req *core.RunRequest, reference, want string) (*filling, error) {
	dir, err := newOwnedDir(c.store.images(), fillPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("rootfs cache: %w", err)
	}
	f := &filling{ownedDir: dir}
	tree := filepath.Join(dir.path, treeDir)
	if err := os.Mkdir(tree, 0o755); err != nil {
		f.remove()
		return nil, err
	}
	dest, err := core.DirDestination(tree, false)
	if err != nil {
		f.remove()
		return nil, err
	}
	c.log.Debug("rootfs cache: exporting", "image", req.Image, "reference", reference, "into", dir.path)
	res, err := c.src.Export(ctx, core.ExportRequest{
		Repository: req.Repository, Reference: reference, Endpoints: req.Endpoints,
		Platform: req.Platform, Events: req.Events,
	}, dest)
	if err != nil {
		f.remove()
		return nil, err
	}
	if want != "" && res.Digest != want {
		f.remove()
		return nil, fmt.Errorf("%s: the export is of %s, not of %s as resolved", req.Image, res.Digest, want)
	}
	f.digest = res.Digest
	m, err := json.Marshal(meta{
		Image: req.Image, Digest: res.Digest, Platform: res.Platform.String(),
		Size: res.Bytes, Entries: res.Entries, Created: time.Now().UTC(),
	})
	if err == nil {
		err = os.WriteFile(filepath.Join(dir.path, metaFile), m, 0o644)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir.path, configFile), res.Config, 0o644)
	}
	if err != nil {
		f.remove()
		return nil, fmt.Errorf("rootfs cache: %w", err)
	}
	return f, nil
}

// install renames a complete fill into place as image name. The caller
// holds the image's lock exclusively.
func (c *Cache) install(f *filling, name string) error {
	defer f.release()
	// The owner's lock file has no use in an image.
	os.Remove(filepath.Join(f.path, ownerLock))
	if err := os.Rename(f.path, c.store.entryPath(name)); err != nil {
		os.RemoveAll(f.path)
		return fmt.Errorf("rootfs cache: %w", err)
	}
	c.log.Debug("rootfs cache: filled", "digest", f.digest)
	return nil
}

// complete reports whether the image directory at path is in place. A
// directory only ever appears there whole, by rename.
func complete(path string) bool {
	_, err := os.Stat(filepath.Join(path, configFile))
	return !errors.Is(err, fs.ErrNotExist)
}
