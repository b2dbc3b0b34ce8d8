package podman

import (
	"strings"

	"github.com/containers/podman/v5/pkg/specgen"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/container"
)

// runSpec is the container `ocix run` asks for, as podman's create API
// takes it. image is the ID of the pulled image, so the container is
// made from exactly the platform pulled.
//
// Only what ocix's flags say is set: everything else is the service's
// own default (containers.conf), as for `podman run`.
func runSpec(req core.RunRequest, image string) (*specgen.SpecGenerator, error) {
	s := specgen.NewSpecGenerator(image, false)
	s.RawImageName = req.Image
	s.Labels = container.Labels(req)
	switch {
	case req.Entrypoint == nil:
		// the image's
	case len(req.Entrypoint) == 0:
		// podman's way to clear it (`--entrypoint ""`): an empty list
		// would be dropped on the wire and mean the image's.
		s.Entrypoint = []string{""}
	default:
		s.Entrypoint = req.Entrypoint
	}
	if len(req.Args) > 0 {
		s.Command = req.Args
	}
	if len(req.Env) > 0 {
		s.Env = map[string]string{}
		for _, kv := range req.Env {
			k, v, _ := strings.Cut(kv, "=")
			s.Env[k] = v
		}
	}
	s.WorkDir = req.Workdir
	s.User = req.User
	s.Hostname = req.Hostname
	if req.ReadOnly {
		// docker's --read-only: the root and nothing writable added. (The
		// podman CLI also mounts tmpfs on /tmp, /var/tmp and /run, which
		// newer services do for read_write_tmpfs; say no to it.)
		s.ReadOnlyFilesystem = ptr(true)
		s.ReadWriteTmpfs = ptr(false)
	}
	for _, m := range req.Mounts {
		opts := []string{"rbind"}
		if m.ReadOnly {
			opts = append(opts, "ro")
		}
		s.Mounts = append(s.Mounts, specs.Mount{Type: "bind", Source: m.Source, Destination: m.Target, Options: opts})
	}
	if req.Network != "" {
		ns, networks, options, err := specgen.ParseNetworkFlag([]string{req.Network})
		if err != nil {
			return nil, core.Usagef("invalid --network %q: %v", req.Network, err)
		}
		s.NetNS, s.Networks, s.NetworkOptions = ns, networks, options
	}
	s.Terminal = ptr(req.TTY)
	s.Stdin = ptr(req.Interactive)
	return s, nil
}

// exportSpec is the container an export is read from: created, never
// started. Its image volumes are not made (nothing mounts them), its
// network is none (nothing uses it), and an image with neither command nor
// entrypoint is given a placeholder command, because podman refuses to
// create a container with nothing to run, though this one never runs.
//
// It carries the export's invocation label, for core's cleanup after a
// dead plugin.
func exportSpec(img pulled, req core.ExportRequest) *specgen.SpecGenerator {
	s := specgen.NewSpecGenerator(img.Data.ID, false)
	s.RawImageName = img.Name
	s.Labels = container.ExportLabels(req)
	s.ImageVolumeMode = "ignore"
	s.NetNS = specgen.Namespace{NSMode: specgen.NoNetwork}
	if cfg := img.Data.Config; cfg == nil || len(cfg.Cmd) == 0 && len(cfg.Entrypoint) == 0 {
		s.Command = []string{"/ocix-export-never-runs"}
	}
	return s
}

func ptr[T any](v T) *T { return &v }
