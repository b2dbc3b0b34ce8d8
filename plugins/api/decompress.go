package api

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// readBufSize is the read-ahead of a compressed layer. klauspost's inflate
// has a fast path for a *bufio.Reader source; a large one also makes few
// reads of the spool.
const readBufSize = 1 << 20

// maxZstdWindow bounds the memory a zstd layer can make the decoder take
// (klauspost's default is 512 MiB). Image builders use at most 8 MiB;
// `zstd --long` 128 MiB, which is then refused rather than taking RSS.
const maxZstdWindow = 64 << 20

// Magic numbers of the formats a layer may be in, whatever its media type
// says: some registries and tools mislabel layers.
var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
	xzMagic   = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
)

// decompress reads layer i's blob from its spool, as it arrives, and
// writes its tar stream to p: gunzipped, un-zstd-ed, or as it is. It reads
// the blob to its end, so that it returns only once the download's digest
// check has passed. A blob that does not decompress is judged by its
// download first: if its bytes were wrong, the digest check says so.
func decompress(ctx context.Context, img *image, i int, s *spool, p io.Writer) error {
	src := bufio.NewReaderSize(s.reader(ctx), readBufSize)
	err := inflate(src, p)
	if err == nil {
		_, err = io.Copy(io.Discard, src)
	}
	if err == nil || errors.Is(err, errReaderGone) {
		return err
	}
	if derr := s.wait(ctx); derr != nil {
		return derr
	}
	return fmt.Errorf("%s: layer %s: %v", img.name, img.layers[i].Digest, err)
}

// inflate copies the tar stream in src to w, in the format src's first
// bytes give.
func inflate(src *bufio.Reader, w io.Writer) error {
	// A short read leaves the magic short: a tiny blob is a (broken) tar.
	magic, _ := src.Peek(len(xzMagic))
	switch {
	case bytes.HasPrefix(magic, gzipMagic):
		zr, err := gzip.NewReader(src)
		if err != nil {
			return err
		}
		defer zr.Close()
		_, err = io.Copy(w, zr)
		return err
	case bytes.HasPrefix(magic, zstdMagic):
		zr, err := zstd.NewReader(src,
			// This goroutine is the decoder's: no goroutines of its own.
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(maxZstdWindow))
		if err != nil {
			return err
		}
		defer zr.Close()
		_, err = io.Copy(w, zr)
		return err
	case bytes.HasPrefix(magic, xzMagic):
		// Docker once read xz layers; no image format allows them.
		return errors.New("compressed with xz, which is not an image layer format")
	}
	_, err := io.Copy(w, src)
	return err
}
