package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

// partWriter passes the first left bytes of a body, flushed, then calls
// then, which ends the answer its own way.
type partWriter struct {
	http.ResponseWriter
	left int
	then func()
	done bool
}

func (w *partWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, errors.New("answer ended by the test")
	}
	if len(p) <= w.left {
		w.left -= len(p)
		return w.ResponseWriter.Write(p)
	}
	n, _ := w.ResponseWriter.Write(p[:w.left])
	w.ResponseWriter.(http.Flusher).Flush()
	w.done = true
	w.then()
	return n, errors.New("answer ended by the test")
}

// partly serves blob as a registry does, Range included, but ends each
// answer after n bytes of its body with then.
func partly(blob []byte, n int, then func(r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		serveBlob(blob)(&partWriter{ResponseWriter: w, left: n, then: func() { then(r) }}, r)
	}
}

// hold stalls an answer until the client goes away.
func hold(r *http.Request) { <-r.Context().Done() }

// rangesOf lists the Range headers of the requests, "" for none.
func rangesOf(reqs *requestLog) []string {
	var out []string
	for _, r := range reqs.all() {
		out = append(out, r.Header.Get("Range"))
	}
	return out
}

func TestBlobStallResumes(t *testing.T) {
	srv, reqs := serve(t, sequence(serveBlob(testBlob), partly(testBlob, 30000, hold)))
	c := newTestClient(t, Options{Retries: 1, IdleTimeout: 100 * time.Millisecond})
	start := time.Now()
	got, err := fetch(c, srv)
	if err != nil || !bytes.Equal(got, testBlob) {
		t.Fatalf("got %d bytes, %v", len(got), err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
	if want := []string{"", "bytes=30000-99999"}; !slices.Equal(rangesOf(reqs), want) {
		t.Errorf("Range headers %q, want %q", rangesOf(reqs), want)
	}
}

// A registry that stalls every answer early fails the download once the
// retries are spent, in one line that says it stalled.
func TestBlobStalledForGood(t *testing.T) {
	srv, reqs := serve(t, partly(testBlob, 10, hold))
	c := newTestClient(t, Options{Retries: 2, IdleTimeout: 50 * time.Millisecond})
	_, err := fetch(c, srv)
	host := srv.Listener.Addr().String()
	wantError(t, err, fmt.Sprintf("%s/team/app: blob %s: download from %s stalled after 30 of 100000 bytes: nothing received for 50ms", host, digest.FromBytes(testBlob), host))
	if n := len(reqs.all()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

// Stalled before any byte of the body, and before the headers: both
// retried, the headers by the transport's own timeout.
func TestStallBeforeTheBody(t *testing.T) {
	beforeBody := func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		hold(r)
	}
	beforeHeaders := func(w http.ResponseWriter, r *http.Request) { hold(r) }
	srv, reqs := serve(t, flaky(beforeBody, beforeHeaders))
	c := newTestClient(t, Options{Retries: 2, RequestTimeout: 100 * time.Millisecond})
	tags, err := c.ListTags(context.Background(), endpoint(srv), "team/app")
	if err != nil || !slices.Equal(tags, []string{"a", "b"}) {
		t.Fatalf("got %q, %v", tags, err)
	}
	if n := len(reqs.all()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
	if !strings.Contains(c.log.String(), "answer from "+srv.Listener.Addr().String()+" stalled: nothing received for 100ms") {
		t.Errorf("the stall is not in the log:\n%s", c.log)
	}
}

// The idle timeout counts the time a read waits, not the time the
// consumer takes between reads.
func TestIdleTimeoutIgnoresASlowConsumer(t *testing.T) {
	srv, reqs := serve(t, serveBlob(testBlob))
	c := newTestClient(t, Options{IdleTimeout: 50 * time.Millisecond})
	slow := writerFunc(func(p []byte) (int, error) {
		time.Sleep(80 * time.Millisecond)
		return len(p), nil
	})
	err := c.Blob(context.Background(), endpoint(srv), "team/app", digest.FromBytes(testBlob), int64(len(testBlob)), slow)
	if err != nil || len(reqs.all()) != 1 {
		t.Fatalf("%v after %d requests", err, len(reqs.all()))
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// Each attempt that brings resumeProgress bytes gives the download its
// retries back; attempts that bring less spend them.
func TestBlobProgressRenewsRetries(t *testing.T) {
	big := bytes.Repeat([]byte("ocix"), 5<<20/4)
	closeShort := func(*http.Request) {} // the handler returns: the connection closes short
	for _, c := range []struct {
		name  string
		each  int
		fails bool
	}{
		{"1.5 MiB an answer", 3 << 19, false},
		{"100 KiB an answer", 100 << 10, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv, reqs := serve(t, partly(big, c.each, closeShort))
			client := newTestClient(t, Options{Retries: 1})
			var got bytes.Buffer
			err := client.Blob(context.Background(), endpoint(srv), "team/app", digest.FromBytes(big), int64(len(big)), &got)
			if c.fails {
				if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("cut off after %d of %d bytes", 2*c.each, len(big))) {
					t.Fatalf("got %v", err)
				}
				return
			}
			if err != nil || !bytes.Equal(got.Bytes(), big) {
				t.Fatalf("got %d bytes, %v", got.Len(), err)
			}
			if n := len(reqs.all()); n != 4 {
				t.Errorf("%d requests, want 4", n)
			}
			// The backoff starts again too.
			for i, w := range client.recordedWaits() {
				if w >= firstBackoff {
					t.Errorf("wait %d is %s: the backoff did not start again", i, w)
				}
			}
		})
	}
}

// A Content-Length that disagrees with the manifest's size: the size and
// the digest decide.
func TestBlobWrongContentLength(t *testing.T) {
	announce := func(length int, body []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", length)
			buf.Write(body)
			buf.Flush()
		}
	}
	for _, c := range []struct {
		name   string
		first  http.HandlerFunc
		ranges []string
	}{
		// The connection closes after the real body, short of the
		// length: every byte is in.
		{"longer", announce(len(testBlob)+100, testBlob), []string{""}},
		// The answer ends at the length announced; the rest is asked for.
		{"shorter", announce(len(testBlob)-1000, testBlob[:len(testBlob)-1000]), []string{"", "bytes=99000-99999"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv, reqs := serve(t, sequence(serveBlob(testBlob), c.first))
			got, err := fetch(newTestClient(t, Options{Retries: 1}), srv)
			if err != nil || !bytes.Equal(got, testBlob) {
				t.Fatalf("got %d bytes, %v", len(got), err)
			}
			if !slices.Equal(rangesOf(reqs), c.ranges) {
				t.Errorf("Range headers %q, want %q", rangesOf(reqs), c.ranges)
			}
		})
	}
}

// The caller's deadline ends a stalled download at once, whatever the
// idle timeout.
func TestBlobDeadline(t *testing.T) {
	srv, _ := serve(t, partly(testBlob, 100, hold))
	c := newTestClient(t, Options{Retries: 5, IdleTimeout: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.Blob(ctx, endpoint(srv), "team/app", digest.FromBytes(testBlob), int64(len(testBlob)), io.Discard)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want %v", err, context.DeadlineExceeded)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s", d)
	}
}
