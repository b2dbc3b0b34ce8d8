// Package export is what every backend that produces a flattened tar stream
// (crane's, docker's, podman's, nerdctl's export) does with it: apply it
// into the requested directory with the shared applier, or write it to the
// requested tar destination — safely, and final only once the producer
// says the stream was good.
package export

import (
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

// Deliver writes stream where req asks. produced waits for the producer of
// stream and returns its error: a tar destination gets its end-of-archive
// blocks only if that is nil, and Deliver fails with it otherwise — a
// stream may end cleanly before its producer finds it was bad (a digest
// checked at the end of a layer); a failed tar stream is ended so that tar
// fails on it. Deliver closes stream, which stops a producer it left
// behind. The producer's error is returned as it is, for the caller to
// tell in its own words.
//
// With req.Include, a tar destination is built through a scratch tree, so
// that the include rules are the applier's whatever the destination.
func Deliver(ctx context.Context, req core.ExportRequest, stream io.ReadCloser, produced func() error) (Delivered, error) {
	var (
		d    Delivered
		out  *tarout.Writer
		tree string // the scratch tree of a filtered tar destination
	)
	// Consume the stream.
	err := func() error {
		switch {
		case req.Dir != "":
			st, err := applyTree(ctx, req, req.Dir, stream)
			d.Entries, d.Bytes = st.Entries, st.Bytes
			return err
		case req.Tar == nil:
			return fmt.Errorf("export request has no destination")
		case len(req.Include) > 0:
			tree = filepath.Join(req.ScratchDir, "rootfs")
			if err := os.Mkdir(tree, 0o755); err != nil {
				return err
			}
			_, err := applyTree(ctx, req, tree, stream)
			return err
		}
		out = tarout.New(req.Tar)
		return out.Copy(ctx, stream)
	}()
	// End it — drain what follows the tar's end, or close it after an
	// error so that its producer stops — and hear from its producer.
	if err == nil {
		_, err = io.Copy(io.Discard, stream)
	}
	stream.Close()
	// The producer's error is the cause when the stream carried it to us.
	if perr := produced(); perr != nil && (err == nil || errors.Is(err, perr)) {
		err = perr
	}
	if err == nil && tree != "" {
		// A filtered tar destination: the tree's entries.
		out = tarout.New(req.Tar)
		err = out.AddTree(ctx, tree)
	}
	switch {
	case err != nil && out != nil:
		out.Abort()
		return d, err
	case err != nil || req.Dir != "":
		return d, err
	}
	res, err := out.Finish()
	return Delivered{Entries: res.Entries, Bytes: res.Bytes, TarDigest: res.Digest}, err
}

// applyTree applies a flattened stream into dir, passing the applier's
// warnings on as export events.
func applyTree(ctx context.Context, req core.ExportRequest, dir string, stream io.Reader) (applier.Stats, error) {
	a, err := applier.New(dir, applier.Options{Include: req.Include, Warn: Warner(req)})
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

// Warner sends warnings to the request's events.
func Warner(req core.ExportRequest) func(string) {
	return func(msg string) {
		if req.Events != nil {
			req.Events(core.Event{Warning: msg})
		}
	}
}

// Counter reports the bytes read through it as image-wide progress (layer
// -1), at most every step bytes, for backends that only see one stream.
type Counter struct {
	R      io.Reader
	Events func(core.Event)
	n      int64
	last   int64
}

const progressStep = 4 << 20

func (c *Counter) Read(p []byte) (int, error) {
	n, err := c.R.Read(p)
	c.n += int64(n)
	if c.Events != nil && (c.n-c.last >= progressStep || err == io.EOF) {
		c.last = c.n
		c.Events(core.Event{Progress: &core.Progress{Layer: -1, Done: c.n}})
	}
	return n, err
}
