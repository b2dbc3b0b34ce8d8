package podman

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/containers/podman/v5/pkg/bindings/images"
	"github.com/containers/podman/v5/pkg/bindings/manifests"
	"github.com/containers/podman/v5/pkg/domain/entities/types"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/credentials"
	"github.com/ocix/ocix/plugins/internal/lines"
	"github.com/ocix/ocix/plugins/internal/registries"
)

// pullRequest is what export and run pull.
type pullRequest struct {
	Endpoints  []core.Endpoint
	Repository string
	Reference  string // tag or digest
	Platform   core.Platform
	Events     func(core.Event)
}

// pulled is an image in podman's store.
type pulled struct {
	Name string        // the reference it was pulled as
	From core.Endpoint // the registry it was pulled from
	Data *types.ImageInspectReport
}

// pull makes sure the image is in podman's store, pulling it when it is
// not there for the platform asked (podman's pull policy "missing", what
// `podman create` and `podman run` do), from the first endpoint that has
// it: mirrors, then the origin. The image stays in the store, as it does
// after `podman run`.
//
// Registries on loopback are spoken to without TLS verification (podman
// then falls back to plain HTTP), as docker and crane do by themselves,
// so that a user needs no registries.conf entry for them; so is any
// registry the user marked insecure.
func (b *backend) pull(ctx context.Context, req pullRequest) (pulled, error) {
	return registries.Try(ctx, req.Endpoints, b.log, func(ep core.Endpoint) (pulled, error) {
		name := imageName(ep, req.Repository, req.Reference)
		auth, remove, err := authFile(ctx, credentials.Default(), ep, req.Repository)
		if err != nil {
			return pulled{}, err
		}
		defer remove()
		progress := &pullProgress{events: req.Events}
		opts := new(images.PullOptions).
			WithPolicy("missing").
			WithAuthfile(auth).
			WithProgressWriter(progress).
			WithSkipTLSVerify(ep.Insecure || registries.PlainHTTP(ep))
		if p := req.Platform; p.OS != "" {
			opts.WithOS(p.OS).WithArch(p.Architecture)
			if p.Variant != "" {
				opts.WithVariant(p.Variant)
			}
		}
		ids, err := images.Pull(ctx, name, opts)
		progress.flush()
		if err != nil {
			return pulled{}, b.pullError(ctx, ep, name, req, err)
		}
		if len(ids) == 0 {
			return pulled{}, registryError(ep, req.Repository, errString("podman pulled no image"))
		}
		data, err := images.GetImage(ctx, ids[0], nil)
		if err != nil {
			return pulled{}, serviceError(err)
		}
		return pulled{Name: name, From: ep, Data: data}, nil
	})
}

// imageName is the reference podman pulls: the registry as users write it
// (podman maps docker.io to Docker Hub's API host itself and keeps the
// familiar name in its store).
func imageName(ep core.Endpoint, repository, reference string) string {
	sep := ":"
	if registries.IsDigest(reference) {
		sep = "@"
	}
	return ep.Registry + "/" + repository + sep + reference
}

// pullProgress turns the text podman's pull streams into events: a
// progress message per blob as it starts (podman's API reports no byte
// counts) and its warnings, such as an image whose platform is not the
// one asked for, which podman pulls anyway.
type pullProgress struct {
	events func(core.Event)
	mu     sync.Mutex
	lines  lines.Splitter
	blobs  int
}

func (p *pullProgress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lines.Feed(b, p.line)
	return len(b), nil
}

// flush takes a last line without its newline.
func (p *pullProgress) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lines.Flush(p.line)
}

func (p *pullProgress) line(l string) {
	l = strings.TrimSpace(l)
	if p.events == nil {
		return
	}
	switch {
	case strings.HasPrefix(l, "Copying blob "):
		digest, _, _ := strings.Cut(strings.TrimPrefix(l, "Copying blob "), " ")
		p.events(core.Event{Progress: &core.Progress{Layer: p.blobs, Layers: p.blobs + 1, Digest: digest}})
		p.blobs++
	case strings.HasPrefix(l, "WARNING: "):
		p.events(core.Event{Warning: "podman: " + strings.TrimPrefix(l, "WARNING: ")})
	}
}

