package podman

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ocix/ocix/core"
)

func TestResolveService(t *testing.T) {
	env := func(kv map[string]string) func(string) string {
		return func(k string) string { return kv[k] }
	}
	for _, tc := range []struct {
		name       string
		configured string
		env        map[string]string
		uid        int
		want       service
	}{
		{"config path wins", "/srv/p.sock", map[string]string{"CONTAINER_HOST": "unix:///x.sock"}, 0,
			service{URI: "unix:///srv/p.sock", Path: "/srv/p.sock", From: "config podman.socket"}},
		{"config URI", "unix:///srv/p.sock", nil, 1000,
			service{URI: "unix:///srv/p.sock", Path: "/srv/p.sock", From: "config podman.socket"}},
		{"CONTAINER_HOST", "", map[string]string{"CONTAINER_HOST": "unix:///run/x/podman.sock", "XDG_RUNTIME_DIR": "/run/user/1"}, 1,
			service{URI: "unix:///run/x/podman.sock", Path: "/run/x/podman.sock", From: "CONTAINER_HOST"}},
		{"podman's two-slash form", "", map[string]string{"CONTAINER_HOST": "unix://run/x.sock"}, 0,
			service{URI: "unix:///run/x.sock", Path: "/run/x.sock", From: "CONTAINER_HOST"}},
		{"tcp", "", map[string]string{"CONTAINER_HOST": "tcp://10.0.0.1:8888"}, 0,
			service{URI: "tcp://10.0.0.1:8888", From: "CONTAINER_HOST"}},
		{"rootful default", "", map[string]string{"XDG_RUNTIME_DIR": "/run/user/0"}, 0,
			service{URI: "unix:///run/podman/podman.sock", Path: "/run/podman/podman.sock", From: "the rootful default"}},
		{"rootless default", "", map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"}, 1000,
			service{URI: "unix:///run/user/1000/podman/podman.sock", Path: "/run/user/1000/podman/podman.sock", From: "the rootless default"}},
		{"rootless without XDG_RUNTIME_DIR", "", nil, 1000,
			service{URI: "unix:///run/user/1000/podman/podman.sock", Path: "/run/user/1000/podman/podman.sock", From: "the rootless default"}},
	} {
		got, err := resolveService(tc.configured, env(tc.env), tc.uid)
		if err != nil || got != tc.want {
			t.Errorf("%s: got %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
	for _, bad := range []string{"podman.sock", "http://x", "tcp://", "ssh:///x"} {
		_, err := resolveService(bad, env(nil), 0)
		var usage *core.UsageError
		if !errors.As(err, &usage) || !strings.Contains(err.Error(), "config podman.socket") {
			t.Errorf("%q: got %v, want a usage error naming the setting", bad, err)
		}
	}
}

// A service that is not there is told at once, in one line naming the
// socket, why, and the command that starts it.
func TestConnectUnreachable(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.sock")
	stale := filepath.Join(dir, "stale.sock")
	l, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close() // the socket file stays, nothing listens
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	for path, cause := range map[string]string{
		missing: "no such socket",
		stale:   "connection refused",
		file:    "not a socket",
	} {
		svc, _ := resolveService(path, os.Getenv, 0)
		start := time.Now()
		_, err := svc.connect(context.Background())
		if took := time.Since(start); took > 100*time.Millisecond {
			t.Errorf("%s: took %v", path, took)
		}
		want := "cannot reach the podman service at " + path + " (config podman.socket): " + cause
		if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") ||
			!strings.HasSuffix(err.Error(), "start it with `podman system service --time=0 unix://"+path+"`") {
			t.Errorf("%s: got %v\nwant %s…", path, err, want)
		}
	}
}

// A socket that accepts but never answers is given up within the ping's
// bound.
func TestConnectSilentService(t *testing.T) {
	path := filepath.Join(t.TempDir(), "silent.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	svc, _ := resolveService(path, os.Getenv, 0)
	start := time.Now()
	_, err = svc.connect(context.Background())
	if took := time.Since(start); took > reachTimeout+500*time.Millisecond {
		t.Errorf("took %v", took)
	}
	if err == nil || !strings.Contains(err.Error(), "no answer within") {
		t.Errorf("got %v", err)
	}
}

func TestDescribeUnavailable(t *testing.T) {
	b := New(nil).(*backend)
	path := filepath.Join(t.TempDir(), "none.sock")
	if err := b.Configure(context.Background(), []byte(`{"socket":"`+path+`"}`)); err != nil {
		t.Fatal(err)
	}
	info, err := b.Describe(context.Background())
	if err != nil || info.Available || !strings.Contains(info.Reason, path) || info.Name != "podman" {
		t.Fatalf("%+v, %v", info, err)
	}
	if err := b.Configure(context.Background(), []byte(`{"sockett":"x"}`)); err == nil || !strings.Contains(err.Error(), "config podman.sockett: unknown key (podman knows: socket)") {
		t.Fatalf("unknown key: %v", err)
	}
}
