package api

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/applier"
	"github.com/ocix/ocix/plugins/internal/registries"
	"github.com/ocix/ocix/plugins/internal/tarout"
)

// tarBufSize batches the tar stream's small writes (a 512-byte header per
// entry) into few system calls.
const tarBufSize = 1 << 20

// Export resolves the image on the first endpoint that has it, mirrors
// first, then fetches its layers from that endpoint and applies them in
// order: into req.Dir, or, for a tar, into a tree in the scratch space
// that is then written out as one tar stream.
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
	img, err := registries.Try(ctx, req.Endpoints, b.skip, func(ep core.Endpoint) (*image, error) {
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

	root := req.Dir
	if req.Tar != nil {
		root = filepath.Join(req.ScratchDir, "rootfs")
		if err := os.Mkdir(root, 0o755); err != nil {
			return core.ExportResult{}, fmt.Errorf("scratch space: %w", err)
		}
	}
	st, err := b.unpack(ctx, img, root, req, ev)
	if err != nil {
		return core.ExportResult{}, err
	}
	if req.Tar == nil {
		res.Entries, res.Bytes = st.Entries, st.Bytes
		return res, nil
	}
	t, err := writeTar(ctx, req.Tar, root)
	if err != nil {
		return core.ExportResult{}, err
	}
	res.Entries, res.Bytes, res.TarDigest = t.Entries, t.Bytes, t.Digest
	return res, nil
}

// unpack applies img's layers into root as they download.
func (b *backend) unpack(ctx context.Context, img *image, root string, req core.ExportRequest, ev *events) (applier.Stats, error) {
	// The first failure — a download's, the applier's, or the caller's
	// cancellation — stops everything, and is the one reported.
	ctx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	var total applier.Stats
	a, err := applier.New(root, applier.Options{Include: req.Include, Warn: ev.warn})
	if err != nil {
		return total, err
	}
	defer a.Close()
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
func applyLayer(ctx context.Context, a *applier.Applier, img *image, i int, s *spool) (applier.Stats, error) {
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

// writeTar writes the tree at root to f as one flattened tar stream, its
// end-of-archive blocks only once the whole tree is in.
func writeTar(ctx context.Context, f *os.File, root string) (tarout.Result, error) {
	bw := bufio.NewWriterSize(f, tarBufSize)
	tw := tarout.New(bw)
	if err := tw.AddTree(ctx, root); err != nil {
		return tarout.Result{}, tarError(ctx, err)
	}
	res, err := tw.Finish()
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return tarout.Result{}, tarError(ctx, err)
	}
	return res, nil
}

func tarError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("writing the tar stream: %w", err)
}
