package nerdctl

import (
	"strings"

	"github.com/ocix/ocix/core"
)

// nerdctl's own defaults, which it also takes from the environment.
const (
	defaultAddress   = "/run/containerd/containerd.sock"
	defaultNamespace = "default"
	addressEnv       = "CONTAINERD_ADDRESS"
	namespaceEnv     = "CONTAINERD_NAMESPACE"
)

// settings is the nerdctl section of ocix's configuration. An empty
// data-root or cgroup-manager leaves the choice to nerdctl (its flag
// default or its nerdctl.toml).
type settings struct {
	Path          string `json:"path" help:"the nerdctl binary: a path, or a name looked up on $PATH"`
	Address       string `json:"address" help:"containerd's socket (default: $CONTAINERD_ADDRESS, else /run/containerd/containerd.sock)"`
	Namespace     string `json:"namespace" help:"containerd namespace (default: $CONTAINERD_NAMESPACE, else default)"`
	DataRoot      string `json:"data-root" help:"nerdctl --data-root, where nerdctl keeps container state (default: nerdctl's, /var/lib/nerdctl)"`
	CgroupManager string `json:"cgroup-manager" help:"nerdctl --cgroup-manager: cgroupfs, systemd or none (default: nerdctl's)"`
}

// defaultSettings are the settings before ocix's configuration applies:
// containerd's environment variables stand in for the defaults, so that
// precedence is ocix's config (file, OCIX_NERDCTL_*) > the tool's own
// environment > the tool's default, and `ocix config` shows what is used.
func defaultSettings(getenv func(string) string) settings {
	s := settings{Path: "nerdctl", Address: defaultAddress, Namespace: defaultNamespace}
	if v := getenv(addressEnv); v != "" {
		s.Address = v
	}
	if v := getenv(namespaceEnv); v != "" {
		s.Namespace = v
	}
	return s
}

// check refuses settings nerdctl would refuse later, less clearly, and
// normalises the address to a socket path.
func (s *settings) check() error {
	if s.Path == "" {
		return core.Usagef("config nerdctl.path: empty (want a path or a name on $PATH)")
	}
	if s.Namespace == "" {
		return core.Usagef("config nerdctl.namespace: empty")
	}
	addr := strings.TrimPrefix(s.Address, "unix://")
	if addr == "" || strings.Contains(addr, "://") {
		return core.Usagef("config nerdctl.address: want a unix socket path, got %q", s.Address)
	}
	s.Address = addr
	switch s.CgroupManager {
	case "", "cgroupfs", "systemd", "none":
	default:
		return core.Usagef("config nerdctl.cgroup-manager: want cgroupfs, systemd or none, got %q", s.CgroupManager)
	}
	return nil
}

// globalFlags are the flags every nerdctl call starts with: the address
// and namespace always, so that the socket ocix checks is the one nerdctl
// uses; the rest only when set.
func (s settings) globalFlags() []string {
	flags := []string{"--address", s.Address, "--namespace", s.Namespace}
	if s.DataRoot != "" {
		flags = append(flags, "--data-root", s.DataRoot)
	}
	if s.CgroupManager != "" {
		flags = append(flags, "--cgroup-manager", s.CgroupManager)
	}
	return flags
}
