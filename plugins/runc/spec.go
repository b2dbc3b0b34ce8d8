package runc

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/container"
)

// defaultPath is the PATH of a container whose image sets none: runc
// spec's and docker's.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// runcSpec is what `runc spec` writes (runc 1.1.5, libcontainer/specconv
// Example), in Go: the defaults an administrator starts from by hand. Only
// what ocix then sets from the image and the flags differs in a run's
// config.json; no capability is added to these three.
func runcSpec() *specs.Spec {
	caps := []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	return &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: "rootfs", Readonly: true},
		Process: &specs.Process{
			Terminal: true,
			Args:     []string{"sh"},
			Env:      []string{defaultPath, "TERM=xterm"},
			Cwd:      "/",
			Capabilities: &specs.LinuxCapabilities{
				Bounding: caps, Effective: caps, Permitted: caps, Ambient: caps,
			},
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}},
			NoNewPrivileges: true,
		},
		Hostname: "runc",
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
		},
		Linux: &specs.Linux{
			Resources: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}},
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace}, {Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace}, {Type: specs.MountNamespace},
			},
			MaskedPaths: []string{
				"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
				"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
			},
			ReadonlyPaths: []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
		},
	}
}

// bundleSpec is what a bundle's config.json is made from.
type bundleSpec struct {
	req core.RunRequest
	// root is root.path as config.json says it: "rootfs" beside
	// config.json in a bundle of ocix bundle, the view core prepared for a
	// run. rootfs is that directory on this host, where the image's
	// /etc/passwd and /etc/group are read.
	root, rootfs string
	// id is the container's id; its short form is the default hostname.
	id   string
	host host
}

// spec builds config.json: runc spec's defaults, then the image's config,
// then the flags — what an administrator edits by hand, made correct for
// any image.
func (b bundleSpec) spec() (*specs.Spec, error) {
	var img ocispec.Image
	if len(b.req.ImageConfig) > 0 {
		if err := json.Unmarshal(b.req.ImageConfig, &img); err != nil {
			return nil, fmt.Errorf("the image config is not valid JSON: %v", err)
		}
	}
	s := runcSpec()
	s.Root = &specs.Root{Path: b.root, Readonly: b.req.ReadOnly}
	s.Hostname = b.req.Hostname
	if s.Hostname == "" {
		s.Hostname = shortID(b.id)
	}
	s.Annotations = container.Labels(b.req)
	p := s.Process
	p.Terminal = b.req.TTY
	if b.req.TTY && b.req.Size.Rows > 0 && b.req.Size.Cols > 0 {
		p.ConsoleSize = &specs.Box{Height: uint(b.req.Size.Rows), Width: uint(b.req.Size.Cols)}
	}
	var err error
	if p.Args, err = b.args(img.Config); err != nil {
		return nil, err
	}
	if p.Cwd, err = b.cwd(img.Config); err != nil {
		return nil, err
	}
	user, err := b.user(img.Config)
	if err != nil {
		return nil, err
	}
	p.User = specs.User{UID: user.UID, GID: user.GID, AdditionalGids: user.Groups}
	p.Env = b.env(img.Config, user)
	p.Rlimits = b.host.fit(p.Rlimits)
	if err := b.network(s.Linux); err != nil {
		return nil, err
	}
	s.Mounts = append(s.Mounts, b.binds()...)
	return s, nil
}

// args is Entrypoint + Cmd, as docker runs them: --entrypoint replaces the
// image's and drops its Cmd; the user's arguments replace Cmd.
func (b bundleSpec) args(cfg ocispec.ImageConfig) ([]string, error) {
	entrypoint, cmd := cfg.Entrypoint, cfg.Cmd
	if b.req.Entrypoint != nil {
		entrypoint, cmd = b.req.Entrypoint, nil
	}
	if len(b.req.Args) > 0 {
		cmd = b.req.Args
	}
	args := append(slices.Clone(entrypoint), cmd...)
	if len(args) == 0 {
		return nil, core.Usagef("%s has no command to run (its config has no Entrypoint or Cmd): give one after --", b.req.Image)
	}
	return args, nil
}

// cwd is -w, else the image's WorkingDir (relative to "/" if it is not
// absolute, as docker takes it), else "/".
func (b bundleSpec) cwd(cfg ocispec.ImageConfig) (string, error) {
	if wd := b.req.Workdir; wd != "" {
		if !path.IsAbs(wd) {
			return "", core.Usagef("invalid -w %q: the working directory must be an absolute path", wd)
		}
		return path.Clean(wd), nil
	}
	return path.Clean("/" + cfg.WorkingDir), nil
}

// user resolves -u, else the image's User, else root, against the image's
// own /etc/passwd and /etc/group.
func (b bundleSpec) user(cfg ocispec.ImageConfig) (execUser, error) {
	spec, what := b.req.User, "-u"
	if spec == "" {
		spec, what = cfg.User, "the image's User"
	}
	files, err := readUserFiles(b.rootfs)
	if err != nil {
		return execUser{}, err
	}
	u, err := resolveUser(spec, what, files)
	if err != nil && what == "-u" {
		return u, core.Usagef("%v", err)
	}
	return u, err
}

// env is the image's Env with PATH defaulted, then -e's variables (one
// the image sets is replaced in place), then HOME from /etc/passwd and
// TERM for a terminal unless set, as docker gives them.
func (b bundleSpec) env(cfg ocispec.ImageConfig, u execUser) []string {
	env := slices.Clone(cfg.Env)
	if !hasVar(env, "PATH") {
		env = append([]string{defaultPath}, env...)
	}
	for _, kv := range b.req.Env {
		env = setVar(env, kv)
	}
	if !hasVar(env, "HOME") {
		env = append(env, "HOME="+u.Home)
	}
	if b.req.TTY && !hasVar(env, "TERM") {
		env = append(env, "TERM=xterm")
	}
	return env
}

func hasVar(env []string, key string) bool {
	return slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, key+"=") })
}

// setVar sets kv's variable, replacing an earlier value in place.
func setVar(env []string, kv string) []string {
	key, _, _ := strings.Cut(kv, "=")
	if i := slices.IndexFunc(env, func(e string) bool { return strings.HasPrefix(e, key+"=") }); i >= 0 {
		env[i] = kv
		return env
	}
	return append(env, kv)
}

// network applies --network: none (runc's default, a network namespace
// with only loopback) or host (no network namespace). runc makes no other
// network by itself.
func (b bundleSpec) network(l *specs.Linux) error {
	switch b.req.Network {
	case "", "none":
		return nil
	case "host":
		l.Namespaces = slices.DeleteFunc(l.Namespaces, func(ns specs.LinuxNamespace) bool {
			return ns.Type == specs.NetworkNamespace
		})
		return nil
	}
	return container.Refuse("runc", "--network "+b.req.Network, "runc makes no networks by itself: use none (the default) or host")
}

// binds are -v's bind mounts, recursive and private as docker makes them.
func (b bundleSpec) binds() []specs.Mount {
	var out []specs.Mount
	for _, m := range b.req.Mounts {
		opts := []string{"rbind", "rprivate"}
		if m.ReadOnly {
			opts = append(opts, "ro")
		}
		out = append(out, specs.Mount{Destination: path.Clean(m.Target), Type: "bind", Source: m.Source, Options: opts})
	}
	return out
}

// shortID is an id's first 12 characters after "ocix-": docker's short
// container id, and the default hostname.
func shortID(id string) string {
	s := strings.TrimPrefix(id, idPrefix)
	if len(s) > 12 {
		s = s[:12]
	}
	return s
}
