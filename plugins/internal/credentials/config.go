package credentials

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
)

// configFile is the part of docker's config.json that holds credentials.
// The containers auth.json has the same shape (without credsStore), so one
// reader serves both.
type configFile struct {
	path        string
	Auths       map[string]authEntry `json:"auths"`
	CredsStore  string               `json:"credsStore"`
	CredHelpers map[string]string    `json:"credHelpers"`
}

type authEntry struct {
	Auth          string `json:"auth"` // base64 of "username:password"
	Username      string `json:"username"`
	Password      string `json:"password"`
	IdentityToken string `json:"identitytoken"`
}

// readConfig reads a config file; one that does not exist is empty.
func readConfig(path string) (*configFile, error) {
	cfg := &configFile{path: path}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading credentials: %w", err)
	}
	if err := json.Unmarshal(data, cfg); err != nil {
		return nil, fmt.Errorf("reading credentials from %s: %v", path, err)
	}
	return cfg, nil
}

// lookup finds a registry's credentials in this file. A credHelpers entry
// is the registry's only source here, as in docker; else the credsStore
// is asked, then auths are read.
func (c *configFile) lookup(ctx context.Context, registry, repository string) (Credential, bool, error) {
	host := canonicalHost(registry)
	if name := c.helperFor(host); name != "" {
		return runHelper(ctx, name, helperServer(host))
	}
	if c.CredsStore != "" {
		cred, found, err := runHelper(ctx, c.CredsStore, helperServer(host))
		if found || err != nil {
			return cred, found, err
		}
	}
	return c.fromAuths(host, repository)
}

// helperFor is the credential helper named for host in credHelpers.
func (c *configFile) helperFor(host string) string {
	// Sorted, so that keys that normalize alike always match the same way.
	for _, k := range slices.Sorted(maps.Keys(c.CredHelpers)) {
		if normalizeKey(k) == host {
			return c.CredHelpers[k]
		}
	}
	return ""
}

// fromAuths finds the most specific auths entry: host/repo/sub, then
// host/repo, then host, as the containers tools match them.
func (c *configFile) fromAuths(host, repository string) (Credential, bool, error) {
	keys := slices.Sorted(maps.Keys(c.Auths))
	for scope := host + "/" + repository; ; {
		for _, k := range keys {
			if normalizeKey(k) != scope {
				continue
			}
			cred, found, err := c.Auths[k].credential()
			if err != nil {
				return Credential{}, false, fmt.Errorf("reading credentials from %s: auths[%q]: %v", c.path, k, err)
			}
			if found {
				return cred, true, nil
			}
		}
		i := strings.LastIndexByte(scope, '/')
		if i < 0 {
			return Credential{}, false, nil
		}
		scope = scope[:i]
	}
}

// credential decodes an entry. An empty entry, as docker writes next to a
// credsStore, holds nothing.
func (e authEntry) credential() (Credential, bool, error) {
	cred := Credential{Username: e.Username, Password: e.Password, IdentityToken: e.IdentityToken}
	if e.Auth != "" {
		raw, err := base64.StdEncoding.DecodeString(e.Auth)
		if err != nil {
			return Credential{}, false, errors.New("auth is not base64")
		}
		user, pass, ok := strings.Cut(string(raw), ":")
		if !ok {
			return Credential{}, false, errors.New(`auth is not base64 of "username:password"`)
		}
		cred.Username, cred.Password = user, pass
	}
	return cred, cred != Credential{}, nil
}

// dockerHubServer is the key docker files Docker Hub's credentials under.
const dockerHubServer = "https://index.docker.io/v1/"

// canonicalHost names Docker Hub one way whatever name it was given.
func canonicalHost(host string) string {
	switch strings.ToLower(host) {
	case "docker.io", "index.docker.io", "registry-1.docker.io":
		return "docker.io"
	}
	return host
}

// normalizeKey turns a config key into the form lookups compare:
// "https://myreg:5000/v1/" (docker's old URL form) is "myreg:5000", and
// Docker Hub's keys are "docker.io". A key without a scheme keeps its path:
// the containers tools scope credentials to a repository that way.
func normalizeKey(key string) string {
	key = strings.TrimSuffix(key, "/")
	if _, rest, ok := strings.Cut(key, "://"); ok {
		key, _, _ = strings.Cut(rest, "/")
	}
	host, path, _ := strings.Cut(key, "/")
	if path == "" {
		return canonicalHost(host)
	}
	return canonicalHost(host) + "/" + path
}

// helperServer is the server a helper is asked about: the name docker
// stores it under.
func helperServer(host string) string {
	if host == "docker.io" {
		return dockerHubServer
	}
	return host
}
