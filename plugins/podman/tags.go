package podman

import (
	"context"
	"errors"
	"math"
	"net/http"

	"github.com/containers/podman/v5/pkg/bindings/images"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/credentials"
	"github.com/ocix/ocix/plugins/internal/registries"
)

// searchLimit is the limit passed with every tag search: without one,
// podman returns the first 25 tags; with one, it returns as many of the
// registry's tags as the limit allows, so this one never cuts a list.
const searchLimit = math.MaxInt32

// ListTags lists tags as `podman search --list-tags --limit N` does: the
// service asks the registry (containers/image follows every Link page)
// and returns one search result per tag, in the registry's order.
func (b *backend) ListTags(ctx context.Context, req core.TagsRequest) ([]string, error) {
	ctx, err := b.connect(ctx)
	if err != nil {
		return nil, err
	}
	return registries.Try(ctx, req.Endpoints, b.log, func(ep core.Endpoint) ([]string, error) {
		auth, remove, err := authFile(ctx, credentials.Default(), ep, req.Repository)
		if err != nil {
			return nil, err
		}
		defer remove()
		opts := new(images.SearchOptions).
			WithListTags(true).
			WithLimit(searchLimit).
			WithAuthfile(auth).
			WithSkipTLSVerify(ep.Insecure || registries.PlainHTTP(ep))
		results, err := images.Search(ctx, ep.Registry+"/"+req.Repository, opts)
		if err != nil {
			return nil, tagsError(ep, req.Repository, err)
		}
		tags := make([]string, 0, len(results))
		for _, r := range results {
			tags = append(tags, r.Tag)
		}
		return tags, nil
	})
}

// tagsError is registryError for a tag list. containers/image keeps no
// error body of a tag list's 404, only the status: the distribution spec
// answers a tag list 404 for one reason, NAME_UNKNOWN, so that is what
// ocix says, as the other backends do from the body.
func tagsError(ep core.Endpoint, repository string, err error) error {
	err = registryError(ep, repository, err)
	var rerr *registries.Error
	if errors.As(err, &rerr) && rerr.Status == http.StatusNotFound && len(rerr.Codes) == 0 {
		rerr.Codes = []registries.ErrorCode{{Code: "NAME_UNKNOWN", Message: "the tag list answered 404 Not Found"}}
	}
	return err
}
