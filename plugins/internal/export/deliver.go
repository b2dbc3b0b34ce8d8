// Package export is how every export backend delivers what it produces:
// into the requested directory through the shared applier, or to the
// requested tar destination — safely, and final only once the producer
// says it was good. A backend produces either one flattened tar stream
// (crane's, docker's, podman's, nerdctl's export: a Stream) or an image's
// layers, applied in order as they stream (the api backend: Layers).
package export

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/applier"
	"github.com/ocix/ocix/plugins/internal/tarout"
)

// Delivered is what Deliver wrote.
type Delivered struct {
	Entries, Bytes int64
	TarDigest      string // for a tar destination
}

// A Producer makes the file system Deliver writes: a Stream or Layers.
type Producer interface {
	deliver(ctx context.Context, req core.ExportRequest) (Delivered, error)
}

// Deliver writes what p produces where req asks. A tar destination gets
// its end-of-archive blocks only once the producer has succeeded; a
// failed one is ended so that tar fails on it. The producer's error is
// returned as it is, for the caller to tell in its own words.
func Deliver(ctx context.Context, req core.ExportRequest, p Producer) (Delivered, error) {
	if req.Dir == "" && req.Tar == nil {
		return Delivered{}, fmt.Errorf("export request has no destination")
	}
	return p.deliver(ctx, req)
}

// Stream is a producer of one flattened tar stream.
type Stream struct {
	R io.ReadCloser
	// Wait waits for the producer of R and returns its error; nil for a
	// stream that carries its own failure (a read that fails). A stream
	// may end cleanly before its producer finds it was bad (a digest
	// checked at the end of a layer).
	Wait func() error
}

// Pipe is the stream of what write writes, from a goroutine of its own;
// write's error ends the stream and is Wait's. Closing the stream makes
// a write still under way fail, which stops it.
func Pipe(write func(io.Writer) error) Stream {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := write(pw)
		pw.CloseWithError(err)
		done <- err
	}()
	return Stream{R: pr, Wait: func() error { return <-done }}
}

// deliver consumes the stream — reported as image-wide progress — closes
// it, which stops a producer it left behind, and hears from its producer.
// With req.Include, a tar destination is built through a scratch tree, so
// that the include rules are the applier's whatever the destination.
func (s Stream) deliver(ctx context.Context, req core.ExportRequest) (Delivered, error) {
	var (
		d    Delivered
		out  *tarout.Writer
		tree string // the scratch tree of a filtered tar destination
	)
	counted := &counter{R: s.R, Events: req.Events}
	err := func() error {
		switch {
		case req.Dir != "":
			st, err := applyStream(ctx, req, req.Dir, counted)
			d.Entries, d.Bytes = st.Entries, st.Bytes
			return err
		case len(req.Include) > 0:
			var err error
			if tree, err = scratchTree(req); err != nil {
				return err
			}
			_, err = applyStream(ctx, req, tree, counted)
			return err
		}
		out = tarout.New(req.Tar)
		return out.Copy(ctx, counted)
	}()
	// End it — drain what follows the tar's end, or close it after an
	// error so that its producer stops — and hear from its producer.
	if err == nil {
		_, err = io.Copy(io.Discard, counted)
	}
	s.R.Close()
	// The producer's error is the cause when the stream carried it to us.
	if perr := s.Wait(); perr != nil && (err == nil || errors.Is(err, perr)) {
		err = perr
	}
	switch {
	case err != nil && out != nil:
		out.Abort()
		return d, err
	case err != nil || req.Dir != "":
		return d, err
	case tree != "":
		return writeTree(ctx, req.Tar, tree)
	}
	res, err := out.Finish()
	return Delivered{Entries: res.Entries, Bytes: res.Bytes, TarDigest: res.Digest}, err
}

// applyStream applies a flattened stream into dir.
func applyStream(ctx context.Context, req core.ExportRequest, dir string, stream io.Reader) (applier.Stats, error) {
	a, err := newApplier(req, dir)
	if err != nil {
		return applier.Stats{}, err
	}
	defer a.Close()
	st, err := a.Apply(ctx, stream)
	if err != nil {
		return st, err
	}
	return st, a.Finish()
}

// Layers is a producer that applies an image's layers, in order, as they
// stream, to the target it is given, and then finishes it. It returns what
// the target applied and the first failure, in its own words.
type Layers func(ctx context.Context, to Target) (applier.Stats, error)

// Target takes an image's layers in order: the shared applier is one.
type Target interface {
	// Apply applies one uncompressed layer tar.
	Apply(ctx context.Context, layer io.Reader) (applier.Stats, error)
	// Finish completes what needs every layer (hard links, directory
	// metadata); called once, after the last layer.
	Finish() error
}

// deliver applies the layers into req.Dir, or, for a tar destination,
// into a scratch tree then written out as one tar stream.
func (l Layers) deliver(ctx context.Context, req core.ExportRequest) (Delivered, error) {
	root := req.Dir
	if req.Dir == "" {
		var err error
		if root, err = scratchTree(req); err != nil {
			return Delivered{}, err
		}
	}
	a, err := newApplier(req, root)
	if err != nil {
		return Delivered{}, err
	}
	defer a.Close()
	st, err := l(ctx, a)
	if err != nil || req.Dir != "" {
		return Delivered{Entries: st.Entries, Bytes: st.Bytes}, err
	}
	return writeTree(ctx, req.Tar, root)
}

// newApplier applies into dir with req's include rules, passing the
// applier's warnings on as export events.
func newApplier(req core.ExportRequest, dir string) (*applier.Applier, error) {
	return applier.New(dir, applier.Options{Include: req.Include, Warn: Warner(req)})
}

// scratchTree makes the tree in req's scratch space that a tar destination
// is built through.
func scratchTree(req core.ExportRequest) (string, error) {
	tree := filepath.Join(req.ScratchDir, "rootfs")
	if err := os.Mkdir(tree, 0o755); err != nil {
		return "", fmt.Errorf("scratch space: %w", err)
	}
	return tree, nil
}

// tarBufSize batches the tar stream's small writes (a 512-byte header per
// entry) into few system calls.
const tarBufSize = 1 << 20

// writeTree writes the tree at root to w as one flattened tar stream, its
// end-of-archive blocks only once the whole tree is in.
func writeTree(ctx context.Context, w io.Writer, root string) (Delivered, error) {
	bw := bufio.NewWriterSize(w, tarBufSize)
	out := tarout.New(bw)
	if err := out.AddTree(ctx, root); err != nil {
		out.Abort()
		bw.Flush()
		return Delivered{}, tarError(ctx, err)
	}
	res, err := out.Finish()
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return Delivered{}, tarError(ctx, err)
	}
	return Delivered{Entries: res.Entries, Bytes: res.Bytes, TarDigest: res.Digest}, nil
}

func tarError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("writing the tar stream: %w", err)
}

// Warner sends warnings to the request's events.
func Warner(req core.ExportRequest) func(string) {
	return func(msg string) {
		if req.Events != nil {
			req.Events(core.Event{Warning: msg})
		}
	}
}

// counter reports the bytes read through it as image-wide progress (layer
// -1), at most every step bytes, for backends that only see one stream.
type counter struct {
	R      io.Reader
	Events func(core.Event)
	n      int64
	last   int64
}

const progressStep = 4 << 20

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.R.Read(p)
	c.n += int64(n)
	if c.Events != nil && (c.n-c.last >= progressStep || err == io.EOF) {
		c.last = c.n
		c.Events(core.Event{Progress: &core.Progress{Layer: -1, Done: c.n}})
	}
	return n, err
}