// pullError tells why a pull failed: a platform the index lacks is told
// as every ocix backend tells it, listing what the index has, which
// podman's own message does not; a blob that fails its digest names it.
func (b *backend) pullError(ctx context.Context, ep core.Endpoint, name string, req pullRequest, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	msg := core.OneLine(causeOf(err))
	if m := digestMismatch.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s: blob %s does not match its digest: podman read %s", name, m[1], m[2])
	}
	if !strings.Contains(msg, "no image found in") {
		return registryError(ep, req.Repository, err)
	}
	entries, ierr := b.index(ctx, ep, name, req.Repository)
	if ierr != nil || len(entries) == 0 {
		b.log.Debug("cannot list the index's platforms", "image", name, "error", ierr)
		return fmt.Errorf("%s: %s", name, msg)
	}
	var have []core.Platform
	for _, e := range entries {
		have = append(have, e.platform)
	}
	if _, merr := registries.MatchPlatform(name, req.Platform, have); merr != nil {
		return merr
	}
	return fmt.Errorf("%s: %s", name, msg)
}

// digestMismatch is how containers/image reports a blob whose content does
// not match its digest.
var digestMismatch = regexp.MustCompile(`Digest did not match, expected (\S+), got (\S+)`)

// indexEntry is one image of an index.
type indexEntry struct {
	digest   string
	platform core.Platform
}

// index lists the images of the index name refers to (none for a single
// image), as podman's manifest inspect reads it from the registry. A 4.3
// service reads it with its own registries.conf and credentials, which
// may not reach every registry ocix reaches.
func (b *backend) index(ctx context.Context, ep core.Endpoint, name, repository string) ([]indexEntry, error) {
	auth, remove, err := authFile(ctx, credentials.Default(), ep, repository)
	if err != nil {
		return nil, err
	}
	defer remove()
	opts := new(manifests.InspectOptions).WithAuthfile(auth).WithSkipTLSVerify(ep.Insecure || registries.PlainHTTP(ep))
	list, err := manifests.Inspect(ctx, name, opts)
	if err != nil {
		return nil, err
	}
	var out []indexEntry
	for _, m := range list.Manifests {
		out = append(out, indexEntry{digest: m.Digest.String(),
			platform: core.Platform{OS: m.Platform.OS, Architecture: m.Platform.Architecture, Variant: m.Platform.Variant}})
	}
	return out, nil
}

// manifestDigest is the digest of the pulled image's own manifest — for an
// index, its entry for the platform. podman's inspect reports as Digest
// the digest the image was pulled by (an index's, for a tag of one), and
// among RepoDigests every manifest digest it has for the image: an image
// pulled through one index has two, the index's and its own.
func (b *backend) manifestDigest(ctx context.Context, img pulled, repository, reference string) string {
	d := img.Data
	repo := img.From.Registry + "/" + repository
	var own []string
	for _, rd := range d.RepoDigests {
		if name, dg, ok := strings.Cut(rd, "@"); ok && name == normalizedName(repo) && dg != d.Digest.String() {
			own = append(own, dg)
		}
	}
	switch {
	case len(own) == 0:
		// Only the digest it was pulled by: a single image's own.
		return d.Digest.String()
	case len(own) == 1 && !registries.IsDigest(reference):
		return own[0]
	}
	// Several indexes led to this image, or it was pulled by a digest that
	// may be an index's or its own: the index tells.
	entries, err := b.index(ctx, img.From, img.Name, repository)
	if err == nil {
		for _, e := range entries {
			if e.platform.OS == d.Os && e.platform.Architecture == d.Architecture && slices.Contains(append(own, d.Digest.String()), e.digest) {
				return e.digest
			}
		}
		if len(entries) == 0 {
			return d.Digest.String() // not an index
		}
	}
	b.log.Warn("cannot tell the image's manifest digest; reporting the one it was pulled by", "image", img.Name, "error", err)
	return d.Digest.String()
}

// normalizedName is a repository's name as podman's store writes it:
// Docker Hub's official images under docker.io/library.
func normalizedName(repo string) string {
	if rest, ok := strings.CutPrefix(repo, "docker.io/"); ok && !strings.Contains(rest, "/") {
		return "docker.io/library/" + rest
	}
	return repo
}
