package nerdctl

import (
	"context"
	"os"
	"strings"
	"syscall"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/container"
	"github.com/ocix/ocix/plugins/internal/export"
)

// Export exports as `docker export $(docker create IMAGE)` does, with
// nerdctl: pull the image when the store lacks it (progress to core),
// create a container without starting it (nerdctl, unlike docker, creates
// one from an image without a command too), stream `nerdctl export` through
// the shared applier or tar writer, and remove the container on every
// way out. The pulled image stays in containerd's store.
func (b *backend) Export(ctx context.Context, req core.ExportRequest) (core.ExportResult, error) {
	t, err := b.tool(ctx)
	if err != nil {
		return core.ExportResult{}, err
	}
	if err := t.canExport(ctx); err != nil {
		return core.ExportResult{}, err
	}
	img, err := t.ensureImage(ctx, imageRequest{
		repository: req.Repository, reference: req.Reference, endpoints: req.Endpoints,
		platform: req.Platform, events: req.Events,
	})
	if err != nil {
		return core.ExportResult{}, err
	}
	inv := container.ExportLabels(req)[core.InvocationLabel]
	name := containerName(inv)
	create := []string{"create", "--name", name, "--label", core.InvocationLabel + "=" + inv,
		"--network", "none", "--pull", "never", "--platform", req.Platform.String(), img.name}
	c, err := b.live.Create(ctx, t, inv, func(ctx context.Context) (string, error) {
		return name, t.command(ctx, create...).Run()
	})
	if err != nil {
		return core.ExportResult{}, err
	}
	defer c.Remove()
	d, err := t.export(ctx, req, name)
	if err != nil {
		return core.ExportResult{}, err
	}
	return core.ExportResult{
		Digest: img.digest, Config: img.config, Platform: img.platform,
		Entries: d.Entries, Bytes: d.Bytes, TarDigest: d.TarDigest,
	}, nil
}

// export streams the container's file system into req's destination.
//
// nerdctl writes the tar to a pipe it inherits as fd 3 (`-o /dev/fd/3`),
// not to its stdout: a Go program that writes to a closed pipe on stdout
// dies of SIGPIPE, and `nerdctl export` would then leave the container's
// file system mounted under $TMPDIR. On any other descriptor the write
// fails, nerdctl unmounts and exits — which is how it is stopped when the
// export is cut short, even by the plugin's death. So it gets no
// Pdeathsig.
func (t *tool) export(ctx context.Context, req core.ExportRequest, name string) (export.Delivered, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return export.Delivered{}, err
	}
	c := t.command(context.WithoutCancel(ctx), "export", "-o", "/dev/fd/3", name)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.ExtraFiles = []*os.File{pw}
	err = c.Start()
	pw.Close()
	if err != nil {
		pr.Close()
		return export.Delivered{}, err
	}
	d, err := export.Deliver(ctx, req, export.Stream{R: pr, Wait: c.Wait})
	if err != nil && ctx.Err() != nil {
		return d, ctx.Err()
	}
	return d, err
}

// Remove removes container name (container.Engine), whether its job
// succeeded, failed or was cancelled; nerdctl answers a name it does not
// know with success. It is not killed with the plugin: a removal the
// plugin started ends even if the host kills the plugin meanwhile.
func (t *tool) Remove(ctx context.Context, name string) error {
	c := t.command(ctx, "rm", "-f", name)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return c.Run()
}

// containerName makes ocix's containers recognisable by name too:
// ocix-INVOCATION for a run, ocix-export-RANDOM for an export.
func containerName(invocation string) string {
	return "ocix-" + strings.ToLower(invocation)
}
