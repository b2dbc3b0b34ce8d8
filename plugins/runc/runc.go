// Package runc is the runc backend: containers with no daemon, as an
// administrator makes them by hand — a root filesystem, an OCI runtime
// bundle's config.json, `runc run`. ocix core gives it the image's root
// filesystem (a private writable view of its cache) and config
// (Info.NeedsRootfs); this package alone writes config.json and drives
// runc. runc.binary may name another OCI runtime with runc's command line.
package runc

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/hashicorp/go-hclog"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/core/plugin"
)

// settings is the runc section of ocix's configuration.
type settings struct {
	Binary string `json:"binary" help:"the OCI runtime binary to run: runc, or another with runc's command line (default runc, found on $PATH)"`
	Root   string `json:"root" help:"the runtime's state directory for ocix's containers, its --root (default /run/ocix-runc)"`
}

// defaultRoot keeps ocix's containers apart from runc's own default
// (/run/runc), so that `runc list` there shows only the user's.
const defaultRoot = "/run/ocix-runc"

type backend struct {
	log      hclog.Logger
	settings settings
	// host is what config.json must fit on this machine.
	host host
}

var (
	_ core.Runner  = (*backend)(nil)
	_ core.Cleaner = (*backend)(nil)
	_ core.Bundler = (*backend)(nil)
)

// New returns the runc backend.
func New(log hclog.Logger) core.Backend {
	return &backend{log: log, settings: settings{Binary: "runc", Root: defaultRoot}, host: thisHost()}
}

func (b *backend) ConfigSchema(context.Context) ([]core.ConfigField, error) {
	return plugin.SchemaOf(b.settings), nil
}

func (b *backend) Configure(_ context.Context, raw json.RawMessage) error {
	if err := plugin.DecodeSettings("runc", raw, &b.settings); err != nil {
		return err
	}
	switch {
	case b.settings.Binary == "":
		return core.Usagef("config runc.binary: want a runtime binary name or path")
	case !filepath.IsAbs(b.settings.Root):
		return core.Usagef("config runc.root: want an absolute directory path, got %q", b.settings.Root)
	}
	return nil
}

// Describe says runc is available when its binary is found and ocix runs
// as root: rootless runc (user namespaces, no cgroups of its own) is a
// later step.
func (b *backend) Describe(context.Context) (core.Info, error) {
	info := core.Info{Name: "runc", Version: core.Version, NeedsRootfs: true}
	switch _, err := exec.LookPath(b.settings.Binary); {
	case err != nil:
		info.Reason = "runtime binary " + b.settings.Binary + " not found (install runc, or set runc.binary)"
	case os.Geteuid() != 0:
		info.Reason = "runc runs need root: run ocix as root (rootless runc is not supported yet)"
	default:
		info.Available = true
	}
	return info, nil
}
