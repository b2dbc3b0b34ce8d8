package api

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/applier"
	"github.com/ocix/ocix/plugins/internal/export"
	"github.com/ocix/ocix/plugins/internal/registries"
)

// Export resolves the image on the first endpoint that has it, mirrors
// first, then fetches its layers from that endpoint and applies them in
// order, delivered as export.Layers: into req.Dir, or, for a tar, into a
// tree in the scratch space that is then written out as one tar stream.
//
// A layer goes through three goroutines at once: its download into a
// spool file (the next layers' downloads run ahead, into their own), its
// decompression, and the applier, which reads the tar stream through a
// buffered pipe. So the first layer streams, inflating and writing files
// share the two cores, and memory stays flat whatever the image's size.
func (b *backend) Export(ctx context.Context, req core.ExportRequest) (core.ExportResult, error) {
	if (req.Dir == "") == (req.Tar == nil) {
		return core.ExportResult{}, errors.New("export: want exactly one of a directory and a tar file")
	}
	want := req.Platform
	if want == (core.Platform{}) {
		want = core.HostPlatform()
	}
	img, err := registries.Try(ctx, req.Endpoints, b.log, func(ep core.Endpoint) (*image, error) {
		return b.resolve(ctx, ep, req.Repository, req.Reference, want)
	})
	if err != nil {
		return core.ExportResult{}, err
	}
	ev := &events{send: req.Events}
	if w := img.platformWarning(want); w != "" {
		ev.warn(w)
	}
	res := core.ExportResult{Digest: img.digest.String(), Config: img.config, Platform: img.platform}
	// The downloads and the applier send events from goroutines of their
	// own: one at a time.
	req.Events = ev.emit
	d, err := export.Deliver(ctx, req, export.Layers(func(ctx context.Context, to export.Target) (applier.Stats, error) {
		return b.unpack(ctx, img, to, req, ev)
	}))
	if err != nil {
		return core.ExportResult{}, err
	}
	res.Entries, res.Bytes, res.TarDigest = d.Entries, d.Bytes, d.TarDigest
	return res, nil
}

// unpack applies img's layers to a as they download.
func (b *backend) unpack(ctx context.Context, img *image, a export.Target, req core.ExportRequest, ev *events) (applier.Stats, error) {
	// The first failure — a download's, the applier's, or the caller's
	// cancellation — stops everything, and is the one reported.
	ctx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	var total applier.Stats
	dl, err := b.download(ctx, fail, img, req.ScratchDir, ev)
	if err != nil {
		return total, err
	}
	defer func() {
		fail(nil) // ends the downloads still running after a failure
		dl.stop()
	}()
	for i, s := range dl.spools {
		st, err := applyLayer(ctx, a, img, i, s)
		total.Entries += st.Entries
		total.Bytes += st.Bytes
		total.Skipped += st.Skipped
		if err != nil {
			if ctx.Err() != nil {
				return total, context.Cause(ctx)
			}
			return total, err
		}
		s.remove() // its space is not needed any more
	}
	if err := a.Finish(); err != nil {
		return total, fmt.Errorf("%s: %w", img.name, err)
	}
	return total, nil
}

// applyLayer applies layer i, decompressed by a goroutine of its own.
func applyLayer(ctx context.Context, a export.Target, img *image, i int, s *spool) (applier.Stats, error) {
	p := newPipe()
	decompressed := make(chan error, 1)
	go func() {
		err := decompress(ctx, img, i, s, p)
		p.closeWithError(err)
		decompressed <- err
	}()
	st, err := a.Apply(ctx, p)
	if err == nil {
		// The applier stops at the tar's end; what follows is read too,
		// to the end of the blob and the download's digest check.
		_, err = io.Copy(io.Discard, p)
	}
	p.stop()
	// The source's failure comes first: the applier saw only its effect.
	if derr := <-decompressed; derr != nil && !errors.Is(derr, errReaderGone) {
		return st, derr
	}
	if err == nil {
		return st, nil
	}
	// A tar that does not parse may be bytes that are not the blob's: the
	// digest check at the end of the download tells. The applier's other
	// errors are its own, told at once unless the download failed already.
	if malformed(err) {
		if derr := s.wait(ctx); derr != nil {
			return st, derr
		}
	} else if _, done, derr := s.state(); done && derr != nil {
		return st, derr
	}
	return st, fmt.Errorf("%s: layer %s: %w", img.name, img.layers[i].Digest, err)
}

// malformed reports whether the applier failed on a tar it could not read.
func malformed(err error) bool {
	return errors.Is(err, tar.ErrHeader) || errors.Is(err, io.ErrUnexpectedEOF)
}
