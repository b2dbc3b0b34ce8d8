package docker

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/moby/moby/client"
)

// endpoint is where the daemon is, and how to speak TLS to it when a docker
// context says so.
type endpoint struct {
	Host string
	// From says where Host came from, for messages: "docker.host",
	// "DOCKER_HOST", `docker context "name"`, "the default".
	From string
	// TLS is set when a docker context speaks TLS: its certificates
	// (empty when it has none of a kind) and whether to skip verification.
	TLS *tlsFiles
}

type tlsFiles struct {
	CA, Cert, Key string
	SkipVerify    bool
}

// resolveHost finds the daemon as the docker CLI would, with ocix's own
// setting first: docker.host, then DOCKER_HOST, then the active docker
// context (DOCKER_CONTEXT, else config.json's currentContext), then the
// platform's default socket. getenv is os.Getenv outside tests.
func resolveHost(configured string, getenv func(string) string) (endpoint, error) {
	switch {
	case configured != "":
		return endpoint{Host: configured, From: "docker.host"}, nil
	case getenv(client.EnvOverrideHost) != "":
		return endpoint{Host: getenv(client.EnvOverrideHost), From: client.EnvOverrideHost}, nil
	}
	dir := configDir(getenv)
	name := getenv("DOCKER_CONTEXT")
	if name == "" {
		var err error
		if name, err = currentContext(dir); err != nil {
			return endpoint{}, err
		}
	}
	if name == "" || name == "default" {
		return endpoint{Host: client.DefaultDockerHost, From: "the default"}, nil
	}
	return contextEndpoint(dir, name)
}

// configDir is the docker CLI's configuration directory: DOCKER_CONFIG, or
// ~/.docker.
func configDir(getenv func(string) string) string {
	if dir := getenv("DOCKER_CONFIG"); dir != "" {
		return dir
	}
	home := getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return filepath.Join(home, ".docker")
}

// currentContext reads config.json's currentContext; no file means none.
func currentContext(dir string) (string, error) {
	path := filepath.Join(dir, "config.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var cfg struct {
		CurrentContext string `json:"currentContext"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return "", fmt.Errorf("reading the docker context from %s: %v", path, err)
	}
	return cfg.CurrentContext, nil
}

// contextEndpoint reads a docker context as the CLI stores it: its meta.json
// and TLS files live in directories named by the sha256 of its name.
func contextEndpoint(dir, name string) (endpoint, error) {
	sum := sha256.Sum256([]byte(name))
	id := hex.EncodeToString(sum[:])
	path := filepath.Join(dir, "contexts", "meta", id, "meta.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return endpoint{}, fmt.Errorf("docker context %q not found (no %s)", name, path)
	}
	if err != nil {
		return endpoint{}, err
	}
	var meta struct {
		Endpoints map[string]struct {
			Host          string
			SkipTLSVerify bool
		}
	}
	if err := json.Unmarshal(data, &meta); err != nil {
		return endpoint{}, fmt.Errorf("docker context %q: %s: %v", name, path, err)
	}
	ep, ok := meta.Endpoints["docker"]
	if !ok || ep.Host == "" {
		return endpoint{}, fmt.Errorf("docker context %q has no docker endpoint (%s)", name, path)
	}
	out := endpoint{Host: ep.Host, From: fmt.Sprintf("docker context %q", name)}
	tls := filepath.Join(dir, "contexts", "tls", id, "docker")
	files := tlsFiles{CA: ifExists(tls, "ca.pem"), Cert: ifExists(tls, "cert.pem"), Key: ifExists(tls, "key.pem"), SkipVerify: ep.SkipTLSVerify}
	if files != (tlsFiles{}) {
		out.TLS = &files
	}
	return out, nil
}

// ifExists is dir/name if that file exists, else "".
func ifExists(dir, name string) string {
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); err != nil {
		return ""
	}
	return path
}
