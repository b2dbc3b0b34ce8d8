// Package tarout writes the flattened tar stream of an export: a backend's
// own stream copied entry by entry, or a tree the applier built. The
// end-of-archive blocks are written only by Finish, once the export is
// known to be good; Abort ends a failed stream so that `tar -x` fails on it
// too — GNU tar accepts an archive that simply stops between two entries.
package tarout

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
)

// Writer writes one tar stream.
type Writer struct {
	tw      *tar.Writer
	count   *countingWriter
	entries int64
	buf     []byte
	// midEntry is set from an entry's header until its content is all
	// written: a stream cut there is already truncated.
	midEntry bool
}

// New writes the stream to w.
func New(w io.Writer) *Writer {
	c := &countingWriter{w: w, h: sha256.New()}
	return &Writer{tw: tar.NewWriter(c), count: c, buf: make([]byte, 512<<10)}
}

// Copy writes every entry of the tar stream r, checking ctx between
// entries. r's own end-of-archive blocks are not copied.
func (w *Writer) Copy(ctx context.Context, r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the tar stream: %w", err)
		}
		if err := w.add(hdr, tr); err != nil {
			return err
		}
	}
}

// add writes one entry and its content.
func (w *Writer) add(hdr *tar.Header, content io.Reader) error {
	// Let the writer choose the format the header's fields need.
	hdr.Format = tar.FormatUnknown
	w.midEntry = true
	if err := w.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("writing %s: %w", hdr.Name, err)
	}
	if hdr.Typeflag == tar.TypeReg && hdr.Size > 0 {
		if _, err := io.CopyBuffer(w.tw, io.LimitReader(content, hdr.Size), w.buf); err != nil {
			return fmt.Errorf("writing %s: %w", hdr.Name, err)
		}
		// Pads the content to its block, so the entry is complete.
		if err := w.tw.Flush(); err != nil {
			return fmt.Errorf("writing %s: %w", hdr.Name, err)
		}
	}
	w.midEntry = false
	w.entries++
	return nil
}

// poison is a block no tar reader takes for a header (its checksum is
// wrong): a stream that ends with it makes tar report an error.
var poison = bytes.Repeat([]byte{0xff}, 512)

// Abort ends a failed stream so that readers fail on it: a stream cut in
// the middle of an entry already is; one cut between entries gets a block
// that is not a header. The end-of-archive blocks are never written.
func (w *Writer) Abort() {
	if !w.midEntry {
		w.count.Write(poison)
	}
}

// Result describes a finished stream.
type Result struct {
	Entries int64
	Bytes   int64
	Digest  string // sha256 of every byte written
}

// Finish writes the end-of-archive blocks. Call it only when the export
// succeeded.
func (w *Writer) Finish() (Result, error) {
	if err := w.tw.Close(); err != nil {
		return Result{}, err
	}
	return Result{
		Entries: w.entries,
		Bytes:   w.count.n,
		Digest:  "sha256:" + hex.EncodeToString(w.count.h.Sum(nil)),
	}, nil
}

// countingWriter counts and hashes what passes.
type countingWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}
