package core

import (
	"context"
	"fmt"
	"path/filepath"
)

// BundleRequest asks a run backend that needs a root filesystem (runc) to
// write an OCI runtime bundle for Run — its config.json — without running
// it. Run.Rootfs is Dir/rootfs, already filled, and Run.ImageConfig set.
type BundleRequest struct {
	Run RunRequest
	// Dir is the bundle directory to write config.json into.
	Dir string
	// Path is where the bundle will be once core moves it into place: the
	// command the backend returns names it.
	Path string
}

// BundleResult is a written bundle.
type BundleResult struct {
	// Command is the command line a user types to run the bundle.
	Command []string
}

// Bundler is an optional part of a run backend that needs a root
// filesystem: it writes bundles (`ocix bundle`).
type Bundler interface {
	Bundle(ctx context.Context, req BundleRequest) (BundleResult, error)
}

// Bundle writes an OCI runtime bundle for req into dest with the named run
// backend: core puts the image's root filesystem in dest.Dir/rootfs (a
// private copy, as the provider's Unpack makes it), the backend writes
// config.json, and dest is committed to path only when both succeeded.
func (c *Core) Bundle(ctx context.Context, backend string, req RunRequest, dest *Destination, path string) (BundleResult, error) {
	res, err := c.bundle(ctx, backend, req, dest, path)
	if err != nil {
		dest.Abort()
		return BundleResult{}, err
	}
	return res, dest.Commit()
}

func (c *Core) bundle(ctx context.Context, backend string, req RunRequest, dest *Destination, path string) (BundleResult, error) {
	req.Invocation = newInvocation()
	h, err := c.Open(ctx, backend, CapRun)
	if err != nil {
		return BundleResult{}, err
	}
	defer h.Close()
	// What the backend declares decides (a plugin's client has every
	// method): only a backend that takes a root filesystem from core
	// writes bundles.
	bundler, ok := h.Backend.(Bundler)
	if !ok || !h.Info.NeedsRootfs {
		return BundleResult{}, Usagef("backend %q runs images itself and writes no OCI bundle (runtime backends such as runc do)", backend)
	}
	if c.Rootfs == nil {
		return BundleResult{}, fmt.Errorf("backend %q needs a root filesystem and this ocix has no provider", backend)
	}
	if err := c.Rootfs.Unpack(ctx, &req, filepath.Join(dest.Dir, "rootfs")); err != nil {
		return BundleResult{}, err
	}
	return bundler.Bundle(ctx, BundleRequest{Run: req, Dir: dest.Dir, Path: path})
}
