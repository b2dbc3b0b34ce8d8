package api

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ocix/ocix/plugins/api/registry"
)

// stallOn answers the GET requests whose path ends in suffix with half of
// what the registry would send, then nothing until the client goes away;
// first limits it to the first request, 0 to every one.
func stallOn(suffix string, first int) func(http.Handler) http.Handler {
	var n atomic.Int32
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, suffix) || first > 0 && int(n.Add(1)) > first {
				next.ServeHTTP(w, r)
				return
			}
			rec := record(next, r)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			body := rec.Body.Bytes()
			w.Write(body[:len(body)/2])
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		})
	}
}

// TestExportDeadline: a whole-operation deadline (ocix's --timeout, once
// the CLI gives one) ends an export stalled at any stage at once, however
// long the per-request timeout, and leaves no scratch behind.
func TestExportDeadline(t *testing.T) {
	img, _ := twoLayers(t)
	cfg, _ := img.ConfigName()
	layer, _ := layerDigest(t, img, 1)
	for stage, suffix := range map[string]string{
		"manifest": "/manifests/1",
		"config":   "/blobs/" + cfg.String(),
		"layer":    "/blobs/" + layer,
	} {
		t.Run(stage, func(t *testing.T) {
			_, ep := testRegistry(t, stallOn(suffix, 0))
			push(t, ep, "team/app:1", img)
			b := &backend{log: hclog.NewNullLogger(), client: registry.New(registry.Options{Retries: 5, RequestTimeout: time.Minute})}
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			req := exportReq(t, ep, "team/app", "1")
			start := time.Now()
			_, err := b.Export(ctx, req)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("got %v, want %v", err, context.DeadlineExceeded)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Export returned after %s", d)
			}
			if left, _ := os.ReadDir(req.ScratchDir); len(left) > 0 {
				t.Errorf("left in the scratch directory: %v", left)
			}
		})
	}
}

// TestExportResumesAStalledLayer: a layer whose download stalls midway is
// resumed once the idle timeout has passed, and the export completes.
func TestExportResumesAStalledLayer(t *testing.T) {
	img, want := twoLayers(t)
	layer, _ := layerDigest(t, img, 1)
	reqs := &requests{}
	_, ep := testRegistry(t, func(h http.Handler) http.Handler { return reqs.wrap(stallOn("/blobs/"+layer, 1)(h)) })
	push(t, ep, "team/app:1", img)
	b := &backend{log: hclog.NewNullLogger(), client: registry.New(registry.Options{Retries: 1, RequestTimeout: 200 * time.Millisecond})}
	req := exportReq(t, ep, "team/app", "1")
	if _, err := b.Export(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	wantTree(t, tree(t, req.Dir), want)
	var got []*http.Request
	for _, r := range reqs.to("/blobs/" + layer) {
		if r.Method == http.MethodGet { // not the push's HEADs
			got = append(got, r)
		}
	}
	if len(got) != 2 || !strings.HasPrefix(got[1].Header.Get("Range"), "bytes=") {
		t.Errorf("%d requests for the layer; the second's Range: %q", len(got), got[len(got)-1].Header.Get("Range"))
	}
}
