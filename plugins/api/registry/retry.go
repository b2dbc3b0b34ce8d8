package registry

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"

	"github.com/ocix/ocix/plugins/internal/registries"
)

const (
	// firstBackoff doubles at each retry up to maxBackoff; the wait is
	// jittered so that clients refused together do not return together.
	firstBackoff = 200 * time.Millisecond
	maxBackoff   = 5 * time.Second
	// maxRetryAfter is the longest Retry-After waited for. A registry that
	// asks for more (Docker Hub's pull limit asks for hours) gets its
	// error reported now.
	maxRetryAfter = 30 * time.Second
)

// retryable marks an error the same request may not meet again: a 429 or
// 5xx answer, a connection cut off. after is the least wait the registry
// asked for, or 0. progressed says that the attempt got far enough (a
// blob download brought resumeProgress bytes) that the next one starts
// with the whole retry budget again.
type retryable struct {
	err        error
	after      time.Duration
	progressed bool
}

func (e *retryable) Error() string { return e.err.Error() }
func (e *retryable) Unwrap() error { return e.err }

// retry calls attempt until it returns an error not marked retryable, or
// c.retries retries in a row are spent, waiting longer each time. An
// attempt that progressed starts the count (and the backoff) again: the
// budget is for attempts that bring nothing, so that a long download over
// a connection that breaks now and then completes. The error returned is
// never marked.
func (c *Client) retry(ctx context.Context, attempt func() error) error {
	for n := 0; ; n++ {
		err := attempt()
		var r *retryable
		if !errors.As(err, &r) {
			return err
		}
		if r.progressed {
			n = 0
		}
		if n >= c.retries {
			return r.err
		}
		wait := max(backoff(n), r.after)
		c.log.Debug("retrying", "in", wait.String(), "retry", n+1, "of", c.retries, "error", r.err)
		if err := c.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// backoff is the wait before retry n+1: firstBackoff doubled n times, at
// most maxBackoff, less up to half of it at random.
func backoff(n int) time.Duration {
	d := maxBackoff
	if n < 8 { // beyond, the shift is past the cap anyway
		d = min(firstBackoff<<n, maxBackoff)
	}
	return d/2 + rand.N(d/2)
}

// sleep waits d, or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retryableStatus reports whether an answer may be different later:
// rate limits and server errors, but not 501 (never implemented).
func retryableStatus(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500 && status != http.StatusNotImplemented
}

// retryLater marks err, told from an answer of retryableStatus, for a
// retry after the answer's Retry-After — unless that is longer than we
// wait, and err is final.
func retryLater(err *registries.Error, h http.Header) error {
	after := retryAfter(h.Get("Retry-After"), time.Now())
	if after > maxRetryAfter {
		return err
	}
	return &retryable{err: err, after: after}
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date. Absent,
// malformed or past, it is 0.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	// Anything over a day is as final as a day; the cap keeps the
	// multiplication from overflowing.
	const day = 24 * 60 * 60
	secs, err := strconv.ParseUint(v, 10, 64)
	if errors.Is(err, strconv.ErrRange) {
		secs, err = day, nil
	}
	if err == nil {
		return time.Duration(min(secs, day)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// transient reports whether a failed exchange may succeed if tried again:
// a connection reset or cut off, an answer that did not come in time. A
// host that cannot be dialled will not be dialable a moment later.
func transient(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
