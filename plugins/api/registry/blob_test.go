package registry

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/ocix/ocix/plugins/internal/credentials"
)

var testBlob = bytes.Repeat([]byte("0123456789"), 10000)

// serveBlob answers blob requests as a registry does, Range included.
func serveBlob(blob []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(blob))
	}
}

// cutBlob promises the whole blob and sends its first n bytes.
func cutBlob(blob []byte, n int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(blob))
		buf.Write(blob[:n])
		buf.Flush()
	}
}

// sequence answers the first requests with first, in turn, then every
// other with then.
func sequence(then http.HandlerFunc, first ...http.HandlerFunc) http.Handler {
	var n atomic.Int32
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if i := int(n.Add(1)) - 1; i < len(first) {
			first[i](w, r)
			return
		}
		then(w, r)
	})
}

// fetch gets testBlob from srv.
func fetch(c *testClient, srv *httptest.Server) ([]byte, error) {
	var got bytes.Buffer
	err := c.Blob(context.Background(), endpoint(srv), "team/app", digest.FromBytes(testBlob), int64(len(testBlob)), &got)
	return got.Bytes(), err
}

func TestBlobResumes(t *testing.T) {
	withoutRange := func(w http.ResponseWriter, r *http.Request) {
		r.Header.Del("Range")
		serveBlob(testBlob)(w, r)
	}
	for name, then := range map[string]http.HandlerFunc{
		"206 for the rest":       serveBlob(testBlob),
		"Range ignored, the 200": withoutRange,
	} {
		t.Run(name, func(t *testing.T) {
			srv, reqs := serve(t, sequence(then, cutBlob(testBlob, 30000), cutBlob(testBlob, 70001)))
			c := newTestClient(t, Options{Retries: 3})
			got, err := fetch(c, srv)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, testBlob) {
				t.Fatalf("got %d bytes, not the blob", len(got))
			}
			var ranges []string
			for _, r := range reqs.all() {
				ranges = append(ranges, r.Header.Get("Range"))
			}
			// The second cut answers 200 from the start: its first 30000
			// bytes are skipped, and the rest counts.
			want := []string{"", "bytes=30000-99999", "bytes=70001-99999"}
			if fmt.Sprint(ranges) != fmt.Sprint(want) {
				t.Errorf("Range headers %q, want %q", ranges, want)
			}
			if w := c.recordedWaits(); len(w) != 2 {
				t.Errorf("waits %v, want two", w)
			}
		})
	}
}

func TestBlobCutTooOften(t *testing.T) {
	srv, _ := serve(t, sequence(nil, cutBlob(testBlob, 10), cutBlob(testBlob, 10), cutBlob(testBlob, 10)))
	host := srv.Listener.Addr().String()
	_, err := fetch(newTestClient(t, Options{Retries: 1}), srv)
	wantError(t, err, fmt.Sprintf("%s/team/app: blob %s: download from %s cut off after 10 of 100000 bytes: unexpected EOF", host, digest.FromBytes(testBlob), host))
}

func TestBlobWrongBytes(t *testing.T) {
	other := bytes.Clone(testBlob)
	other[500] = 'x'
	for _, c := range []struct {
		name  string
		serve http.HandlerFunc
		want  string
	}{
		{"other bytes", serveBlob(other), " does not match its digest"},
		{"longer, said", serveBlob(append(bytes.Clone(testBlob), '!')), " is larger than the 100000 bytes the manifest says"},
		// Its rest asked for with Range, the registry answers 416.
		{"shorter, said", serveBlob(testBlob[:99999]), " ended after 99999 of its 100000 bytes"},
		{"longer, unsaid", func(w http.ResponseWriter, r *http.Request) {
			w.(http.Flusher).Flush() // chunked: no Content-Length
			w.Write(append(bytes.Clone(testBlob), '!'))
		}, " is larger than the 100000 bytes the manifest says"},
		{"shorter, unsaid", func(w http.ResponseWriter, r *http.Request) {
			w.(http.Flusher).Flush()
			w.Write(testBlob[:99999])
		}, " ended after 99999 of its 100000 bytes"},
		{"range from elsewhere", sequence(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Range", "bytes 0-99999/100000")
			w.WriteHeader(http.StatusPartialContent)
			w.Write(testBlob)
		}, cutBlob(testBlob, 10)).ServeHTTP, `: asked for bytes from 10, the registry sent "bytes 0-99999/100000"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv, _ := serve(t, c.serve)
			_, err := fetch(newTestClient(t, Options{Retries: 1}), srv)
			wantError(t, err, srv.Listener.Addr().String()+"/team/app: blob "+digest.FromBytes(testBlob).String()+c.want)
		})
	}
}

// TestBlobRedirect: a blob at a storage service, another origin, gets no
// Authorization meant for the registry; a cut download is asked of the
// registry again, and its Range follows the redirect.
func TestBlobRedirect(t *testing.T) {
	storage, storageReqs := serve(t, sequence(serveBlob(testBlob), cutBlob(testBlob, 4242)))
	srv, reqs := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, _, ok := r.BasicAuth(); !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="r"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, storage.URL+"/blob?sig=secret", http.StatusTemporaryRedirect)
	}))
	host := srv.Listener.Addr().String()
	c := newTestClient(t, Options{Retries: 2, Credentials: &staticStore{creds: map[string]credentials.Credential{host: {Username: "u", Password: "p"}}}})
	got, err := fetch(c, srv)
	if err != nil || !bytes.Equal(got, testBlob) {
		t.Fatalf("got %d bytes, %v", len(got), err)
	}
	for _, r := range storageReqs.all() {
		if auth := r.Header.Get("Authorization"); auth != "" {
			t.Errorf("the storage got Authorization %q", auth)
		}
	}
	all := storageReqs.all()
	if len(all) != 2 || all[1].Header.Get("Range") != "bytes=4242-99999" {
		t.Errorf("%d requests to the storage; the second's Range: %q", len(all), all[len(all)-1].Header.Get("Range"))
	}
	// 401, then authorized, then resumed.
	if n := len(reqs.all()); n != 3 {
		t.Errorf("%d requests to the registry, want 3", n)
	}
}
