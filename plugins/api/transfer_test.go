package api

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/ocix/ocix/core"
)

// twoLayers is an image whose second layer, 1 MiB that does not
// compress, is large enough to be cut.
func twoLayers(t *testing.T) (v1.Image, map[string]string) {
	big := noise(1 << 20)
	img := imageOf(t, amd64, gzipLayer(t, file("a", "1")), gzipLayer(t, file("big", big)))
	return img, map[string]string{"a": "file 644 1", "big": "file 644 " + big}
}

func layerDigest(t *testing.T, img v1.Image, i int) (string, int64) {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	return m.Layers[i].Digest.String(), m.Layers[i].Size
}

// onBlob calls f for GET requests of blob dgst and passes the others on.
func onBlob(dgst string, f func(w http.ResponseWriter, r *http.Request, next http.Handler)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+dgst) {
				f(w, r, next)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// record is what next answers to r.
func record(next http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r)
	return rec
}

func TestExportCorruptBlob(t *testing.T) {
	img, _ := twoLayers(t)
	dgst, size := layerDigest(t, img, 1)
	// Flipped bytes, same size: at the start (the gzip header: the blob
	// looks like a plain tar), and in the middle (a deflate error, or a
	// CRC one); the digest check is what is reported.
	for _, at := range []int64{0, size / 2, size - 1} {
		t.Run(fmt.Sprint(at), func(t *testing.T) {
			_, ep := testRegistry(t, onBlob(dgst, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
				body := record(next, r).Body.Bytes()
				body[at] ^= 0xff
				w.Write(body)
			}))
			push(t, ep, "team/app:1", img)
			_, err := testBackend(nil).Export(context.Background(), exportReq(t, ep, "team/app", "1"))
			wantError(t, err, ep.Registry+"/team/app: blob "+dgst+" does not match its digest")
		})
	}
}

// cutAt sends the first answer for a blob up to byte n of its body and
// closes the connection; the next ones go through, with the Range header
// left out when ignoreRange is set, as a registry that does not do ranges.
func cutAt(n int, ignoreRange bool) func(w http.ResponseWriter, r *http.Request, next http.Handler) {
	var once sync.Once
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		cut := false
		once.Do(func() { cut = true })
		if !cut {
			if ignoreRange {
				r.Header.Del("Range")
			}
			next.ServeHTTP(w, r)
			return
		}
		body := record(next, r).Body.Bytes()
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(body))
		buf.Write(body[:n])
		buf.Flush()
	}
}

func TestExportResumesCutDownload(t *testing.T) {
	img, want := twoLayers(t)
	dgst, size := layerDigest(t, img, 1)
	half := int(size / 2)
	for name, ignoreRange := range map[string]bool{"with Range": false, "Range ignored": true} {
		t.Run(name, func(t *testing.T) {
			reqs := &requests{}
			_, ep := testRegistry(t, func(h http.Handler) http.Handler {
				return reqs.wrap(onBlob(dgst, cutAt(half, ignoreRange))(h))
			})
			push(t, ep, "team/app:1", img)
			req := exportReq(t, ep, "team/app", "1")
			var last core.Progress
			req.Events = func(e core.Event) {
				if p := e.Progress; p != nil && p.Layer == 1 {
					if p.Done < last.Done {
						t.Errorf("progress went back from %d to %d", last.Done, p.Done)
					}
					last = *p
				}
			}
			if _, err := testBackend(nil).Export(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			wantTree(t, tree(t, req.Dir), want)
			var gets []*http.Request
			for _, r := range reqs.to("/blobs/" + dgst) {
				if r.Method == http.MethodGet {
					gets = append(gets, r)
				}
			}
			if len(gets) != 2 {
				t.Fatalf("%d requests for the blob, want 2", len(gets))
			}
			if got, want := gets[1].Header.Get("Range"), fmt.Sprintf("bytes=%d-%d", half, size-1); got != want {
				t.Errorf("second request's Range %q, want %q", got, want)
			}
			if last.Done != size {
				t.Errorf("last progress %+v, want Done %d", last, size)
			}
		})
	}
}

func TestExportFollowsBlobRedirect(t *testing.T) {
	img, want := twoLayers(t)
	dgst, _ := layerDigest(t, img, 1)
	var registryHandler http.Handler
	storageReqs := &requests{}
	// Storage elsewhere, as S3 or GCS: another origin, answering with the
	// registry's own bytes.
	storage := httptest.NewServer(storageReqs.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/v2/team/app/blobs/" + dgst
		r2.SetBasicAuth("u", "p")
		registryHandler.ServeHTTP(w, r2)
	})))
	t.Cleanup(storage.Close)
	_, ep := testRegistry(t, func(h http.Handler) http.Handler {
		registryHandler = h
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != "u" || p != "p" {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+dgst) {
				http.Redirect(w, r, storage.URL+"/signed?X-Amz-Signature=secret", http.StatusTemporaryRedirect)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	creds := staticCreds{ep.Registry: {Username: "u", Password: "p"}}
	push(t, ep, "team/app:1", img, remote.WithAuth(&authn.Basic{Username: "u", Password: "p"}))

	req := exportReq(t, ep, "team/app", "1")
	if _, err := testBackend(creds).Export(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	wantTree(t, tree(t, req.Dir), want)
	got := storageReqs.to("/signed")
	if len(got) != 1 {
		t.Fatalf("%d requests to the storage, want 1", len(got))
	}
	if auth := got[0].Header.Get("Authorization"); auth != "" {
		t.Errorf("the storage got the registry's Authorization %q", auth)
	}
}
