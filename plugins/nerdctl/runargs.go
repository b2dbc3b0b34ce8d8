package nerdctl

import (
	"maps"
	"slices"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/container"
)

// detachKeys replaces nerdctl's ctrl-p,ctrl-q: ocix run has no detaching
// (the container goes when the command ends), and nerdctl cannot turn the
// keys off, so they are ones nobody types by chance.
const detachKeys = "ctrl-^,ctrl-],ctrl-^,ctrl-]"

// runArgs builds `nerdctl run` for req, with the container named name:
// the flags, to be followed by the image as the store names it, and the
// command. The container is not --rm: the plugin removes it itself, on
// every way out, unless --keep.
func runArgs(req core.RunRequest, name string) (flags, command []string, err error) {
	args := []string{"run", "--name", name}
	labels := container.Labels(req)
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		args = append(args, "--label", k+"="+labels[k])
	}
	// The plugin pulled the image, with progress; nerdctl's own pull would
	// print its table on the container's stdout.
	args = append(args, "--pull", "never")
	if p := req.Platform.String(); p != "" {
		args = append(args, "--platform", p)
	}
	if req.Interactive {
		args = append(args, "-i")
	}
	if req.TTY {
		args = append(args, "-t", "--detach-keys", detachKeys)
	}
	for _, kv := range req.Env {
		args = append(args, "-e", kv)
	}
	if req.Workdir != "" {
		args = append(args, "-w", req.Workdir)
	}
	if req.User != "" {
		args = append(args, "-u", req.User)
	}
	if req.Hostname != "" {
		args = append(args, "--hostname", req.Hostname)
	}
	if req.ReadOnly {
		args = append(args, "--read-only")
	}
	for _, m := range req.Mounts {
		v := m.Source + ":" + m.Target
		if m.ReadOnly {
			v += ":ro"
		}
		args = append(args, "-v", v)
	}
	if req.Network != "" {
		args = append(args, "--network", req.Network)
	}
	command = req.Args
	switch {
	case req.Entrypoint == nil:
	case len(req.Entrypoint) > 0:
		// nerdctl's --entrypoint is repeatable: one flag per element.
		for _, e := range req.Entrypoint {
			args = append(args, "--entrypoint", e)
		}
	case len(req.Args) > 0:
		// A cleared entrypoint runs the arguments alone, as docker does;
		// nerdctl would run `--entrypoint ""` as the command "".
		args = append(args, "--entrypoint", req.Args[0])
		command = req.Args[1:]
	default:
		return nil, nil, core.Usagef(`--entrypoint "" clears the entrypoint and needs a command after IMAGE`)
	}
	return args, command, nil
}
