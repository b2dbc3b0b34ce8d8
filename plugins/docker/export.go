package docker

import (
	"context"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/ocix/ocix/core"
	ocixcontainer "github.com/ocix/ocix/plugins/internal/container"
	"github.com/ocix/ocix/plugins/internal/export"
)

// Export exports as `docker export $(docker create IMAGE)` does: the image
// is pulled when the engine lacks it (and stays in its store, as with
// docker), a container is created and never started, and its filesystem —
// the image's plus what docker adds to every container (/.dockerenv,
// /etc/hosts…) — streams through the shared applier or tar writer. The
// container is removed on every path.
func (b *backend) Export(ctx context.Context, req core.ExportRequest) (core.ExportResult, error) {
	cli, err := b.connect(ctx)
	if err != nil {
		return core.ExportResult{}, err
	}
	if err := checkInsecure(ctx, cli, req.Endpoints); err != nil {
		return core.ExportResult{}, err
	}
	src := source{repository: req.Repository, reference: req.Reference, endpoints: req.Endpoints, platform: req.Platform, events: req.Events}
	// A command only because docker refuses to create a container from an
	// image that has none; it never runs, and needs no network.
	cfg := &container.Config{Cmd: []string{"true"}, Labels: ocixcontainer.ExportLabels(req)}
	c, tracked, err := b.create(ctx, cli, src, cfg, &container.HostConfig{NetworkMode: "none"})
	if err != nil {
		return core.ExportResult{}, err
	}
	defer src.remove(tracked)

	res, err := describe(ctx, cli, c, src)
	if err != nil {
		return core.ExportResult{}, err
	}
	stream, err := cli.ContainerExport(ctx, c.id, client.ContainerExportOptions{})
	if err != nil {
		return core.ExportResult{}, daemonError(c.name, err)
	}
	// The daemon's stream carries its own failure: a broken one fails to
	// read. There is no other producer to hear from.
	d, err := export.Deliver(ctx, req, export.Stream{R: stream, Wait: func() error { return nil }})
	if err != nil {
		return core.ExportResult{}, err
	}
	res.Entries, res.Bytes, res.TarDigest = d.Entries, d.Bytes, d.TarDigest
	return res, nil
}
