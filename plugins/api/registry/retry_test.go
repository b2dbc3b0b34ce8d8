package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// flaky answers its first answers from fail, then the tag list.
func flaky(fail ...func(w http.ResponseWriter, r *http.Request)) http.Handler {
	var n atomic.Int32
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if i := int(n.Add(1)) - 1; i < len(fail) {
			fail[i](w, r)
			return
		}
		tagsAnswer(w, "a", "b")
	})
}

func status(code int, header ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
	}
}

// hangUp closes the connection without a word.
func hangUp(w http.ResponseWriter, r *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

// cutOff promises a body and sends half of it.
func cutOff(w http.ResponseWriter, r *http.Request) {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	fmt.Fprint(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"tags\":[\"a\"")
	_ = buf.Flush()
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	srv, reqs := serve(t, flaky(status(http.StatusTooManyRequests, "Retry-After", "2")))
	c := newTestClient(t, Options{Retries: 5})

	tags, err := c.ListTags(context.Background(), endpoint(srv), "team/app")
	if err != nil || !slices.Equal(tags, []string{"a", "b"}) {
		t.Fatalf("got %q, %v", tags, err)
	}
	if w := c.recordedWaits(); !slices.Equal(w, []time.Duration{2 * time.Second}) {
		t.Errorf("waits %v, want [2s]", w)
	}
	if n := len(reqs.all()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestRetriesExhausted(t *testing.T) {
	down := status(http.StatusServiceUnavailable)
	srv, reqs := serve(t, flaky(down, down, down, down, down))
	c := newTestClient(t, Options{Retries: 3})

	_, err := c.ListTags(context.Background(), endpoint(srv), "team/app")
	wantError(t, err, srv.Listener.Addr().String()+"/team/app: registry error (HTTP 503)")
	if n := len(reqs.all()); n != 4 {
		t.Errorf("%d requests, want 4: the first and 3 retries", n)
	}
	// Backoff grows: each wait within its documented window.
	waits := c.recordedWaits()
	if len(waits) != 3 {
		t.Fatalf("waits %v, want 3", waits)
	}
	for i, w := range waits {
		if b := backoffWindows[i]; w < b.lo || w >= b.hi {
			t.Errorf("wait %d is %s, want in [%s, %s)", i, w, b.lo, b.hi)
		}
	}
}

// backoffWindows are the waits before retries 1, 2, …, written out as
// the documentation states them (200ms doubled at each retry, at most 5s,
// less up to half at random), not computed with the code's formula.
var backoffWindows = []struct{ lo, hi time.Duration }{
	{100 * time.Millisecond, 200 * time.Millisecond},
	{200 * time.Millisecond, 400 * time.Millisecond},
	{400 * time.Millisecond, 800 * time.Millisecond},
	{800 * time.Millisecond, 1600 * time.Millisecond},
	{1600 * time.Millisecond, 3200 * time.Millisecond},
	{2500 * time.Millisecond, 5 * time.Second}, // 6.4s capped at 5s
}

func TestRetryAfterBeyondCap(t *testing.T) {
	for name, tc := range map[string]struct {
		fail func(http.ResponseWriter, *http.Request)
		want string
	}{
		"no body": {status(http.StatusTooManyRequests, "Retry-After", "3600"),
			"%s/team/app: rate limited by the registry (TOOMANYREQUESTS: retry after 1h0m0s)"},
		"registry's own message": {func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "21600")
			registryError(w, http.StatusTooManyRequests, "TOOMANYREQUESTS", "You have reached your pull rate limit.")
		}, "%s/team/app: rate limited by the registry (TOOMANYREQUESTS: You have reached your pull rate limit.)"},
	} {
		t.Run(name, func(t *testing.T) {
			srv, reqs := serve(t, flaky(tc.fail))
			c := newTestClient(t, Options{Retries: 5})
			_, err := c.ListTags(context.Background(), endpoint(srv), "team/app")
			wantError(t, err, fmt.Sprintf(tc.want, srv.Listener.Addr()))
			if n, w := len(reqs.all()), c.recordedWaits(); n != 1 || len(w) != 0 {
				t.Errorf("%d requests, waits %v; want 1 and none", n, w)
			}
		})
	}
}

func TestRetryCutOff(t *testing.T) {
	for name, fail := range map[string]func(http.ResponseWriter, *http.Request){
		"connection closed before the answer": hangUp,
		"answer cut off midway":               cutOff,
	} {
		t.Run(name, func(t *testing.T) {
			srv, reqs := serve(t, flaky(fail))
			c := newTestClient(t, Options{Retries: 2})
			tags, err := c.ListTags(context.Background(), endpoint(srv), "team/app")
			if err != nil || !slices.Equal(tags, []string{"a", "b"}) {
				t.Fatalf("got %q, %v", tags, err)
			}
			if n, w := len(reqs.all()), c.recordedWaits(); n != 2 || len(w) != 1 {
				t.Errorf("%d requests, waits %v; want 2 and one", n, w)
			}
		})
	}

	// Retries spent, the cut is told in one line.
	srv, _ := serve(t, flaky(cutOff, cutOff))
	_, err := newTestClient(t, Options{Retries: 1}).ListTags(context.Background(), endpoint(srv), "team/app")
	host := srv.Listener.Addr().String()
	wantError(t, err, host+"/team/app: answer from "+host+" cut off: unexpected EOF")
}

func TestRequestTimeout(t *testing.T) {
	slow := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
	srv, _ := serve(t, flaky(slow))
	c := newTestClient(t, Options{Retries: 1, RequestTimeout: 100 * time.Millisecond})
	tags, err := c.ListTags(context.Background(), endpoint(srv), "team/app")
	if err != nil || len(tags) != 2 {
		t.Fatalf("got %q, %v; want the second attempt's tags", tags, err)
	}

	srv, _ = serve(t, flaky(slow))
	c = newTestClient(t, Options{RequestTimeout: 100 * time.Millisecond})
	_, err = c.ListTags(context.Background(), endpoint(srv), "team/app")
	wantError(t, err, "registry "+srv.Listener.Addr().String()+": net/http: timeout awaiting response headers")
}

func TestNoRetryForFinalAnswers(t *testing.T) {
	for _, code := range []int{http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusNotImplemented} {
		srv, reqs := serve(t, flaky(status(code)))
		c := newTestClient(t, Options{Retries: 3})
		if _, err := c.ListTags(context.Background(), endpoint(srv), "team/app"); err == nil {
			t.Errorf("HTTP %d: no error", code)
		}
		if n := len(reqs.all()); n != 1 {
			t.Errorf("HTTP %d: %d requests, want 1", code, n)
		}
	}
}

func TestRetryWaitEndsWithContext(t *testing.T) {
	down := status(http.StatusServiceUnavailable, "Retry-After", "20")
	srv, _ := serve(t, flaky(down, down))
	c := newTestClient(t, Options{Retries: 1})
	c.sleep = sleep // really wait, so that cancelling is what ends it

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.ListTags(ctx, endpoint(srv), "team/app")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want %v", err, context.Canceled)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s: the wait did not end with the context", d)
	}
}

