package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ocix/ocix/core"
)

// Docker's manifest media types, which image-spec does not name. Their
// JSON has the same shape as OCI's index and manifest.
const (
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
)

// manifestTypes are the manifests Manifest asks for and accepts, indexes
// first: a registry that holds several gives the index.
var manifestTypes = []string{
	ocispec.MediaTypeImageIndex,
	MediaTypeDockerManifestList,
	ocispec.MediaTypeImageManifest,
	MediaTypeDockerManifest,
}

// schema1Types are Docker's first manifest format, signed or not, which
// registries still serve for images pushed long ago.
var schema1Types = []string{
	"application/vnd.docker.distribution.manifest.v1+json",
	"application/vnd.docker.distribution.manifest.v1+prettyjws",
}

// maxManifestSize bounds a manifest read into memory. The largest real
// indexes are a few hundred KiB; containerd uses the same bound.
const maxManifestSize = 4 << 20

// Manifest is a manifest or an index as the registry served it.
type Manifest struct {
	// MediaType is one of the four types asked for.
	MediaType string
	// Digest is the digest of Raw: the one asked for, or for a tag the
	// sha256 of what came.
	Digest digest.Digest
	Raw    []byte
}

// Manifest fetches the manifest reference — a tag or a digest — of
// repository. The bytes of one asked for by digest are checked against it.
// A manifest of another type than an OCI or Docker schema 2 manifest or
// index is refused in one line.
func (c *Client) Manifest(ctx context.Context, ep core.Endpoint, repository, reference string) (Manifest, error) {
	r := c.newRequest(ep, repository, http.MethodGet, "/v2/"+repository+"/manifests/"+reference)
	r.header.Set("Accept", strings.Join(manifestTypes, ", "))
	alg := digest.Canonical
	want, isDigest := digest.Digest(reference), strings.Contains(reference, ":")
	if isDigest {
		if err := want.Validate(); err != nil {
			return Manifest{}, fmt.Errorf("%s: invalid digest %q: %v", r.name(), reference, err)
		}
		alg = want.Algorithm()
	}
	var m Manifest
	err := c.do(ctx, r, func(resp *http.Response) error {
		raw, err := io.ReadAll(io.LimitReader(resp.Body, maxManifestSize+1))
		switch {
		case transient(err):
			return &retryable{err: fmt.Errorf("%s: answer from %s %s: %v", r.name(), resp.Request.URL.Host, brokeOff(err), err)}
		case err != nil:
			return fmt.Errorf("%s: reading the manifest from %s: %v", r.name(), resp.Request.URL.Host, err)
		case len(raw) > maxManifestSize:
			return fmt.Errorf("%s: manifest %s is larger than %d MiB", r.name(), reference, maxManifestSize>>20)
		}
		m = Manifest{Digest: alg.FromBytes(raw), Raw: raw}
		m.MediaType, err = manifestType(r.name(), resp.Header.Get("Content-Type"), raw)
		return err
	})
	if err != nil {
		return Manifest{}, err
	}
	if isDigest && m.Digest != want {
		return Manifest{}, fmt.Errorf("%s: manifest %s does not match its digest", r.name(), want)
	}
	return m, nil
}

// manifestType tells what a manifest is. The mediaType field, part of the
// bytes a digest covers, comes first; then the Content-Type the registry
// sent; then, for a manifest that says neither (the field is optional in
// OCI's), its shape.
func manifestType(name, contentType string, raw []byte) (string, error) {
	var fields struct {
		SchemaVersion int             `json:"schemaVersion"`
		MediaType     string          `json:"mediaType"`
		Manifests     json.RawMessage `json:"manifests"`
		Config        json.RawMessage `json:"config"`
	}
	if err := json.Unmarshal(raw, &fields); err != nil {
		return "", fmt.Errorf("%s: the manifest is not valid JSON: %v", name, err)
	}
	mt := fields.MediaType
	if mt == "" {
		mt, _, _ = mime.ParseMediaType(contentType)
		if !slices.Contains(manifestTypes, mt) && !slices.Contains(schema1Types, mt) {
			switch {
			case fields.SchemaVersion == 1:
				mt = schema1Types[0]
			case fields.Manifests != nil:
				mt = ocispec.MediaTypeImageIndex
			case fields.Config != nil:
				mt = ocispec.MediaTypeImageManifest
			}
		}
	}
	switch {
	case slices.Contains(manifestTypes, mt):
		return mt, nil
	case slices.Contains(schema1Types, mt):
		return "", fmt.Errorf("%s: the image has a Docker schema 1 manifest, a deprecated format ocix does not read; push it again with a current tool", name)
	}
	return "", fmt.Errorf("%s: unsupported manifest media type %q: not an image or an index", name, mt)
}
