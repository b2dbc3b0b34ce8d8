package docker

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/authconfig"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/credentials"
	"github.com/ocix/ocix/plugins/internal/registries"
)

// source is the image a job starts from, and where to find it.
type source struct {
	repository, reference string
	endpoints             []core.Endpoint
	platform              core.Platform
	events                func(core.Event) // nil drops them
}

func (s source) warn(msg string) {
	if s.events != nil {
		s.events(core.Event{Warning: msg})
	}
}

// made is a container created from a source.
type made struct {
	id string
	// ep served the image, under name (registry/repository:tag or @digest).
	ep   core.Endpoint
	name string
	// pulled is the digest the pull reported, when the image was pulled.
	pulled string
}

// createFrom creates a container from src as `docker create` does: from the
// image the engine has for the platform, pulling it first when it has none
// (the daemon answers "not found" for an image of another platform too).
// Mirrors come first. dockerd keeps an image pulled from a mirror under the
// mirror's name, so the container is created from that name.
//
// The platform is always asked for, the host's when the user gave none:
// an engine that keeps one image per name (dockerd 20.10) would otherwise
// take whatever platform it pulled last under that name. An image whose
// config names no platform (`crane append` without --platform makes them)
// matches none, so it is created without asking, as `docker create IMAGE`
// creates it, with a warning.
func (b *backend) createFrom(ctx context.Context, cli *client.Client, src source, cfg *container.Config, host *container.HostConfig) (made, error) {
	platform := &ocispec.Platform{OS: src.platform.OS, Architecture: src.platform.Architecture, Variant: src.platform.Variant}
	return registries.Try(ctx, src.endpoints, b.log, func(ep core.Endpoint) (made, error) {
		m := made{ep: ep, name: imageName(ep, src)}
		cfg.Image = m.name
		create := func() (client.ContainerCreateResult, error) {
			resp, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{Config: cfg, HostConfig: host, Platform: platform})
			if cerrdefs.IsNotFound(err) && namesNoPlatform(ctx, cli, m.name) {
				src.warn(fmt.Sprintf("%s names no platform: created without asking for %s", m.name, src.platform))
				return cli.ContainerCreate(ctx, client.ContainerCreateOptions{Config: cfg, HostConfig: host})
			}
			return resp, err
		}
		resp, err := create()
		if cerrdefs.IsNotFound(err) {
			if m.pulled, err = b.pull(ctx, cli, ep, m.name, src); err != nil {
				return made{}, err
			}
			resp, err = create()
		}
		if err != nil && ctx.Err() != nil {
			return made{}, ctx.Err()
		}
		if err != nil {
			return made{}, daemonError(m.name, err)
		}
		for _, w := range resp.Warnings {
			src.warn(w)
		}
		m.id = resp.ID
		return m, nil
	})
}

// namesNoPlatform reports whether the engine has an image called name whose
// config names no architecture. (dockerd 20.10 reports such an image's OS
// as its own, so the architecture is what tells.)
func namesNoPlatform(ctx context.Context, cli *client.Client, name string) bool {
	img, err := cli.ImageInspect(ctx, name)
	return err == nil && img.Architecture == ""
}

// imageName is the image's name on ep, as docker takes it.
func imageName(ep core.Endpoint, src source) string {
	sep := ":"
	if registries.IsDigest(src.reference) {
		sep = "@"
	}
	return ep.Registry + "/" + src.repository + sep + src.reference
}

// pull pulls name for src's platform, with the credentials the docker
// config (or the containers auth files) hold for ep, passing docker's
// progress on. It returns the digest docker reports for what it pulled.
func (b *backend) pull(ctx context.Context, cli *client.Client, ep core.Endpoint, name string, src source) (string, error) {
	auth, err := registryAuth(ctx, ep, src.repository)
	if err != nil {
		return "", err
	}
	var digest string
	opts := client.ImagePullOptions{RegistryAuth: auth}
	if p := src.platform; p.OS != "" {
		opts.Platforms = []ocispec.Platform{{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}}
	}
	rc, err := cli.ImagePull(ctx, name, opts)
	if err == nil {
		digest, err = readPull(rc, src.events)
		rc.Close()
	}
	switch {
	case err == nil:
		return digest, nil
	case ctx.Err() != nil:
		return "", ctx.Err()
	case strings.Contains(err.Error(), "no matching manifest"):
		return "", platformError(ctx, cli, name, auth, src.platform, err)
	}
	return "", daemonError(name, err)
}

// registryAuth is what dockerd wants for a pull: the credentials found for
// ep as base64url JSON, or "" when there are none.
func registryAuth(ctx context.Context, ep core.Endpoint, repository string) (string, error) {
	c, found, err := credentials.Default().Lookup(ctx, ep.Registry, repository)
	if err != nil || !found {
		return "", err
	}
	return authconfig.Encode(registry.AuthConfig{
		Username: c.Username, Password: c.Password, IdentityToken: c.IdentityToken, ServerAddress: ep.Registry,
	})
}

// platformError tells that an index has no image for the platform, listing
// the ones it has (asked of dockerd: its registry access, its credentials):
// docker's own message names only the platform it wanted.
func platformError(ctx context.Context, cli *client.Client, name, auth string, want core.Platform, err error) error {
	dist, derr := cli.DistributionInspect(ctx, name, client.DistributionInspectOptions{EncodedRegistryAuth: auth})
	if derr != nil || len(dist.Platforms) == 0 {
		return daemonError(name, err)
	}
	var have []core.Platform
	for _, p := range dist.Platforms {
		have = append(have, core.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant})
	}
	if _, merr := registries.MatchPlatform(name, want, have); merr != nil {
		return merr
	}
	return daemonError(name, err)
}

// checkInsecure refuses a non-loopback registry the user wants reached
// insecurely (--insecure, registries.insecure) unless dockerd already
// treats it so: dockerd alone decides that (daemon.json's
// insecure-registries), and a pull through it cannot be told otherwise.
// Loopback registries need nothing: dockerd speaks plain HTTP to them by
// itself.
func checkInsecure(ctx context.Context, cli *client.Client, eps []core.Endpoint) error {
	var asked []string
	for _, ep := range eps {
		if ep.Insecure && !registries.PlainHTTP(ep) {
			asked = append(asked, ep.Host)
		}
	}
	if len(asked) == 0 {
		return nil
	}
	info, err := cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		return daemonError("docker info", err)
	}
	for _, host := range asked {
		if !insecureIn(info.Info.RegistryConfig, host) {
			return core.Usagef(`the docker backend cannot make dockerd reach %s insecurely: dockerd decides that itself; add %q to "insecure-registries" in its daemon.json and restart it`, host, host)
		}
	}
	return nil
}

// insecureIn reports whether dockerd's registry configuration lets it reach
// host (host[:port]) insecurely: by name, or by an address in its insecure
// ranges.
func insecureIn(cfg *registry.ServiceConfig, host string) bool {
	if cfg == nil {
		return false
	}
	if ic, ok := cfg.IndexConfigs[host]; ok && ic != nil {
		return !ic.Secure
	}
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = host
	}
	ip, err := netip.ParseAddr(strings.Trim(h, "[]"))
	if err != nil {
		return false
	}
	for _, n := range cfg.InsecureRegistryCIDRs {
		if n.Contains(ip.Unmap()) {
			return true
		}
	}
	return false
}
