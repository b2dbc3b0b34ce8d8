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

// StartDocker runs Debian 12's dockerd (20.10, API 1.41) of its own:
// socket, data root, exec root (with the containerd it starts), pid file
// and daemon.json.
func (h *Harness) StartDocker(ctx context.Context) (*Docker, error) {
	bin, err := lookPath("dockerd", "install docker.io")
	if err != nil {
		return nil, err
	}
	return h.startDockerd(ctx, dockerd{name: "dockerd", bin: bin, config: func(string) string { return "{}\n" }})
}

// dockerd says which dockerd to run and how.
type dockerd struct {
	name string // names its directory, log and errors
	bin  string
	// config is the daemon.json for the dockerd whose directory is dir.
	config func(dir string) string
	// args are added to the command line.
	args func(dir string) []string
	// outside are directories of its own it makes outside dir.
	outside func(dir string) []string
}

// startDockerd runs d with everything of its own, no host networking and
// only its own daemon.json: /etc/docker/daemon.json is never read.
func (h *Harness) startDockerd(ctx context.Context, d dockerd) (*Docker, error) {
	if err := needRoot(d.name); err != nil {
		return nil, err
	}
	dir, err := h.newDir(d.name)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(dir+"/daemon.json", []byte(d.config(dir)), 0o644); err != nil {
		return nil, err
	}
	socket := dir + "/docker.sock"
	args := []string{
		"--config-file", dir + "/daemon.json",
		"-H", "unix://" + socket,
		"--data-root", dir + "/root",
		"--exec-root", dir + "/exec",
		"--pidfile", dir + "/docker.pid",
		"--bridge=none", "--iptables=false", "--ip6tables=false",
	}
	if d.args != nil {
		args = append(args, d.args(dir)...)
	}
	var outside []string
	if d.outside != nil {
		outside = d.outside(dir)
	}
	p, err := h.launch(ctx, spec{
		name:    d.name,
		dir:     dir,
		bin:     d.bin,
		args:    args,
		ready:   func(ctx context.Context) error { return pingSocket(ctx, socket) },
		drain:   func(ctx context.Context) error { return removeContainers(ctx, socket) },
		outside: outside,
	})
	if err != nil {
		return nil, err
	}
	return &Docker{handle: handle{h, p}, Socket: socket}, nil
}
