package harness

import (
	"context"
	"fmt"
	"os"
)

// Podman is a podman API service with its own configuration, storage and
// socket. Its Env gives the podman and skopeo CLIs the same configuration.
type Podman struct {
	handle
	Socket string // the API's unix socket
}

// URI is the connection URI of the service (CONTAINER_HOST, or the podman
// bindings' NewConnection).
func (p *Podman) URI() string { return "unix://" + p.Socket }

// Env is the environment the service runs with, plus CONTAINER_HOST: the
// podman CLI (local or --remote) and skopeo given it see the same
// runtime, limits, storage, insecure registries and credentials file.
func (p *Podman) Env() []string {
	return append(podmanEnv(p.Dir()), "CONTAINER_HOST="+p.URI())
}

// podmanEnv points podman at the files writePodmanConfig writes, and its
// logins at a file of its own rather than /run/containers/0/auth.json.
func podmanEnv(dir string) []string {
	return []string{
		"CONTAINERS_CONF=" + dir + "/containers.conf",
		"CONTAINERS_STORAGE_CONF=" + dir + "/storage.conf",
		"CONTAINERS_REGISTRIES_CONF=" + dir + "/registries.conf",
		"REGISTRY_AUTH_FILE=" + dir + "/auth.json",
	}
}

// StartPodman runs `podman system service` with no timeout.
func (h *Harness) StartPodman(ctx context.Context) (*Podman, error) {
	bin, err := lookPath("podman", "install podman")
	if err != nil {
		return nil, err
	}
	if _, err := lookPath("runc", "install runc"); err != nil {
		return nil, err
	}
	if err := needRoot("podman"); err != nil {
		return nil, err
	}
	dir, err := h.newDir("podman")
	if err != nil {
		return nil, err
	}
	if err := writePodmanConfig(dir); err != nil {
		return nil, err
	}
	socket := dir + "/podman.sock"
	p, err := h.launch(ctx, spec{
		name:  "podman",
		dir:   dir,
		env:   podmanEnv(dir),
		bin:   bin,
		args:  []string{"system", "service", "--time=0", "unix://" + socket},
		ready: func(ctx context.Context) error { return pingSocket(ctx, socket) },
		drain: func(ctx context.Context) error { return removeContainers(ctx, socket) },
	})
	if err != nil {
		return nil, err
	}
	return &Podman{handle: handle{h, p}, Socket: socket}, nil
}

// writePodmanConfig writes the files podman reads.
//
// containers.conf: crun refuses this machine's hybrid cgroups, so runc;
// no network namespace setup; ulimits stated explicitly, because podman's
// defaults raise nofile above the hard limit (20000) this sandbox cannot
// exceed, and it lowers its own nproc limit to 32768. tmp_dir and
// network_config_dir would otherwise be shared by every podman on the
// machine (/run/libpod, /etc/containers/networks).
//
// storage.conf: overlay, the driver podman users have, in the
// component's directory.
//
// registries.conf: registries on 127.0.0.1 speak plain HTTP. containers/
// image matches the location "127.0.0.1" against "127.0.0.1:PORT" too, so
// one entry covers every registry the harness starts, whenever it starts
// it (the service reads this file once).
func writePodmanConfig(dir string) error {
	files := map[string]string{
		"containers.conf": fmt.Sprintf(`[containers]
netns = "none"
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
tmp_dir = "%[1]s/tmp"

[network]
network_config_dir = "%[1]s/networks"
`, dir),
		"storage.conf": fmt.Sprintf(`[storage]
driver = "overlay"
graphroot = "%[1]s/graph"
runroot = "%[1]s/run"
`, dir),
		"registries.conf": `unqualified-search-registries = []

[[registry]]
location = "127.0.0.1"
insecure = true

[[registry]]
location = "localhost"
insecure = true
`,
	}
	for name, content := range files {
		if err := os.WriteFile(dir+"/"+name, []byte(content), 0o644); err != nil {
			return err
		}
	}
	// The podman CLI refuses a REGISTRY_AUTH_FILE that does not exist.
	return os.WriteFile(dir+"/auth.json", []byte(`{"auths":{}}`+"\n"), 0o600)
}