func TestRetryAfterHeader(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                              0,
		"0":                             0,
		"7":                             7 * time.Second,
		"-1":                            0,
		"1.5":                           0,
		"soon":                          0,
		"99999999999999999999999":       24 * time.Hour,
		"Sun, 01 Mar 2026 12:00:30 GMT": 30 * time.Second,
		"Sun, 01 Mar 2026 11:59:00 GMT": 0,
	} {
		if got := retryAfter(v, now); got != want {
			t.Errorf("retryAfter(%q) = %s, want %s", v, got, want)
		}
	}
}

// TestBackoffBounds checks every wait against its documented window, and
// that the jitter is real: the waits of one retry are not all equal.
func TestBackoffBounds(t *testing.T) {
	for n := range 64 {
		b := backoffWindows[min(n, len(backoffWindows)-1)]
		seen := map[time.Duration]bool{}
		for range 50 {
			w := backoff(n)
			if w < b.lo || w >= b.hi {
				t.Fatalf("backoff(%d) = %s, want in [%s, %s)", n, w, b.lo, b.hi)
			}
			seen[w] = true
		}
		if len(seen) < 2 {
			t.Errorf("backoff(%d) gave one value 50 times: no jitter", n)
		}
	}
}

func TestTransient(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{io.EOF, true},
		{io.ErrUnexpectedEOF, true},
		{&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, true},
		{&net.OpError{Op: "read", Err: timeoutError{}}, true},
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, false},
		{&net.OpError{Op: "dial", Err: timeoutError{}}, false},
		{&net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}, false},
		{errors.New("tls: bad certificate"), false},
	} {
		if got := transient(tc.err); got != tc.want {
			t.Errorf("transient(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }
