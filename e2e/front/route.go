package front

import (
	"net/http"
	"strings"
)

// Kind is which registry endpoint a request is for.
type Kind string

const (
	KindBase     Kind = "base"     // /v2/
	KindCatalog  Kind = "catalog"  // /v2/_catalog
	KindTags     Kind = "tags"     // /v2/NAME/tags/list
	KindManifest Kind = "manifest" // /v2/NAME/manifests/REFERENCE
	KindBlob     Kind = "blob"     // /v2/NAME/blobs/DIGEST
	KindUpload   Kind = "upload"   // /v2/NAME/blobs/uploads/[UUID]
	KindUnknown  Kind = ""
)

// Route is what a registry request is about, for the front and its rules.
type Route struct {
	Kind       Kind
	Repository string // "library/busybox"; empty for base and catalog
	Reference  string // a manifest's tag or digest, a blob's digest, an upload's id
}

// markers end a repository name in a path, each followed by what the
// route's Reference is taken from.
var markers = []struct {
	marker string
	kind   Kind
}{
	{"/tags/list", KindTags},
	{"/manifests/", KindManifest},
	{"/blobs/uploads/", KindUpload},
	{"/blobs/", KindBlob},
}

// RouteOf parses a request's path. A repository name may itself contain
// "manifests" or "blobs" as a component, so the marker found last in the
// path is the one that ends the name.
func RouteOf(r *http.Request) Route {
	p := strings.TrimPrefix(r.URL.Path, "/v2")
	switch p {
	case "", "/":
		return Route{Kind: KindBase}
	case "/_catalog":
		return Route{Kind: KindCatalog}
	}
	best, at := -1, -1
	for i, m := range markers {
		// Strictly later wins, so that "/blobs/uploads/" beats "/blobs/"
		// found at the same place.
		if j := strings.LastIndex(p, m.marker); j > at {
			best, at = i, j
		}
	}
	if best < 0 || at <= 1 {
		return Route{}
	}
	m := markers[best]
	rest := p[at+len(m.marker):]
	if m.kind == KindTags && rest != "" {
		return Route{}
	}
	return Route{Kind: m.kind, Repository: p[1:at], Reference: strings.TrimSuffix(rest, "/")}
}
