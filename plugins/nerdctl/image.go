package nerdctl

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/registries"
)

// imageRequest names an image to have in containerd's store.
type imageRequest struct {
	repository, reference string
	endpoints             []core.Endpoint
	platform              core.Platform
	events                func(core.Event)
}

// image is an image in containerd's store, for one platform.
type image struct {
	name     string // as nerdctl names it: REGISTRY/REPOSITORY:TAG (or @DIGEST)
	endpoint core.Endpoint
	digest   string // the platform's manifest digest
	config   json.RawMessage
	platform core.Platform
	layers   []descriptor
}

type descriptor struct {
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
}

// ensureImage has the image in the store, pulling it when it is not there
// for the platform, as docker run and create do: an image already pulled
// is used as it is, and stays in the store afterwards. Mirrors are tried
// first, each under its own name.
func (t *tool) ensureImage(ctx context.Context, r imageRequest) (image, error) {
	return registries.Try(ctx, r.endpoints, t.log, func(ep core.Endpoint) (image, error) {
		name := imageName(ep, r.repository, r.reference)
		img, found, err := t.inspectImage(ctx, name, r.platform)
		if err != nil || found {
			img.endpoint = ep
			return img, err
		}
		progress := newPullProgress(r.events)
		if err := t.pull(ctx, ep, name, r.platform, progress); err != nil {
			return image{}, t.pullError(ctx, ep, name, r.platform, err)
		}
		img, found, err = t.inspectImage(ctx, name, r.platform)
		if err == nil && !found {
			err = fmt.Errorf("nerdctl pulled %s but has no image of it for %s", name, r.platform)
		}
		if err != nil {
			return image{}, err
		}
		progress.finish(img.layers)
		img.endpoint = ep
		return img, nil
	})
}

// imageName is the reference nerdctl pulls and names the image by.
func imageName(ep core.Endpoint, repository, reference string) string {
	sep := ":"
	if registries.IsDigest(reference) {
		sep = "@"
	}
	return ep.Registry + "/" + repository + sep + reference
}

// insecureFlag is nerdctl's per-call permission for plain HTTP or an
// unverified certificate. Loopback registries need none: nerdctl speaks
// plain HTTP to them by itself, as docker does.
func insecureFlag(ep core.Endpoint, flag string) []string {
	if ep.Insecure && !registries.PlainHTTP(ep) {
		return []string{flag}
	}
	return nil
}

func (t *tool) pull(ctx context.Context, ep core.Endpoint, name string, p core.Platform, progress *pullProgress) error {
	args := append([]string{"pull"}, insecureFlag(ep, "--insecure-registry")...)
	c := t.command(ctx, append(args, "--platform", p.String(), name)...)
	c.Stdout = progress
	return c.Run()
}

// nativeImage is what `nerdctl image inspect --mode native --platform P`
// says of an image: the platform's manifest, or none when the store does
// not hold that platform's image.
type nativeImage struct {
	ManifestDesc *descriptor `json:"ManifestDesc"`
	Manifest     *struct {
		Layers []descriptor `json:"layers"`
	} `json:"Manifest"`
	ImageConfig json.RawMessage `json:"ImageConfig"`
}

// inspectImage reads the store's image name for platform p; found is
// false when the store does not hold it. (nerdctl answers an unknown name
// with nothing and exit code 0, and an index whose platform was not
// pulled with a null manifest.)
func (t *tool) inspectImage(ctx context.Context, name string, p core.Platform) (img image, found bool, err error) {
	out, err := t.command(ctx, "image", "inspect", "--mode", "native", "--platform", p.String(), name).Output()
	if err != nil {
		return image{}, false, err
	}
	if len(strings.TrimSpace(string(out))) == 0 {
		return image{}, false, nil
	}
	var list []nativeImage
	if err := json.Unmarshal(out, &list); err != nil {
		return image{}, false, fmt.Errorf("nerdctl image inspect %s: %w", name, err)
	}
	if len(list) == 0 || list[0].ManifestDesc == nil || list[0].Manifest == nil {
		return image{}, false, nil
	}
	n := list[0]
	var cfg struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
		Variant      string `json:"variant"`
	}
	if err := json.Unmarshal(n.ImageConfig, &cfg); err != nil {
		return image{}, false, fmt.Errorf("nerdctl image inspect %s: image config: %w", name, err)
	}
	return image{
		name:     name,
		digest:   n.ManifestDesc.Digest,
		config:   n.ImageConfig,
		platform: core.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant},
		layers:   n.Manifest.Layers,
	}, true, nil
}

// pullError tells a failed pull in ocix's words where nerdctl's are
// terse: an index without the platform lists the platforms it has.
func (t *tool) pullError(ctx context.Context, ep core.Endpoint, name string, p core.Platform, err error) error {
	if !strings.Contains(err.Error(), "no match for platform") {
		return err
	}
	have, ierr := t.platforms(ctx, ep, name)
	if ierr != nil {
		return err
	}
	if _, merr := registries.MatchPlatform(name, p, have); merr != nil {
		return merr
	}
	return err
}

// platforms lists the platforms of the index name, from the registry.
func (t *tool) platforms(ctx context.Context, ep core.Endpoint, name string) ([]core.Platform, error) {
	args := append([]string{"manifest", "inspect"}, insecureFlag(ep, "--insecure")...)
	out, err := t.command(ctx, append(args, name)...).Output()
	if err != nil {
		return nil, err
	}
	var index struct {
		Manifests []struct {
			Platform *struct {
				OS           string `json:"os"`
				Architecture string `json:"architecture"`
				Variant      string `json:"variant"`
			} `json:"platform"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(out, &index); err != nil {
		return nil, err
	}
	var have []core.Platform
	for _, m := range index.Manifests {
		var p core.Platform
		if m.Platform != nil {
			p = core.Platform{OS: m.Platform.OS, Architecture: m.Platform.Architecture, Variant: m.Platform.Variant}
		}
		have = append(have, p)
	}
	return have, nil
}
