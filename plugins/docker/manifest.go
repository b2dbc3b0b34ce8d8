package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/versions"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/credentials"
	"github.com/ocix/ocix/plugins/internal/registries"
)

// manifestTimeout bounds asking the registry about an image docker already
// has: an export from the engine's store must not hang on a registry.
const manifestTimeout = 15 * time.Second

// describe is what an export reports about the image of container c: the
// platform docker has, and the image's manifest digest and config as the
// registry holds them.
//
// docker knows only the digest its pull resolved — for a multi-platform
// image, the index's — and not the platform's manifest, which is what ocix
// reports (as the other backends do). So the registry is asked for the
// manifest docker pulled, by that digest (no tag can have moved since), and
// it must name docker's image as its config. When it cannot be asked (an
// image docker has only locally, a registry gone), docker's digest and a
// config from docker's inspect are reported, with a warning.
func describe(ctx context.Context, cli *client.Client, c made, src source) (core.ExportResult, error) {
	ctr, err := cli.ContainerInspect(ctx, c.id, client.ContainerInspectOptions{})
	if err != nil {
		return core.ExportResult{}, daemonError(c.name, err)
	}
	inspected, err := cli.ImageInspect(ctx, ctr.Container.Image, manifestPlatform(cli, ctr.Container)...)
	if err != nil {
		return core.ExportResult{}, daemonError(c.name, err)
	}
	img := inspected.InspectResponse
	res := core.ExportResult{Platform: core.Platform{OS: img.Os, Architecture: img.Architecture, Variant: img.Variant}}
	digest := dockerDigest(c, src, img)
	if digest == "" {
		res.Config, err = inspectConfig(img)
		return res, err
	}
	rctx, cancel := context.WithTimeout(ctx, manifestTimeout)
	defer cancel()
	res.Digest, res.Config, err = registryManifest(rctx, c.ep, src.repository, digest, img.ID, res.Platform)
	if err != nil {
		if ctx.Err() != nil {
			return core.ExportResult{}, ctx.Err()
		}
		src.warn(fmt.Sprintf("reporting docker's digest %s: %v", digest, err))
		res.Digest = digest
		res.Config, err = inspectConfig(img)
	}
	return res, err
}

// manifestPlatform asks an image inspect for the platform of the manifest
// the container was made from. With the containerd image store (API 1.48
// on) the container's image is the whole index, whose inspect describes
// the engine's own platform, not the one the container has. A manifest
// that names no platform is asked for as it is.
func manifestPlatform(cli *client.Client, ctr container.InspectResponse) []client.ImageInspectOption {
	d := ctr.ImageManifestDescriptor
	if d == nil || d.Platform == nil || d.Platform.OS == "" || d.Platform.Architecture == "" ||
		versions.LessThan(cli.ClientVersion(), "1.49") {
		return nil
	}
	return []client.ImageInspectOption{client.ImageInspectWithPlatform(d.Platform)}
}

// dockerDigest is the digest docker has for the image under c's name: the
// one asked for, the one its pull reported, or the one it recorded.
func dockerDigest(c made, src source, img image.InspectResponse) string {
	switch {
	case registries.IsDigest(src.reference):
		return src.reference
	case c.pulled != "":
		return c.pulled
	}
	want, err := reference.ParseNormalizedNamed(c.name)
	if err != nil {
		return ""
	}
	for _, rd := range img.RepoDigests {
		if r, err := reference.ParseNormalizedNamed(rd); err == nil && r.Name() == want.Name() {
			if d, ok := r.(reference.Digested); ok {
				return d.Digest().String()
			}
		}
	}
	return ""
}

// registryManifest fetches repository@digest from ep and, through an index,
// the manifest for platform. It returns that manifest's digest and raw
// config, once it has checked that the config is docker's image imageID
// (or, with docker's containerd image store, that imageID is one of the
// digests on the way).
func registryManifest(ctx context.Context, ep core.Endpoint, repository, digest, imageID string, platform core.Platform) (string, json.RawMessage, error) {
	ref, err := name.NewDigest(ep.Registry + "/" + repository + "@" + digest)
	if err != nil {
		return "", nil, err
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithUserAgent("ocix/" + core.Version)}
	if c, found, err := credentials.Default().Lookup(ctx, ep.Registry, repository); err != nil {
		return "", nil, err
	} else if found {
		opts = append(opts, remote.WithAuth(authn.FromConfig(authn.AuthConfig{
			Username: c.Username, Password: c.Password, IdentityToken: c.IdentityToken,
		})))
	}
	desc, err := remote.Get(ref, opts...)
	if err != nil {
		return "", nil, err
	}
	manifest := desc.Digest
	var img v1.Image
	if desc.MediaType.IsIndex() {
		if manifest, err = pickManifest(desc, ref.String(), platform); err != nil {
			return "", nil, err
		}
		img, err = remote.Image(ref.Context().Digest(manifest.String()), opts...)
	} else {
		img, err = desc.Image()
	}
	if err != nil {
		return "", nil, err
	}
	cfg, err := img.ConfigName()
	if err != nil {
		return "", nil, err
	}
	switch imageID {
	case cfg.String(), manifest.String(), desc.Digest.String():
	default:
		return "", nil, fmt.Errorf("the registry's manifest %s is not of docker's image %s", manifest, imageID)
	}
	raw, err := img.RawConfigFile()
	return manifest.String(), raw, err
}

// pickManifest picks from an index the manifest for platform, as docker
// picked it, leaving out entries without a platform (attestations).
func pickManifest(desc *remote.Descriptor, name string, platform core.Platform) (v1.Hash, error) {
	idx, err := desc.ImageIndex()
	if err != nil {
		return v1.Hash{}, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return v1.Hash{}, err
	}
	var (
		digests []v1.Hash
		have    []core.Platform
	)
	for _, m := range im.Manifests {
		if m.Platform == nil || m.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
			continue
		}
		digests = append(digests, m.Digest)
		have = append(have, core.Platform{OS: m.Platform.OS, Architecture: m.Platform.Architecture, Variant: m.Platform.Variant})
	}
	i, err := registries.MatchPlatform(name, platform, have)
	if err != nil {
		return v1.Hash{}, err
	}
	return digests[i], nil
}

// inspectConfig is an image config built from what docker's inspect says,
// for an image whose own config the registry cannot give.
func inspectConfig(img image.InspectResponse) (json.RawMessage, error) {
	cfg := struct {
		Created      string `json:"created,omitempty"`
		Author       string `json:"author,omitempty"`
		Architecture string `json:"architecture"`
		Variant      string `json:"variant,omitempty"`
		OS           string `json:"os"`
		Config       any    `json:"config,omitempty"`
		RootFS       struct {
			Type    string   `json:"type"`
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}{Created: img.Created, Author: img.Author, Architecture: img.Architecture, Variant: img.Variant, OS: img.Os}
	if img.Config != nil {
		cfg.Config = img.Config
	}
	cfg.RootFS.Type, cfg.RootFS.DiffIDs = img.RootFS.Type, img.RootFS.Layers
	return json.Marshal(cfg)
}
