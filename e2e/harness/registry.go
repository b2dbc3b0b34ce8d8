package harness

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// RegistryVersion picks the registry implementation to run.
type RegistryVersion int

const (
	// RegistryV2 is Debian's docker-registry (distribution 2.8). It
	// ignores n and last on tags/list: every tag in one unsorted answer,
	// no Link header.
	RegistryV2 RegistryVersion = 2
	// RegistryV3 is distribution v3 (`registry`). It paginates tags/list
	// when n is given: sorted pages and a Link header to the next.
	RegistryV3 RegistryVersion = 3
)

// RegistryOptions configures StartRegistry.
type RegistryOptions struct {
	// Version is the implementation; RegistryV3 when zero.
	Version RegistryVersion
	// Users, name to password, are the htpasswd users the registry
	// requires (HTTP basic auth); with none it requires no auth.
	Users map[string]string
}

// Registry is a running registry serving plain HTTP on 127.0.0.1.
type Registry struct {
	handle
	Host    string // "127.0.0.1:PORT", the registry part of a reference
	Version RegistryVersion
}

// registryPorts is how many ports StartRegistry tries: the port is picked
// free, but another process may take it before the registry binds it.
const registryPorts = 3

// StartRegistry runs a registry with filesystem storage, deletes enabled
// and, given users, htpasswd auth.
func (h *Harness) StartRegistry(ctx context.Context, opts RegistryOptions) (*Registry, error) {
	if opts.Version == 0 {
		opts.Version = RegistryV3
	}
	bin, err := registryBinary(ctx, opts.Version)
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		r, err := h.startRegistry(ctx, bin, opts)
		if err == nil || attempt == registryPorts || !strings.Contains(err.Error(), "address already in use") {
			return r, err
		}
	}
}

func (h *Harness) startRegistry(ctx context.Context, bin string, opts RegistryOptions) (*Registry, error) {
	name := fmt.Sprintf("registry-v%d", opts.Version)
	dir, err := h.newDir(name)
	if err != nil {
		return nil, err
	}
	host, err := freeAddr()
	if err != nil {
		return nil, err
	}
	config := fmt.Sprintf(`version: 0.1
log:
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s/data
  delete:
    enabled: true
http:
  addr: %s
`, dir, host)
	if len(opts.Users) > 0 {
		if err := writeHtpasswd(dir+"/htpasswd", opts.Users); err != nil {
			return nil, err
		}
		config += fmt.Sprintf("auth:\n  htpasswd:\n    realm: ocix-e2e\n    path: %s/htpasswd\n", dir)
	}
	if err := os.WriteFile(dir+"/config.yml", []byte(config), 0o644); err != nil {
		return nil, err
	}
	p, err := h.launch(ctx, spec{
		name: name,
		dir:  dir,
		// v3 exports OpenTelemetry traces by default and complains loudly
		// when there is no collector.
		env:   []string{"OTEL_TRACES_EXPORTER=none"},
		bin:   bin,
		args:  []string{"serve", dir + "/config.yml"},
		ready: func(ctx context.Context) error { return registryUp(ctx, host) },
	})
	if err != nil {
		return nil, err
	}
	return &Registry{handle: handle{h, p}, Host: host, Version: opts.Version}, nil
}

// registryBinary finds the implementation's binary and, for v3, makes
// sure the `registry` found is distribution v3 and not some other program
// of that common name.
func registryBinary(ctx context.Context, v RegistryVersion) (string, error) {
	switch v {
	case RegistryV2:
		return lookPath("docker-registry", "install docker-registry")
	case RegistryV3:
		const fix = "go install github.com/distribution/distribution/v3/cmd/registry@v3.0.0"
		bin, err := lookPath("registry", fix)
		if err != nil {
			return "", err
		}
		ctx, cancel := context.WithTimeout(ctx, readyTimeout)
		defer cancel()
		out, _ := exec.CommandContext(ctx, bin, "--version").Output()
		if !strings.Contains(string(out), "distribution/v3") {
			return "", &MissingError{What: bin + " is not distribution v3", Fix: fix}
		}
		return bin, nil
	}
	return "", fmt.Errorf("unknown registry version %d", v)
}

// registryUp says whether the registry answers /v2/; 401 counts, since a
// registry with auth answers that before any login.
func registryUp(ctx context.Context, host string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+"/v2/", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnauthorized {
		return fmt.Errorf("GET /v2/: %s", resp.Status)
	}
	return nil
}

// writeHtpasswd writes users in htpasswd's bcrypt format, the only one
// distribution accepts. The lowest cost keeps logins fast.
func writeHtpasswd(path string, users map[string]string) error {
	var b strings.Builder
	for user, password := range users {
		hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s:%s\n", user, hash)
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// freeAddr picks a free TCP port on 127.0.0.1 for a daemon that must be
// told its address.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
