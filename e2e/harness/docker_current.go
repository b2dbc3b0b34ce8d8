package harness

import (
	"context"
	"encoding/json"
	"path/filepath"
)

// The current docker engine and the runc its runs need are built by
// `.ci/run install` under names of their own, so that `dockerd` and
// `runc` on PATH stay Debian's: Debian's dockerd, podman, containerd and
// the runc backend use those.
const (
	// CurrentDockerd is moby v2's dockerd (API 1.5x, containerd image
	// store).
	CurrentDockerd = "dockerd-current"
	// CurrentRunc is a runc ≥ 1.2: the current dockerd asks for a time
	// namespace, which Debian's runc 1.1 does not know.
	CurrentRunc = "runc-current"
)

const installCurrent = "run .ci/run install (it builds moby v2's dockerd and runc ≥ 1.2)"

// StartCurrentDocker runs the current docker engine, as StartDocker runs
// Debian's: everything of its own, and its runs made by CurrentRunc. It
// starts a containerd of its own (Debian's, from PATH) in a containerd
// namespace no other dockerd uses, so that the state the runc shim keeps
// outside its directories (/run/containerd/runc/NAMESPACE) is its alone
// and goes with it.
func (h *Harness) StartCurrentDocker(ctx context.Context) (*Docker, error) {
	bin, err := lookPath(CurrentDockerd, installCurrent)
	if err != nil {
		return nil, err
	}
	runc, err := lookPath(CurrentRunc, installCurrent)
	if err != nil {
		return nil, err
	}
	if _, err := lookPath("containerd", "install containerd"); err != nil {
		return nil, err
	}
	namespace := func(dir string) string { return "ocix-" + filepath.Base(dir) }
	return h.startDockerd(ctx, dockerd{
		name: CurrentDockerd,
		bin:  bin,
		config: func(string) string {
			cfg, _ := json.Marshal(map[string]any{
				"runtimes":        map[string]any{CurrentRunc: map[string]string{"path": runc}},
				"default-runtime": CurrentRunc,
			})
			return string(cfg) + "\n"
		},
		args: func(dir string) []string {
			return []string{"--containerd-namespace", namespace(dir), "--containerd-plugins-namespace", namespace(dir) + "-plugins"}
		},
		outside: func(dir string) []string {
			return []string{"/run/containerd/runc/" + namespace(dir), "/run/containerd/runc/" + namespace(dir) + "-plugins"}
		},
	})
}
