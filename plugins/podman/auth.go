package podman

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/credentials"
)

// authFile writes the credential ocix finds for ep (docker's config and
// credential helpers, then the containers auth.json files, as every ocix
// backend looks) into a private temporary auth.json, for the bindings to
// send to the service. remove deletes it; call it once the request is sent.
//
// Why a file: the bindings send a username and password as a single-auth
// X-Registry-Auth header, which podman 4.3's search endpoint ignores; a
// file's entries go as a multi-auth header keyed by registry, which pull
// and search both read. And without a file the bindings would send every
// credential of the plugin's environment, for any registry, to the service.
func authFile(ctx context.Context, store credentials.Store, ep core.Endpoint, repository string) (path string, remove func(), err error) {
	c, found, err := store.Lookup(ctx, ep.Registry, repository)
	if err != nil {
		return "", nil, fmt.Errorf("credentials for %s: %w", ep.Registry, err)
	}
	type entry struct {
		Auth          string `json:"auth,omitempty"`
		IdentityToken string `json:"identitytoken,omitempty"`
	}
	auths := map[string]entry{}
	if found {
		e := entry{IdentityToken: c.IdentityToken}
		if c.Username != "" || c.Password != "" {
			e.Auth = base64.StdEncoding.EncodeToString([]byte(c.Username + ":" + c.Password))
		}
		auths[ep.Registry] = e
	}
	body, err := json.Marshal(map[string]any{"auths": auths})
	if err != nil {
		return "", nil, err
	}
	f, err := os.CreateTemp("", "ocix-podman-auth-*.json") // mode 0600
	if err != nil {
		return "", nil, err
	}
	remove = func() { os.Remove(f.Name()) }
	_, err = f.Write(body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		remove()
		return "", nil, err
	}
	return f.Name(), remove, nil
}
