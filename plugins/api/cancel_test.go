package api

import (
	"context"
	"errors"
	"net/http"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/ocix/ocix/core"
)

// TestExportCancel cancels an export while a download hangs midway, and
// while it flows: it must end at once, its requests and
// goroutines with it, and leave no spool behind.
func TestExportCancel(t *testing.T) {
	img, _ := twoLayers(t)
	dgst, _ := layerDigest(t, img, 1)
	for name, hang := range map[string]bool{"download hanging": true, "download flowing": false} {
		t.Run(name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			requestEnded := make(chan struct{})
			srv, ep := testRegistry(t, onBlob(dgst, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
				if !hang {
					next.ServeHTTP(w, r)
					return
				}
				body := record(next, r).Body.Bytes()
				w.Write(body[:len(body)/2])
				w.(http.Flusher).Flush()
				<-r.Context().Done()
				close(requestEnded)
			}))
			push(t, ep, "team/app:1", img)

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req := exportReq(t, ep, "team/app", "1")
			var cancelled time.Time
			req.Events = func(e core.Event) {
				if p := e.Progress; p != nil && p.Layer == 1 && p.Done > 0 && cancelled.IsZero() {
					cancelled = time.Now()
					cancel()
				}
			}
			_, err := testBackend(nil).Export(ctx, req)
			if took := time.Since(cancelled); took > time.Second {
				t.Errorf("Export returned %v after the cancellation", took)
			}
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("error %v, want context.Canceled", err)
			}
			if hang {
				select {
				case <-requestEnded:
				case <-time.After(time.Second):
					t.Error("the hanging request was not ended")
				}
			}
			if left, _ := os.ReadDir(req.ScratchDir); len(left) > 0 {
				t.Errorf("left in the scratch directory: %v", left)
			}
			srv.Close()
			for deadline := time.Now().Add(2 * time.Second); runtime.NumGoroutine() > before; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					buf := make([]byte, 1<<20)
					t.Fatalf("%d goroutines left, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
				}
			}
		})
	}
}
