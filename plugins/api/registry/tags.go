package registry

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/ocix/ocix/core"
)

// ListTags lists every tag of repository on ep, in the registry's order,
// following the registry's pagination.
//
// The first request asks without `n`: a registry that pages only when
// asked to answers in one response. Each next page is the one the Link
// header names, its `n` and `last` kept as given. A link is refused if it
// leaves the registry's scheme and host (a registry must not make us
// request elsewhere) or comes back to a page already read; at most
// MaxPages pages are read.
func (c *Client) ListTags(ctx context.Context, ep core.Endpoint, repository string) ([]string, error) {
	r := c.newRequest(ep, repository, http.MethodGet, "/v2/"+repository+"/tags/list")
	r.header.Set("Accept", "application/json")
	var tags []string
	seen := map[string]bool{}
	for page := 1; ; page++ {
		var next string
		var base *url.URL
		err := c.do(ctx, r, func(resp *http.Response) error {
			var list struct {
				Tags []string `json:"tags"`
			}
			if err := decodeJSON(r.name(), resp, &list); err != nil {
				return err
			}
			tags = append(tags, list.Tags...)
			next, base = nextLink(resp.Header.Values("Link")), resp.Request.URL
			return nil
		})
		if err != nil {
			return nil, err
		}
		// Recorded after the answer: send may have turned r.url to plain HTTP.
		seen[r.url.String()] = true
		if next == "" {
			return tags, nil
		}
		u, err := nextPage(r, base, next)
		if err != nil {
			return nil, err
		}
		switch {
		case seen[u.String()]:
			return nil, fmt.Errorf("%s: the registry's next-page link goes back to a page already read (%s)", r.name(), safeURL(u))
		case page >= c.maxPages:
			return nil, fmt.Errorf("%s: the tag list has more than %d pages (api.max-pages)", r.name(), c.maxPages)
		}
		r.url = u
	}
}

// nextPage resolves a next-page link against the URL of the answer that
// gave it, and refuses it off the registry's origin.
func nextPage(r *request, base *url.URL, link string) (*url.URL, error) {
	ref, err := url.Parse(link)
	if err != nil {
		return nil, fmt.Errorf("%s: the registry's next-page link %q is not a URL", r.name(), link)
	}
	u := base.ResolveReference(ref)
	if !sameOrigin(u, r.url) {
		return nil, fmt.Errorf("%s: refusing the registry's next-page link %s: it leaves %s://%s", r.name(), safeURL(u), r.url.Scheme, r.url.Host)
	}
	return u, nil
}
