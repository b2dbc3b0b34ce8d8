package core

import (
	"context"
	"encoding/json"
	"errors"
	"os"
)

// ExportRequest asks for an image's flattened root filesystem.
type ExportRequest struct {
	// Repository is the path within the registry ("library/busybox").
	Repository string
	// Reference is a tag or a digest ("sha256:…").
	Reference string
	Endpoints []Endpoint
	// Platform picks an image from an index; zero means the host's.
	Platform Platform
	// Include, when set, limits the export to these paths (absolute in
	// the image) and what they need.
	Include []string

	// Exactly one destination. Dir is an existing directory to write the
	// tree into; Tar is a file to write the flattened tar stream to.
	Dir string
	Tar *os.File
	// ScratchDir is a private directory for temporary files, removed by
	// core after the export.
	ScratchDir string
	// Invocation labels what the export creates (an engine's container),
	// as RunRequest.Invocation does.
	Invocation string

	// Events receives progress and warnings as the backend sends them;
	// nil drops them.
	Events func(Event)
}

// ExportResult is what a finished export reports. Only its arrival means
// success: a stream that ends without it is a failed export.
type ExportResult struct {
	// Digest is the manifest digest of the image exported.
	Digest string
	// Config is the image's config JSON (Entrypoint, Cmd, Env, User…).
	Config   json.RawMessage
	Platform Platform
	Entries  int64
	Bytes    int64
	// TarDigest is the sha256 of the tar stream, for a Tar destination.
	TarDigest string
}

// Exporter exports an image's flattened root filesystem.
type Exporter interface {
	Export(ctx context.Context, req ExportRequest) (ExportResult, error)
}

// Export exports an image with the named backend into dest, committing
// dest only when the backend reports success and aborting it otherwise.
// If the backend's plugin died, a fresh instance removes what the export
// created (an engine's container).
func (c *Core) Export(ctx context.Context, backend string, req ExportRequest, dest *Destination) (ExportResult, error) {
	req.Dir, req.Tar, req.ScratchDir = dest.Dir, dest.Tar, dest.Scratch
	req.Invocation = newInvocation()
	var files []*os.File
	if dest.Tar != nil {
		files = append(files, dest.Tar)
	}
	exporter, h, err := openFor[Exporter](ctx, c, backend, CapExport, files...)
	if err != nil {
		dest.Abort()
		return ExportResult{}, err
	}
	res, err := exporter.Export(ctx, req)
	// The backend stops before its files are touched: a plugin cut short
	// by Ctrl-C may still be writing for a moment.
	h.Close()
	if err != nil {
		if errors.Is(err, ErrBackendDied) {
			c.cleanupAfter(backend, req.Invocation)
		}
		dest.Abort()
		return ExportResult{}, err
	}
	return res, dest.Commit()
}
