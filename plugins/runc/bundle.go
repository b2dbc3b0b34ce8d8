package runc

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ocix/ocix/core"
)

// idPrefix starts the id of every container ocix makes.
const idPrefix = "ocix-"

// containerID is the container of one ocix invocation: unique, and found
// again from the invocation alone by Cleanup.
func containerID(invocation string) string { return idPrefix + invocation }

// writeBundle writes dir/config.json for req. root is root.path as
// config.json says it; req.Rootfs is that directory here. The working
// directory is made in the root filesystem if the image lacks it, as
// docker does, so that the bundle runs on any OCI runtime.
func (b *backend) writeBundle(req core.RunRequest, dir, root, id string) error {
	s, err := bundleSpec{req: req, root: root, rootfs: req.Rootfs, id: id, host: b.host}.spec()
	if err != nil {
		return err
	}
	if err := mkdirInRoot(req.Rootfs, s.Process.Cwd); err != nil {
		return fmt.Errorf("making the working directory %s: %w", s.Process.Cwd, err)
	}
	data, err := json.MarshalIndent(s, "", "\t")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "config.json"), append(data, '\n'), 0o644)
}

// Bundle writes a bundle for `ocix bundle`: config.json beside the copy of
// the root filesystem core made in req.Dir/rootfs, with root.path
// "rootfs" as runc spec writes it, so the directory can move.
func (b *backend) Bundle(_ context.Context, req core.BundleRequest) (core.BundleResult, error) {
	id := containerID(req.Run.Invocation)
	if err := b.writeBundle(req.Run, req.Dir, "rootfs", id); err != nil {
		return core.BundleResult{}, err
	}
	return core.BundleResult{Command: []string{b.settings.Binary, "run", "--bundle", req.Path, shortName(id)}}, nil
}

// shortName is the id a user's own runc run of a bundle gets: short
// enough to type.
func shortName(id string) string { return idPrefix + shortID(id) }
