package crane

import (
	"context"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/registries"
)

// Resolve names the image Export would export, as `crane digest
// --platform` finds it: one GET of the manifest (after ggcr's own /v2/
// ping); an index names its entries' digests itself.
func (b *backend) Resolve(ctx context.Context, req core.ResolveRequest) (core.ResolveResult, error) {
	return registries.Try(ctx, req.Endpoints, b.log, func(ep core.Endpoint) (core.ResolveResult, error) {
		ref, full, err := reference(ep, req.Repository, req.Reference)
		if err != nil {
			return core.ResolveResult{}, err
		}
		desc, err := remote.Get(ref, b.options(ctx)...)
		if err != nil {
			return core.ResolveResult{}, translate(ep, req.Repository, err)
		}
		if !desc.MediaType.IsIndex() {
			return core.ResolveResult{Digest: desc.Digest.String()}, nil
		}
		entry, platform, err := indexEntry(desc, full, req.Platform)
		if err != nil {
			return core.ResolveResult{}, translate(ep, req.Repository, err)
		}
		return core.ResolveResult{Digest: entry.Digest.String(), Platform: platform}, nil
	})
}
