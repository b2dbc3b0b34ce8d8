package registry

import (
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/opencontainers/go-digest"
)

// transfer is one blob on its way to w, over one answer or, when the
// connection is cut or stalls, several: each next one asks with Range for
// the bytes not yet received. A registry may answer that with 206 and the
// rest, or ignore Range and send 200 and the whole blob again; then what
// w already has is read past, so that w and the hash see every byte once,
// in order.
//
// The manifest's size and digest are what a blob is checked against, not
// the answer's Content-Length: a proxy or a storage service may announce
// a wrong one. Longer, the bytes are read up to the size and the digest
// has its say; shorter, the answer ends early and the rest is asked for.
//
// The Range asked for is closed (bytes=N-END): go-containerregistry's
// registry, and services built on it, refuse the open form bytes=N-.
type transfer struct {
	name string
	dgst digest.Digest
	size int64
	w    io.Writer
	hash hash.Hash
	n    int64 // bytes hashed and written to w
	buf  []byte
	log  hclog.Logger
}

// resumeProgress is how much an attempt must bring for the retries of a
// blob to start again (see retry): less, and a registry that breaks off
// every few bytes would keep a download going for ever.
const resumeProgress = 1 << 20

// read takes one answer. A cut or a stall is returned marked retryable,
// for the request to be sent again for the rest.
func (t *transfer) read(resp *http.Response) error {
	from := t.n
	err := t.readBody(resp)
	var r *retryable
	if errors.As(err, &r) && t.n-from >= resumeProgress {
		r.progressed = true
	}
	return err
}

func (t *transfer) readBody(resp *http.Response) error {
	switch {
	case resp.StatusCode == http.StatusPartialContent:
		start, ok := rangeStart(resp.Header.Get("Content-Range"))
		if !ok || start != t.n {
			return fmt.Errorf("%s: blob %s: asked for bytes from %d, the registry sent %q", t.name, t.dgst, t.n, resp.Header.Get("Content-Range"))
		}
	case t.n > 0:
		// Range ignored: the blob from the start, again.
		if _, err := io.CopyN(io.Discard, resp.Body, t.n); err != nil {
			return t.cut(resp, err)
		}
	case resp.ContentLength >= 0 && resp.ContentLength != t.size:
		t.log.Debug("the registry announces another size than the manifest's", "blob", t.dgst.String(), "content-length", resp.ContentLength, "size", t.size)
	}
	for {
		m, err := resp.Body.Read(t.buf)
		if m > 0 {
			if t.n+int64(m) > t.size {
				return fmt.Errorf("%s: blob %s is larger than the %d bytes the manifest says", t.name, t.dgst, t.size)
			}
			t.hash.Write(t.buf[:m])
			if _, werr := t.w.Write(t.buf[:m]); werr != nil {
				return werr
			}
			t.n += int64(m)
		}
		switch {
		case err == io.EOF && t.n < t.size:
			// The answer ended as its Content-Length said, early: the
			// rest is asked for. A blob that really is shorter gets 416
			// for it (see Blob).
			return &retryable{err: t.short()}
		case err == io.EOF, err != nil && t.n == t.size:
			// Cut after the last byte: the digest has its say.
			return nil
		case err != nil:
			return t.cut(resp, err)
		}
	}
}

// short is the error of a blob that ended before its size.
func (t *transfer) short() error {
	return fmt.Errorf("%s: blob %s ended after %d of its %d bytes", t.name, t.dgst, t.n, t.size)
}

// cut tells a failed read of the body: marked for a retry when the
// connection was cut, stalled or timed out, final otherwise.
func (t *transfer) cut(resp *http.Response, err error) error {
	e := fmt.Errorf("%s: blob %s: download from %s %s after %d of %d bytes: %v", t.name, t.dgst, resp.Request.URL.Host, brokeOff(err), t.n, t.size, err)
	if transient(err) {
		return &retryable{err: e}
	}
	return e
}

// rest is the Range header asking for the bytes not yet received.
func (t *transfer) rest() string {
	return fmt.Sprintf("bytes=%d-%d", t.n, t.size-1)
}

// rangeStart reads the first byte position of a Content-Range header,
// "bytes 100-199/200".
func rangeStart(v string) (int64, bool) {
	spec, ok := strings.CutPrefix(v, "bytes ")
	if !ok {
		return 0, false
	}
	first, _, ok := strings.Cut(spec, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(first, 10, 64)
	return n, err == nil
}

// isCut reports whether err is a cut transfer worth resuming.
func isCut(err error) bool {
	var r *retryable
	return errors.As(err, &r)
}
