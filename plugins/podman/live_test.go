package podman

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/ocix/ocix/core/plugin"
)

// fakeService is a podman API service on a unix socket that answers the
// ping and records the containers it is asked to remove.
type fakeService struct {
	mu      sync.Mutex
	removed []string // "ID force=… timeout=…"
}

func (f *fakeService) serve(t *testing.T) service {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "podman.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/_ping"):
			w.Header().Set("Libpod-API-Version", "4.3.1")
			w.Write([]byte("OK"))
		case r.Method == http.MethodDelete && strings.Contains(r.URL.Path, "/libpod/containers/"):
			id := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
			q := r.URL.Query()
			f.mu.Lock()
			f.removed = append(f.removed, id+" force="+q.Get("force")+" timeout="+q.Get("timeout"))
			f.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`[{"Id":"` + id + `"}]`))
		default:
			http.NotFound(w, r)
		}
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return service{URI: "unix://" + sock, Path: sock}
}

// TestDrainRemovesWhatCancelledJobsLeft: the containers of jobs cut short
// are removed, at once (forced, no stop timeout), through the connection
// they were made with, even though the job's context is cancelled; what is
// removed is forgotten, so a second Drain asks for nothing.
func TestDrainRemovesWhatCancelledJobsLeft(t *testing.T) {
	fake := &fakeService{}
	svc := fake.serve(t)
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := svc.connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"job-a", "job-b"} {
		live.add(conn, id, hclog.NewNullLogger())
	}
	t.Cleanup(func() { live.done("job-a"); live.done("job-b") })
	cancel() // the jobs were cancelled (Ctrl-C)

	b := New(nil)
	drainer, ok := b.(plugin.Drainer)
	if !ok {
		t.Fatal("the podman backend is no plugin.Drainer: plugin.Serve would never drain it")
	}
	drainer.Drain()
	fake.mu.Lock()
	got := slices.Sorted(slices.Values(fake.removed))
	fake.removed = nil
	fake.mu.Unlock()
	want := []string{"job-a force=true timeout=0", "job-b force=true timeout=0"}
	if !slices.Equal(got, want) {
		t.Fatalf("removed %q, want %q", got, want)
	}
	if left := live.all(); len(left) != 0 {
		t.Fatalf("after Drain, still tracked: %v", left)
	}
	drainer.Drain()
	if len(fake.removed) != 0 {
		t.Fatalf("a second Drain removed %q again", fake.removed)
	}
}
