package docker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/hashicorp/go-hclog"

	"github.com/ocix/ocix/core"
)

// fakeDaemon answers the docker API on a unix socket: /_ping with the API
// version it claims, and any other path with handle's answer. It records
// the requests it gets.
type fakeDaemon struct {
	socket string
	mu     sync.Mutex
	seen   []string
}

func startFakeDaemon(t *testing.T, apiVersion string, handle http.HandlerFunc) *fakeDaemon {
	t.Helper()
	d := &fakeDaemon{socket: filepath.Join(t.TempDir(), "docker.sock")}
	l, err := net.Listen("unix", d.socket)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		d.seen = append(d.seen, r.Method+" "+r.URL.RequestURI())
		d.mu.Unlock()
		if r.URL.Path == "/_ping" {
			w.Header().Set("Api-Version", apiVersion)
			w.Header().Set("Ostype", "linux")
			fmt.Fprint(w, "OK")
			return
		}
		handle(w, r)
	}))
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return d
}

func (d *fakeDaemon) requests() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.seen...)
}

// testBackend is a backend whose environment is env alone.
func testBackend(env map[string]string) *backend {
	b := New(hclog.NewNullLogger()).(*backend)
	b.getenv = func(k string) string { return env[k] }
	return b
}

func TestTheClientSpeaksTheDaemonsAPIVersion(t *testing.T) {
	d := startFakeDaemon(t, "1.41", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "[]")
	})
	b := testBackend(map[string]string{"DOCKER_HOST": "unix://" + d.socket})
	info, err := b.Describe(context.Background())
	if err != nil || !info.Available || info.Name != "docker" {
		t.Fatalf("describe: %+v, %v", info, err)
	}
	if err := b.Cleanup(context.Background(), "abc"); err != nil {
		t.Fatal(err)
	}
	got := d.requests()
	// One ping (Describe's), then the list at the daemon's version: the
	// client's own, newer, would be refused by a 20.10 daemon.
	if len(got) != 2 || !strings.HasPrefix(got[0], "HEAD /_ping") || !strings.HasPrefix(got[1], "GET /v1.41/containers/json?") {
		t.Fatalf("requests %q", got)
	}
	if !strings.Contains(got[1], "ocix.invocation%3Dabc") {
		t.Errorf("the list is not filtered by the invocation's label: %s", got[1])
	}
}

func TestAbsentDaemonIsUnavailableWithTheReason(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "missing.sock")
	b := testBackend(map[string]string{"DOCKER_HOST": "unix://" + socket})
	start := time.Now()
	info, err := b.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := "cannot reach the docker daemon at unix://" + socket + ": connect: no such file or directory (is dockerd running? start it or set DOCKER_HOST / docker.host)"
	if info.Available || info.Reason != want {
		t.Fatalf("got %+v\nwant reason %q", info, want)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
}

func TestSilentDaemonIsUnavailableAfterTheTimeout(t *testing.T) {
	// A socket that accepts and never answers.
	socket := filepath.Join(t.TempDir(), "silent.sock")
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	b := testBackend(map[string]string{"DOCKER_HOST": "unix://" + socket})
	start := time.Now()
	info, _ := b.Describe(context.Background())
	if info.Available || !strings.Contains(info.Reason, ": no answer within 1s (is dockerd running?") {
		t.Fatalf("got %+v", info)
	}
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Errorf("took %v", took)
	}
}

func TestConfigureRefusesABadHost(t *testing.T) {
	b := testBackend(nil)
	err := b.Configure(context.Background(), []byte(`{"host": "nonsense"}`))
	var usage *core.UsageError
	if !errors.As(err, &usage) || !strings.HasPrefix(err.Error(), "config docker.host: ") {
		t.Fatalf("err = %v", err)
	}
	if err := b.Configure(context.Background(), []byte(`{"hots": "unix:///x"}`)); err == nil || !strings.Contains(err.Error(), "docker knows: host") {
		t.Fatalf("unknown key: %v", err)
	}
}

func TestDaemonErrorsAreOneLineAndKeepTheirKind(t *testing.T) {
	err := daemonError("127.0.0.1:5000/x:1", cerrdefs.ErrNotFound.WithMessage("Error response from daemon: No such image: 127.0.0.1:5000/x:1\nmore"))
	if got := err.Error(); got != "127.0.0.1:5000/x:1: No such image: 127.0.0.1:5000/x:1" {
		t.Errorf("message %q", got)
	}
	if !cerrdefs.IsNotFound(err) {
		t.Error("not found no more")
	}
	if daemonError("x", context.Canceled) != context.Canceled {
		t.Error("a cancellation is wrapped")
	}
}
