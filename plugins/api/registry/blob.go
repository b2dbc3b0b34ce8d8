package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/opencontainers/go-digest"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/registries"
)

// blobBufSize is the copy buffer of one blob download: large enough that
// a fast connection is read in few system calls.
const blobBufSize = 256 << 10

// Blob writes blob dgst of repository, size bytes, to w as it streams in,
// hashing it on the way. A blob longer or shorter than size, or whose
// bytes do not match dgst, fails in one line naming it — after w has
// received them: the caller throws its work away on any error.
//
// A download cut off or stalled midway is resumed where it stopped,
// within the client's retries, which start again after an attempt that
// brought resumeProgress bytes (see transfer). Redirects, to a storage
// service on another host, are followed without the registry's
// Authorization.
func (c *Client) Blob(ctx context.Context, ep core.Endpoint, repository string, dgst digest.Digest, size int64, w io.Writer) error {
	r := c.newRequest(ep, repository, http.MethodGet, "/v2/"+repository+"/blobs/"+dgst.String())
	if err := dgst.Validate(); err != nil {
		return fmt.Errorf("%s: invalid blob digest %q: %v", r.name(), dgst, err)
	}
	if size < 0 {
		return fmt.Errorf("%s: blob %s has a negative size", r.name(), dgst)
	}
	t := &transfer{
		name: r.name(), dgst: dgst, size: size, w: w,
		hash: dgst.Algorithm().Hash(),
		buf:  make([]byte, blobBufSize),
		log:  c.log,
	}
	err := c.do(ctx, r, func(resp *http.Response) error {
		err := t.read(resp)
		if isCut(err) {
			r.header.Set("Range", t.rest())
		}
		return err
	})
	var rerr *registries.Error
	if errors.As(err, &rerr) && rerr.Status == http.StatusRequestedRangeNotSatisfiable && t.n > 0 {
		// The rest asked for is not there: the blob is shorter than the
		// manifest says.
		return t.short()
	}
	if err != nil {
		return err
	}
	if digest.NewDigest(dgst.Algorithm(), t.hash) != dgst {
		return fmt.Errorf("%s: blob %s does not match its digest", t.name, dgst)
	}
	return nil
}
