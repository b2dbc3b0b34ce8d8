package crane

import (
	"context"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/export"
	"github.com/ocix/ocix/plugins/internal/registries"
)

// Export exports as `crane export` does — crane.Export, its own flattening
// (mutate.Extract), quirks included (go-containerregistry #2002: a hard link
// keeps the content a later layer gave its target) — so that compare can
// show them. Its stream goes through the shared applier or tar writer, and
// counts only once crane reports success: crane itself streams a corrupt
// layer's files before it notices the digest.
func (b *backend) Export(ctx context.Context, req core.ExportRequest) (core.ExportResult, error) {
	return registries.Try(ctx, req.Endpoints, b.log, func(ep core.Endpoint) (core.ExportResult, error) {
		img, err := b.image(ctx, ep, req)
		if err != nil {
			return core.ExportResult{}, err
		}
		res, err := describe(img)
		if err != nil {
			return core.ExportResult{}, translate(ep, req.Repository, err)
		}
		stream := export.Pipe(func(w io.Writer) error { return crane.Export(img, w) })
		d, err := export.Deliver(ctx, req, stream)
		if err != nil {
			return core.ExportResult{}, translate(ep, req.Repository, err)
		}
		res.Entries, res.Bytes, res.TarDigest = d.Entries, d.Bytes, d.TarDigest
		return res, nil
	})
}

// image finds the image for req.Platform on ep, listing the platforms an
// index has when none fits.
func (b *backend) image(ctx context.Context, ep core.Endpoint, req core.ExportRequest) (v1.Image, error) {
	ref, full, err := reference(ep, req.Repository, req.Reference)
	if err != nil {
		return nil, err
	}
	desc, err := remote.Get(ref, b.options(ctx)...)
	if err != nil {
		return nil, translate(ep, req.Repository, err)
	}
	if !desc.MediaType.IsIndex() {
		img, err := desc.Image()
		if err != nil {
			return nil, translate(ep, req.Repository, err)
		}
		return img, nil
	}
	entry, _, err := indexEntry(desc, full, req.Platform)
	if err != nil {
		return nil, translate(ep, req.Repository, err)
	}
	img, err := remote.Image(ref.Context().Digest(entry.Digest.String()), b.options(ctx)...)
	if err != nil {
		return nil, translate(ep, req.Repository, err)
	}
	return img, nil
}

// reference names an image on ep: repository:tag or repository@digest,
// and full is that name as errors say it.
func reference(ep core.Endpoint, repository, tagOrDigest string) (ref name.Reference, full string, err error) {
	sep := ":"
	if registries.IsDigest(tagOrDigest) {
		sep = "@"
	}
	var opts []name.Option
	if ep.Insecure {
		opts = append(opts, name.Insecure)
	}
	full = ep.Registry + "/" + repository + sep + tagOrDigest
	if ref, err = name.ParseReference(full, opts...); err != nil {
		return nil, full, core.Usagef("invalid image reference %s: %v", full, err)
	}
	return ref, full, nil
}

// indexEntry is the entry of the index desc for platform want, read from
// the index itself.
func indexEntry(desc *remote.Descriptor, full string, want core.Platform) (v1.Descriptor, core.Platform, error) {
	idx, err := desc.ImageIndex()
	if err != nil {
		return v1.Descriptor{}, core.Platform{}, err
	}
	manifest, err := idx.IndexManifest()
	if err != nil {
		return v1.Descriptor{}, core.Platform{}, err
	}
	var have []core.Platform
	for _, m := range manifest.Manifests {
		var p core.Platform
		if m.Platform != nil {
			p = core.Platform{OS: m.Platform.OS, Architecture: m.Platform.Architecture, Variant: m.Platform.Variant}
		}
		have = append(have, p)
	}
	i, err := registries.MatchPlatform(full, want, have)
	if err != nil {
		return v1.Descriptor{}, core.Platform{}, err
	}
	return manifest.Manifests[i], have[i], nil
}

// describe fills what the result says of the image itself.
func describe(img v1.Image) (core.ExportResult, error) {
	digest, err := img.Digest()
	if err != nil {
		return core.ExportResult{}, err
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		return core.ExportResult{}, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return core.ExportResult{}, fmt.Errorf("image config: %w", err)
	}
	return core.ExportResult{
		Digest:   digest.String(),
		Config:   raw,
		Platform: core.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant},
	}, nil
}
