//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// engine is a container engine whose export is a baseline for ocix's:
// its CLI, pointed at a daemon the harness started.
type engine struct {
	name string   // "docker", "podman"
	cli  []string // the command and its leading arguments
	env  []string // added to the environment: where the daemon is
}

// run runs the engine's CLI and returns its stdout. An error names the
// command and carries its stderr.
func (e engine) run(ctx context.Context, args ...string) (string, error) {
	args = slices.Concat(e.cli[1:], args)
	cmd := exec.CommandContext(ctx, e.cli[0], args...)
	cmd.Env = append(os.Environ(), e.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %v: %s", e.cli[0], strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// export writes the root filesystem of a container made from ref, never
// started, to the tar file out, as `docker export $(docker create ref)`
// does, and removes the container.
func (e engine) export(ctx context.Context, ref, out string) error {
	if _, err := e.run(ctx, "pull", "-q", ref); err != nil {
		return err
	}
	id, err := e.run(ctx, "create", "--network", "none", ref)
	if err != nil {
		return err
	}
	id = strings.TrimSpace(id)
	_, err = e.run(ctx, "export", "-o", out, id)
	if _, rmErr := e.run(ctx, "rm", id); err == nil {
		err = rmErr
	}
	return err
}

// untar extracts the tar stream r into dir, a new directory of mode 0755
// (the mode an image's root has), as root restores a backup: numeric
// owners, every mode bit, every xattr.
func untar(ctx context.Context, r io.Reader, dir string) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o755); err != nil { // whatever the umask
		return err
	}
	cmd := exec.CommandContext(ctx, "tar", "-x", "--xattrs", "--xattrs-include=*", "--same-owner", "-p", "--numeric-owner", "-C", dir, "-f", "-")
	cmd.Stdin = r
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("tar -x into %s: %v: %s", filepath.Base(dir), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// untarFile extracts the tar file path into dir, as untar does.
func untarFile(ctx context.Context, path, dir string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return untar(ctx, f, dir)
}
