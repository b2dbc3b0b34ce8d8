package podman

import (
	"context"
	"encoding/json"
	"io"

	"github.com/containers/podman/v5/pkg/bindings/containers"
	"github.com/containers/podman/v5/pkg/specgen"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/container"
	"github.com/ocix/ocix/plugins/internal/export"
)

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
	c, err := b.create(ctx, exportSpec(img, req))
	if err != nil {
		return core.ExportResult{}, err
	}
	defer c.Remove()

	stream := export.Pipe(func(w io.Writer) error { return containers.Export(ctx, c.ID, w, nil) })
	d, err := export.Deliver(ctx, req, export.Stream{R: stream.R, Wait: func() error { return serviceError(stream.Wait()) }})
	if err != nil {
		return core.ExportResult{}, err
	}
	res.Entries, res.Bytes, res.TarDigest = d.Entries, d.Bytes, d.TarDigest
	return res, nil
}

// create creates a container from s, tracked until removed (see
// container.Tracker); podman's warnings are logged.
func (b *backend) create(ctx context.Context, s *specgen.SpecGenerator) (*container.Container, error) {
	return b.live.Create(ctx, engine{conn: ctx}, s.Labels[core.InvocationLabel], func(ctx context.Context) (string, error) {
		r, err := containers.CreateWithSpec(ctx, s, nil)
		if err != nil {
			return "", serviceError(err)
		}
		for _, w := range r.Warnings {
			b.log.Warn("podman create", "warning", w)
		}
		return r.ID, nil
	})
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
