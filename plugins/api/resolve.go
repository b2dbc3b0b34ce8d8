package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/api/registry"
	"github.com/ocix/ocix/plugins/internal/registries"
)

// maxConfigSize bounds an image config read into memory. It travels back
// to ocix in one gRPC message, whose default limit is 4 MiB.
const maxConfigSize = 4 << 20

// configTypes are the config media types of container images; anything
// else (a Helm chart, a signature) is an artifact with no filesystem.
var configTypes = []string{
	ocispec.MediaTypeImageConfig,
	"application/vnd.docker.container.image.v1+json",
}

// layerTypes are the filesystem layer media types, OCI's and Docker's,
// compressed or not. The non-distributable and foreign ones, deprecated
// but still served, are fetched from the registry like the others. What
// a layer is compressed with is read from its bytes (see decompress).
var layerTypes = []string{
	ocispec.MediaTypeImageLayer,
	ocispec.MediaTypeImageLayerGzip,
	ocispec.MediaTypeImageLayerZstd,
	ocispec.MediaTypeImageLayerNonDistributable,
	ocispec.MediaTypeImageLayerNonDistributableGzip,
	ocispec.MediaTypeImageLayerNonDistributableZstd,
	"application/vnd.docker.image.rootfs.diff.tar",
	"application/vnd.docker.image.rootfs.diff.tar.gzip",
	"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
}

// image is what a reference resolves to on one endpoint: the manifest to
// export and what it names.
type image struct {
	// ep served the manifest; the layers are fetched from it too.
	ep         core.Endpoint
	repository string
	name       string // registry/repository, as errors begin
	digest     digest.Digest
	config     json.RawMessage
	platform   core.Platform
	layers     []ocispec.Descriptor
}

// resolve finds the image reference names on ep: its manifest — through
// an index, the one for platform want — and its config.
func (b *backend) resolve(ctx context.Context, ep core.Endpoint, repository, reference string, want core.Platform) (*image, error) {
	img := &image{ep: ep, repository: repository, name: ep.Registry + "/" + repository}
	m, err := b.client.Manifest(ctx, ep, repository, reference)
	if err != nil {
		return nil, err
	}
	if isIndex(m.MediaType) {
		if m, err = b.pick(ctx, img, m, reference, want); err != nil {
			return nil, err
		}
	}
	var man ocispec.Manifest
	if err := json.Unmarshal(m.Raw, &man); err != nil {
		return nil, fmt.Errorf("%s: manifest %s is not valid: %v", img.name, m.Digest, err)
	}
	if !slices.Contains(configTypes, man.Config.MediaType) {
		return nil, fmt.Errorf("%s: not a container image: its config is of type %q", img.name, man.Config.MediaType)
	}
	for _, l := range man.Layers {
		if !slices.Contains(layerTypes, l.MediaType) {
			return nil, fmt.Errorf("%s: layer %s is of type %q, not a filesystem layer ocix can apply", img.name, l.Digest, l.MediaType)
		}
	}
	img.digest, img.layers = m.Digest, man.Layers
	if img.config, img.platform, err = b.config(ctx, img, man.Config); err != nil {
		return nil, err
	}
	return img, nil
}

func isIndex(mediaType string) bool {
	return mediaType == ocispec.MediaTypeImageIndex || mediaType == registry.MediaTypeDockerManifestList
}

// attestation marks the index entries buildx adds for provenance and
// SBOMs: manifests with no filesystem, listed as platform unknown/unknown.
const attestation = "attestation-manifest"

// pick fetches the manifest an index lists for platform want, as
// containerd and docker pick it.
func (b *backend) pick(ctx context.Context, img *image, index registry.Manifest, reference string, want core.Platform) (registry.Manifest, error) {
	entry, platform, err := entryFor(img.name, index, reference, want)
	if err != nil {
		return registry.Manifest{}, err
	}
	m, err := b.client.Manifest(ctx, img.ep, img.repository, entry.Digest.String())
	if err != nil {
		return registry.Manifest{}, err
	}
	if isIndex(m.MediaType) {
		return registry.Manifest{}, fmt.Errorf("%s: the index's entry for %s is another index, which ocix does not follow", img.name, platform)
	}
	return m, nil
}

// entryFor is the entry an index lists for platform want: the image's
// manifest descriptor and its platform.
func entryFor(name string, index registry.Manifest, reference string, want core.Platform) (ocispec.Descriptor, core.Platform, error) {
	var idx ocispec.Index
	if err := json.Unmarshal(index.Raw, &idx); err != nil {
		return ocispec.Descriptor{}, core.Platform{}, fmt.Errorf("%s: index %s is not valid: %v", name, index.Digest, err)
	}
	var (
		entries   []ocispec.Descriptor
		platforms []core.Platform
	)
	for _, d := range idx.Manifests {
		if d.Platform == nil || d.Annotations["vnd.docker.reference.type"] == attestation {
			continue
		}
		entries = append(entries, d)
		platforms = append(platforms, core.Platform{OS: d.Platform.OS, Architecture: d.Platform.Architecture, Variant: d.Platform.Variant})
	}
	i, err := registries.MatchPlatform(refName(name, reference), want, platforms)
	if err != nil {
		return ocispec.Descriptor{}, core.Platform{}, err
	}
	return entries[i], platforms[i], nil
}

// refName is the image as the user named it: name:tag or name@digest.
func refName(name, reference string) string {
	if strings.Contains(reference, ":") {
		return name + "@" + reference
	}
	return name + ":" + reference
}

// config fetches the image's config, checked against its descriptor, and
// reads the platform it states.
func (b *backend) config(ctx context.Context, img *image, d ocispec.Descriptor) (json.RawMessage, core.Platform, error) {
	if d.Size > maxConfigSize {
		return nil, core.Platform{}, fmt.Errorf("%s: the image config is %d bytes, more than the %d MiB ocix reads", img.name, d.Size, maxConfigSize>>20)
	}
	var buf bytes.Buffer
	if err := b.client.Blob(ctx, img.ep, img.repository, d.Digest, d.Size, &buf); err != nil {
		return nil, core.Platform{}, err
	}
	var c struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
		Variant      string `json:"variant"`
	}
	if err := json.Unmarshal(buf.Bytes(), &c); err != nil {
		return nil, core.Platform{}, fmt.Errorf("%s: the image config is not valid JSON: %v", img.name, err)
	}
	return buf.Bytes(), core.Platform{OS: c.OS, Architecture: c.Architecture, Variant: c.Variant}, nil
}

// platformWarning is a warning when the image is for another platform
// than want: one not in an index is exported whatever its platform, and
// docker warns the same way.
func (img *image) platformWarning(want core.Platform) string {
	if img.platform.OS == "" || img.platform.Architecture == "" {
		return ""
	}
	if _, err := registries.MatchPlatform(img.name, want, []core.Platform{img.platform}); err == nil {
		return ""
	}
	return fmt.Sprintf("the image is for platform %s, not %s as asked", img.platform, want)
}
