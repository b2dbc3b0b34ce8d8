// Package reference parses image references the way docker does and says how
// to reach their registry. ocix normalises every name here, once, and hands
// each backend a fully qualified reference.
package reference

import (
	"errors"
	"fmt"
	"net"
	"strings"

	dref "github.com/distribution/reference"
)

// DockerHub is the registry an unqualified name ("busybox") belongs to.
const DockerHub = "docker.io"

// dockerHubHost is where Docker Hub's registry API is served.
const dockerHubHost = "registry-1.docker.io"

// Image is a fully qualified image reference.
type Image struct {
	Registry   string // "docker.io", "127.0.0.1:5000"
	Repository string // "library/busybox"
	Tag        string // "latest"; empty with a digest or for a bare repository
	Digest     string // "sha256:…"; empty unless given
}

// Name is the repository's full name: registry/repository.
func (r Image) Name() string { return r.Registry + "/" + r.Repository }

// String is the full reference, as docker would print it fully qualified.
func (r Image) String() string {
	s := r.Name()
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// Parse parses an image reference with Docker Hub's rules: "busybox" is
// docker.io/library/busybox:latest. A missing tag becomes "latest" unless a
// digest is given.
func Parse(s string) (Image, error) {
	img, err := parse(s)
	if err != nil {
		return Image{}, err
	}
	if img.Tag == "" && img.Digest == "" {
		img.Tag = "latest"
	}
	return img, nil
}

// ParseRepository parses a repository name ("busybox",
// "127.0.0.1:5000/team/app"); a tag or digest is refused, as skopeo
// list-tags does, because a repository has many.
func ParseRepository(s string) (Image, error) {
	img, err := parse(s)
	if err != nil {
		return Image{}, err
	}
	if img.Tag != "" || img.Digest != "" {
		return Image{}, fmt.Errorf("invalid repository %q: give the repository without a tag or digest", s)
	}
	return img, nil
}

func parse(s string) (Image, error) {
	if strings.TrimSpace(s) == "" {
		return Image{}, errors.New("invalid image reference: empty name")
	}
	named, err := dref.ParseNormalizedNamed(s)
	if err != nil {
		if _, lowerErr := dref.ParseNormalizedNamed(strings.ToLower(s)); lowerErr == nil {
			err = dref.ErrNameContainsUppercase
		}
		return Image{}, fmt.Errorf("invalid image reference %q: %s", s, explain(err))
	}
	img := Image{Registry: dref.Domain(named), Repository: dref.Path(named)}
	if t, ok := named.(dref.Tagged); ok {
		img.Tag = t.Tag()
	}
	if d, ok := named.(dref.Digested); ok {
		img.Digest = d.Digest().String()
	}
	return img, nil
}

// explain turns the reference library's terse errors into a reason a user
// can act on.
func explain(err error) string {
	switch {
	case errors.Is(err, dref.ErrNameContainsUppercase):
		return "repository name must be lowercase"
	case errors.Is(err, dref.ErrNameTooLong):
		return "repository name is longer than 255 characters"
	case errors.Is(err, dref.ErrNameEmpty):
		return "repository name is empty"
	case errors.Is(err, dref.ErrTagInvalidFormat):
		return "tag must be 1–128 of [A-Za-z0-9_.-], not starting with . or -"
	case errors.Is(err, dref.ErrDigestInvalidFormat):
		return "digest must look like sha256:<64 hex digits>"
	}
	return "expected [registry[:port]/]path[:tag][@digest] in lowercase"
}

// Host is where a registry's API is served: Docker Hub's is
// registry-1.docker.io, every other registry serves at its own name.
func Host(registry string) string {
	if registry == DockerHub || registry == "index.docker.io" {
		return dockerHubHost
	}
	return registry
}

// IsLoopback reports whether host[:port] names this machine: "localhost",
// 127.0.0.0/8 or ::1. Registries there speak plain HTTP, as docker and crane
// assume.
func IsLoopback(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
