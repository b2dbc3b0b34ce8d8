package podman

import (
	"context"
	"encoding/json"
	"io"
	"time"

	"github.com/containers/podman/v5/pkg/bindings/containers"
	"github.com/containers/podman/v5/pkg/specgen"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/export"
)

// removeTimeout bounds the removal of a container once its job has ended
// or was cancelled. ocix stops a plugin one second after it asks it to,
// which a created or killed container's removal fits in.
const removeTimeout = 10 * time.Second

// Export exports as `podman create` + `podman export` + `podman rm` do:
// the image is pulled into podman's store if it is not there, a container
// is created from it and never started, and podman's export of that
// container — its storage driver's flattening of the layers — goes through
// the shared applier or tar writer. The container is removed however the
// export ends; the image stays.
func (b *backend) Export(ctx context.Context, req core.ExportRequest) (core.ExportResult, error) {
	ctx, err := b.connect(ctx)
	if err != nil {
		return core.ExportResult{}, err
	}
	img, err := b.pull(ctx, pullRequest{Endpoints: req.Endpoints, Repository: req.Repository,
		Reference: req.Reference, Platform: req.Platform, Events: req.Events})
	if err != nil {
		return core.ExportResult{}, err
	}
	digest := b.manifestDigest(ctx, img, req.Repository, req.Reference)
	res, err := describe(img, digest, req.Platform)
	if err != nil {
		return core.ExportResult{}, err
	}
	id, err := b.create(ctx, exportSpec(img, req), false)
	if err != nil {
		return core.ExportResult{}, err
	}
	defer b.remove(ctx, id)

	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := containers.Export(ctx, id, pw, nil)
		pw.CloseWithError(err)
		done <- err
	}()
	stream := &export.Counter{R: pr, Events: req.Events}
	d, err := export.Deliver(ctx, req, readCloser{stream, pr}, func() error { return serviceError(<-done) })
	if err != nil {
		return core.ExportResult{}, err
	}
	res.Entries, res.Bytes, res.TarDigest = d.Entries, d.Bytes, d.TarDigest
	return res, nil
}

// create creates a container and returns its ID, warnings logged. Unless
// keep, it is remembered until removed (see live).
func (b *backend) create(ctx context.Context, s *specgen.SpecGenerator, keep bool) (string, error) {
	r, err := containers.CreateWithSpec(ctx, s, nil)
	if err != nil {
		return "", serviceError(err)
	}
	if !keep {
		live.add(ctx, r.ID, b.log)
	}
	for _, w := range r.Warnings {
		b.log.Warn("podman create", "warning", w)
	}
	return r.ID, nil
}

// remove removes a container, even when ctx was cancelled (Ctrl-C):
// ocix's containers never stay.
func (b *backend) remove(ctx context.Context, id string) {
	if err := removeContainer(ctx, id); err != nil {
		b.log.Error("cannot remove container", "id", id, "error", err)
		return
	}
	live.done(id)
}

// describe fills what the result says of the image itself, whose manifest
// digest is digest. podman's inspect gives the config's fields, not its
// bytes: Config is the OCI config made from them.
func describe(img pulled, digest string, want core.Platform) (core.ExportResult, error) {
	d := img.Data
	p := core.Platform{OS: d.Os, Architecture: d.Architecture}
	if p.OS == want.OS && p.Architecture == want.Architecture {
		// podman's inspect has no variant: the one pulled is the one asked.
		p.Variant = want.Variant
	}
	cfg := ocispec.Image{Author: d.Author, Created: d.Created, History: d.History,
		Platform: ocispec.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}}
	if d.Config != nil {
		cfg.Config = *d.Config
	}
	if d.RootFS != nil {
		cfg.RootFS = ocispec.RootFS{Type: d.RootFS.Type, DiffIDs: d.RootFS.Layers}
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return core.ExportResult{}, err
	}
	return core.ExportResult{Digest: digest, Config: raw, Platform: p}, nil
}

// readCloser reads through r and closes c.
type readCloser struct {
	io.Reader
	c io.Closer
}

func (r readCloser) Close() error { return r.c.Close() }
