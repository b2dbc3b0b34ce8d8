// Package rootfs is core's root filesystem provider for the run backends
// that take one from core (Info.NeedsRootfs: runc). It keeps each image it
// exports unpacked in a cache under cache.dir, keyed by manifest digest and
// shared read-only by every run, and gives each run a writable view of its
// own: an overlayfs mount where the kernel allows it, a copy otherwise.
//
// A run of an image the cache holds costs one registry request — the
// export backend resolves the reference to a digest (core.Resolver) — or
// none with --pull never. Filling the cache is atomic: concurrent runs and
// an ocix killed halfway never see part of an image.
package rootfs

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/hashicorp/go-hclog"

	"github.com/ocix/ocix/core"
)

// Policy says when a run asks the registry about its image, as docker
// run --pull does.
type Policy string

const (
	// PullAlways resolves the reference at every run (one request) and
	// exports only an image the cache lacks. The default: a moved tag is
	// seen at once.
	PullAlways Policy = "always"
	// PullMissing uses what the reference last resolved to when the cache
	// holds it, and asks the registry only otherwise.
	PullMissing Policy = "missing"
	// PullNever makes no request: the cache must hold the image.
	PullNever Policy = "never"
)

// ParsePolicy reads --pull.
func ParsePolicy(s string) (Policy, error) {
	switch p := Policy(s); p {
	case PullAlways, PullMissing, PullNever:
		return p, nil
	case "":
		return PullAlways, nil
	}
	return "", core.Usagef("invalid --pull %q: want always, missing or never", s)
}

// Source is where images come from: an export backend.
type Source interface {
	Resolve(ctx context.Context, req core.ResolveRequest) (core.ResolveResult, error)
	Export(ctx context.Context, req core.ExportRequest, dest *core.Destination) (core.ExportResult, error)
}

// FromBackend is the named export backend as a Source.
func FromBackend(c *core.Core, backend string) Source { return backendSource{c, backend} }

type backendSource struct {
	core    *core.Core
	backend string
}

func (s backendSource) Resolve(ctx context.Context, req core.ResolveRequest) (core.ResolveResult, error) {
	return s.core.Resolve(ctx, s.backend, req)
}

func (s backendSource) Export(ctx context.Context, req core.ExportRequest, dest *core.Destination) (core.ExportResult, error) {
	return s.core.Export(ctx, s.backend, req, dest)
}

// Options configure a Cache. A field left zero takes the default its
// comment states.
type Options struct {
	// Dir is ocix's cache directory (cache.dir). Required.
	Dir string
	// Source exports and resolves images. Required for Prepare and Unpack.
	Source Source
	// Pull is when the registry is asked. Default: PullAlways.
	Pull Policy
	// Log gets debug lines: each export into the cache, each view.
	// Default: nothing is logged.
	Log hclog.Logger
	// Copy gives every run a copy of its image instead of an overlayfs
	// view. Default: overlayfs where the kernel allows it.
	Copy bool
}

// Cache is the cache of unpacked images and the provider of run views.
type Cache struct {
	store store
	src   Source
	pull  Policy
	log   hclog.Logger
	copy  bool
}

var _ core.RootfsProvider = (*Cache)(nil)

// New returns the cache in opts.Dir.
func New(opts Options) *Cache {
	if opts.Log == nil {
		opts.Log = hclog.NewNullLogger()
	}
	if opts.Pull == "" {
		opts.Pull = PullAlways
	}
	return &Cache{store: store{dir: opts.Dir}, src: opts.Source, pull: opts.Pull, log: opts.Log, copy: opts.Copy}
}

// Prepare gives req a writable root filesystem of its own, the image's
// config and a scratch directory. release removes the view unless
// req.Keep, and lets the image go.
func (c *Cache) Prepare(ctx context.Context, req *core.RunRequest) (release func(), err error) {
	c.sweep()
	e, err := c.acquire(ctx, req)
	if err != nil {
		return nil, err
	}
	r, err := c.newRun(e)
	if err != nil {
		e.release()
		return nil, err
	}
	req.Rootfs, req.ScratchDir, req.ImageConfig = r.rootfs(), r.scratch(), e.config
	return func() {
		if req.Keep {
			r.keep()
		} else {
			r.remove()
		}
		e.release()
	}, nil
}

// Unpack copies the image's root filesystem into dir, for a bundle.
func (c *Cache) Unpack(ctx context.Context, req *core.RunRequest, dir string) error {
	c.sweep()
	e, err := c.acquire(ctx, req)
	if err != nil {
		return err
	}
	defer e.release()
	if err := copyTree(e.rootfs(), dir); err != nil {
		os.RemoveAll(dir)
		return fmt.Errorf("copying the root filesystem: %w", err)
	}
	req.Rootfs, req.ImageConfig = dir, e.config
	return nil
}

// acquire finds req's image in the cache, asking the registry as the pull
// policy says, and fills the cache when it lacks the image.
func (c *Cache) acquire(ctx context.Context, req *core.RunRequest) (*entry, error) {
	platform := req.Platform.String()
	if c.pull != PullAlways {
		if digest, ok := c.store.lookupRef(req.Image, platform); ok {
			e, err := c.store.open(ctx, digest)
			if e != nil || err != nil {
				c.log.Debug("rootfs cache: hit, registry not asked", "image", req.Image, "digest", digest)
				return e, err
			}
		}
		if c.pull == PullNever {
			return nil, core.Usagef("%s is not in ocix's cache, and --pull never forbids fetching it", req.Image)
		}
	}
	if c.src == nil {
		return nil, errors.New("rootfs cache: no export backend to fetch images with")
	}
	digest := ""
	res, err := c.src.Resolve(ctx, core.ResolveRequest{
		Repository: req.Repository, Reference: req.Reference, Endpoints: req.Endpoints, Platform: req.Platform,
	})
	switch {
	case errors.Is(err, core.ErrUnsupported):
		// A backend that cannot resolve exports by reference every time;
		// the cache still keeps one copy per digest.
		c.log.Debug("rootfs cache: the export backend cannot resolve; exporting by reference", "image", req.Image)
	case err != nil:
		return nil, err
	default:
		digest = res.Digest
		e, err := c.store.open(ctx, digest)
		if err != nil {
			return nil, err
		}
		if e != nil {
			c.log.Debug("rootfs cache: hit", "image", req.Image, "digest", digest)
			c.store.recordRef(req.Image, platform, digest)
			return e, nil
		}
	}
	e, err := c.fill(ctx, req, digest)
	if err != nil {
		return nil, err
	}
	c.store.recordRef(req.Image, platform, e.digest)
	return e, nil
}
