package harness

import (
	"context"
	"os"
)

// Docker is a private dockerd. It reads no host configuration and touches
// no host networking: no bridge, no iptables, so containers must use
// network mode "none".
type Docker struct {
	handle
	Socket string // the API's unix socket
}

// Host is the DOCKER_HOST value that reaches this dockerd.
func (d *Docker) Host() string { return "unix://" + d.Socket }

// Env is the environment that points the docker CLI and client.FromEnv
// at this dockerd, with a CLI configuration directory of its own so that
// a `docker login` in a test never touches ~/.docker.
func (d *Docker) Env() []string {
	return []string{"DOCKER_HOST=" + d.Host(), "DOCKER_CONFIG=" + d.Dir() + "/cli"}
}

// StartDocker runs a dockerd of its own: socket, data root, exec root
// (with the containerd it starts), pid file and daemon.json.
func (h *Harness) StartDocker(ctx context.Context) (*Docker, error) {
	bin, err := lookPath("dockerd", "install docker.io")
	if err != nil {
		return nil, err
	}
	if err := needRoot("dockerd"); err != nil {
		return nil, err
	}
	dir, err := h.newDir("docker")
	if err != nil {
		return nil, err
	}
	// An empty daemon.json of our own, so /etc/docker/daemon.json is
	// never read.
	if err := os.WriteFile(dir+"/daemon.json", []byte("{}\n"), 0o644); err != nil {
		return nil, err
	}
	socket := dir + "/docker.sock"
	p, err := h.launch(ctx, spec{
		name: "dockerd",
		dir:  dir,
		bin:  bin,
		args: []string{
			"--config-file", dir + "/daemon.json",
			"-H", "unix://" + socket,
			"--data-root", dir + "/root",
			"--exec-root", dir + "/exec",
			"--pidfile", dir + "/docker.pid",
			"--bridge=none", "--iptables=false", "--ip6tables=false",
		},
		ready: func(ctx context.Context) error { return pingSocket(ctx, socket) },
		drain: func(ctx context.Context) error { return removeContainers(ctx, socket) },
	})
	if err != nil {
		return nil, err
	}
	return &Docker{handle: handle{h, p}, Socket: socket}, nil
}
