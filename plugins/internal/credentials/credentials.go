// Package credentials finds a registry's credentials where docker and the
// containers tools (podman, skopeo, buildah) keep them: docker's config.json
// with its credential helpers, then the containers auth.json files. It only
// reads; logging in is those tools' job.
package credentials

import (
	"context"
	"os"
	"path/filepath"
)

// Credential is what a registry's token server or Basic challenge is
// answered with.
type Credential struct {
	Username string
	Password string
	// IdentityToken is an OAuth2 refresh token (what `docker login` stores
	// for registries such as ACR). It is exchanged for an access token
	// instead of sending Username and Password.
	IdentityToken string
}

// Store finds credentials.
type Store interface {
	// Lookup returns the credentials for a repository of registry, the
	// registry's name as users write it ("docker.io", "127.0.0.1:5000").
	// found is false, with a nil error, when there are none. An error means
	// a source is broken (unreadable file, failing helper): the caller
	// stops rather than go on anonymously, as docker does.
	Lookup(ctx context.Context, registry, repository string) (c Credential, found bool, err error)
}

// Default returns the store docker and podman users expect, read afresh at
// every lookup so a login in between is seen: docker's config first
// ($DOCKER_CONFIG/config.json, else ~/.docker/config.json), then the
// containers auth files ($REGISTRY_AUTH_FILE,
// $XDG_RUNTIME_DIR/containers/auth.json, ~/.config/containers/auth.json).
// In each file credHelpers come first, then credsStore, then auths.
func Default() Store { return files{} }

type files struct{}

func (files) Lookup(ctx context.Context, registry, repository string) (Credential, bool, error) {
	for _, path := range configPaths() {
		cfg, err := readConfig(path)
		if err != nil {
			return Credential{}, false, err
		}
		c, found, err := cfg.lookup(ctx, registry, repository)
		if found || err != nil {
			return c, found, err
		}
	}
	return Credential{}, false, nil
}

// configPaths lists the files to read, in order. A variable that is not set
// drops its file; a file that does not exist is skipped when read.
func configPaths() []string {
	home, _ := os.UserHomeDir()
	var paths []string
	add := func(dir string, elem ...string) {
		if dir != "" {
			paths = append(paths, filepath.Join(append([]string{dir}, elem...)...))
		}
	}
	if dir := os.Getenv("DOCKER_CONFIG"); dir != "" {
		add(dir, "config.json")
	} else {
		add(home, ".docker", "config.json")
	}
	add(os.Getenv("REGISTRY_AUTH_FILE"))
	add(os.Getenv("XDG_RUNTIME_DIR"), "containers", "auth.json")
	add(home, ".config", "containers", "auth.json")
	return paths
}
