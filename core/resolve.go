package core

import (
	"context"
	"fmt"
)

// ResolveRequest asks which image a reference names for a platform.
type ResolveRequest struct {
	// Repository is the path within the registry ("library/busybox").
	Repository string
	// Reference is a tag or a digest ("sha256:…").
	Reference string
	Endpoints []Endpoint
	// Platform picks an image from an index; zero means the host's.
	Platform Platform
}

// ResolveResult names the image an export of the same request would
// export.
type ResolveResult struct {
	// Digest is the manifest digest of the image for the platform (an
	// index resolved to its entry): the ExportResult.Digest to expect.
	Digest   string
	Platform Platform
}

// Resolver is an optional part of an export backend: it resolves a
// reference with one registry request, so that core can find an image it
// already holds (the rootfs cache) before it asks for an export. A backend
// without it answers ErrUnsupported.
type Resolver interface {
	Resolve(ctx context.Context, req ResolveRequest) (ResolveResult, error)
}

// Resolve resolves a reference with the named export backend.
func (c *Core) Resolve(ctx context.Context, backend string, req ResolveRequest) (ResolveResult, error) {
	h, err := c.Open(ctx, backend, CapExport)
	if err != nil {
		return ResolveResult{}, err
	}
	defer h.Close()
	// Resolving is no capability of its own: a plugin's client always has
	// the method, and a plugin without a resolver answers ErrUnsupported
	// from its server; an in-process backend without one fails here alike.
	r, ok := h.Backend.(Resolver)
	if !ok {
		return ResolveResult{}, fmt.Errorf("backend %q cannot resolve image references: %w", backend, ErrUnsupported)
	}
	return r.Resolve(ctx, req)
}
