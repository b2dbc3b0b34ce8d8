package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/registries"
)

// downloadJobs is how many layers download at once, as docker's default
// max-concurrent-downloads: the layers are applied one by one, in order,
// and the next ones are on disk by their turn.
const downloadJobs = 3

// downloads fetches an image's layers, in order and downloadJobs at a
// time, each into its spool.
type downloads struct {
	spools []*spool
	wg     sync.WaitGroup
}

// download starts fetching img's layers into spools in dir. A failed
// download cancels ctx with its error, which stops everything else: the
// export has failed. Call stop when done with them.
func (b *backend) download(ctx context.Context, fail context.CancelCauseFunc, img *image, dir string, ev *events) (*downloads, error) {
	d := &downloads{}
	for range img.layers {
		s, err := newSpool(dir)
		if err != nil {
			d.stop()
			return nil, fmt.Errorf("scratch space: %w", err)
		}
		d.spools = append(d.spools, s)
	}
	d.wg.Go(func() {
		slots := make(chan struct{}, downloadJobs)
		for i, s := range d.spools {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				for _, s := range d.spools[i:] {
					s.finish(ctx.Err())
				}
				return
			}
			d.wg.Go(func() {
				defer func() { <-slots }()
				err := b.fetchLayer(ctx, img, i, s, ev)
				s.finish(err)
				if err != nil {
					fail(err)
				}
			})
		}
	})
	return d, nil
}

// fetchLayer downloads layer i into s, reporting its progress.
func (b *backend) fetchLayer(ctx context.Context, img *image, i int, s *spool, ev *events) error {
	l := img.layers[i]
	p := &layerProgress{ev: ev, p: core.Progress{Layer: i, Layers: len(img.layers), Digest: l.Digest.String(), Total: l.Size}}
	err := b.client.Blob(ctx, img.ep, img.repository, l.Digest, l.Size, io.MultiWriter(s, p))
	if err != nil {
		return foreign(img, l, err)
	}
	p.report()
	return nil
}

// foreign explains a foreign layer the registry does not hold: ocix
// fetches only from registries, not from the URLs such layers name.
func foreign(img *image, l ocispec.Descriptor, err error) error {
	var rerr *registries.Error
	if len(l.URLs) == 0 || !errors.As(err, &rerr) || rerr.Status != http.StatusNotFound {
		return err
	}
	return fmt.Errorf("%s: foreign layer %s is not in the registry; ocix does not fetch it from %s", img.name, l.Digest, l.URLs[0])
}

// stop waits for every download to end — cancel their context first to
// end them early — and deletes the spools.
func (d *downloads) stop() {
	d.wg.Wait()
	for _, s := range d.spools {
		s.remove()
	}
}
