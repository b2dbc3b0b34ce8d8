package api

import (
	"context"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/registries"
)

// Resolve names the image Export would export for the same request, with
// one request: the manifest the reference names. An index names its
// entries' digests itself, so the entry for the platform costs nothing
// more. ocix's rootfs cache calls it at every run to find the image it
// may already hold.
func (b *backend) Resolve(ctx context.Context, req core.ResolveRequest) (core.ResolveResult, error) {
	want := req.Platform
	if want == (core.Platform{}) {
		want = core.HostPlatform()
	}
	return registries.Try(ctx, req.Endpoints, b.log, func(ep core.Endpoint) (core.ResolveResult, error) {
		m, err := b.client.Manifest(ctx, ep, req.Repository, req.Reference)
		if err != nil {
			return core.ResolveResult{}, err
		}
		if !isIndex(m.MediaType) {
			// The platform is in the config, a second request: the
			// export says it.
			return core.ResolveResult{Digest: m.Digest.String()}, nil
		}
		entry, platform, err := entryFor(ep.Registry+"/"+req.Repository, m, req.Reference, want)
		if err != nil {
			return core.ResolveResult{}, err
		}
		return core.ResolveResult{Digest: entry.Digest.String(), Platform: platform}, nil
	})
}
