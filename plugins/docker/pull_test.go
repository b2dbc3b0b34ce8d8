package docker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/registry"

	"github.com/ocix/ocix/core"
)

func TestImageName(t *testing.T) {
	for ref, want := range map[string]string{
		"1.36":           "docker.io/library/busybox:1.36",
		"sha256:abcdef0": "docker.io/library/busybox@sha256:abcdef0",
	} {
		got := imageName(core.Endpoint{Registry: "docker.io", Host: "registry-1.docker.io"}, source{repository: "library/busybox", reference: ref})
		if got != want {
			t.Errorf("%s: %s, want %s", ref, got, want)
		}
	}
}

// dockerd decides which registries are insecure: by name, or by address.
func TestInsecureIn(t *testing.T) {
	cfg := &registry.ServiceConfig{
		InsecureRegistryCIDRs: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")},
		IndexConfigs: map[string]*registry.IndexInfo{
			"registry.lan:5000": {Name: "registry.lan:5000", Secure: false},
			"docker.io":         {Name: "docker.io", Secure: true},
		},
	}
	for host, want := range map[string]bool{
		"registry.lan:5000": true,
		"docker.io":         false,
		"10.1.2.3:5000":     true,
		"10.2.0.1:5000":     false,
		"other.lan:5000":    false,
	} {
		if got := insecureIn(cfg, host); got != want {
			t.Errorf("%s: %v, want %v", host, got, want)
		}
	}
	if insecureIn(nil, "10.1.2.3") {
		t.Error("no configuration, yet insecure")
	}
}

// --insecure for a registry dockerd does not already treat as insecure is
// refused with what to do; loopback registries need nothing.
func TestInsecureRegistryNeedsDaemonJSON(t *testing.T) {
	d := startFakeDaemon(t, "1.41", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"RegistryConfig":{"IndexConfigs":{"ok.lan:5000":{"Name":"ok.lan:5000","Secure":false}}}}`)
	})
	b := testBackend(map[string]string{"DOCKER_HOST": "unix://" + d.socket})
	ctx := context.Background()
	cli, err := b.connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	loopback := core.Endpoint{Registry: "127.0.0.1:5000", Host: "127.0.0.1:5000", Insecure: true}
	if err := checkInsecure(ctx, cli, []core.Endpoint{loopback}); err != nil || len(d.requests()) != 1 {
		t.Fatalf("loopback: %v, requests %q", err, d.requests())
	}
	ok := core.Endpoint{Registry: "ok.lan:5000", Host: "ok.lan:5000", Insecure: true}
	if err := checkInsecure(ctx, cli, []core.Endpoint{loopback, ok}); err != nil {
		t.Fatalf("insecure in daemon.json: %v", err)
	}
	far := core.Endpoint{Registry: "far.lan:5000", Host: "far.lan:5000", Insecure: true}
	err = checkInsecure(ctx, cli, []core.Endpoint{far})
	var usage *core.UsageError
	if !errors.As(err, &usage) || !strings.Contains(err.Error(), `add "far.lan:5000" to "insecure-registries" in its daemon.json`) {
		t.Fatalf("err = %v", err)
	}
}

// An image whose config names no platform is created as `docker create
// IMAGE` creates it: dockerd 20.10 refuses it for any platform asked, so
// it is asked again without one, with a warning; an image of another
// platform is still refused (and pulled).
func TestCreateImageThatNamesNoPlatform(t *testing.T) {
	for _, tc := range []struct {
		arch    string // the image's, as dockerd inspects it
		created bool
	}{{"", true}, {"arm64", false}} {
		d := startFakeDaemon(t, "1.41", func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.URL.Path == "/v1.41/containers/create" && r.URL.Query().Has("platform"):
				w.WriteHeader(http.StatusNotFound)
				fmt.Fprint(w, `{"message":"image with reference x was found but does not match the specified platform: wanted linux/amd64, actual: unknown"}`)
			case r.URL.Path == "/v1.41/containers/create":
				fmt.Fprint(w, `{"Id":"c0ffee"}`)
			case strings.HasPrefix(r.URL.Path, "/v1.41/images/") && strings.HasSuffix(r.URL.Path, "/json"):
				fmt.Fprintf(w, `{"Id":"sha256:1","Os":"linux","Architecture":%q}`, tc.arch)
			case r.URL.Path == "/v1.41/images/create":
				fmt.Fprint(w, `{"status":"Digest: sha256:2"}`)
			default:
				w.WriteHeader(http.StatusNotImplemented)
			}
		})
		b := testBackend(map[string]string{"DOCKER_HOST": "unix://" + d.socket})
		ctx := context.Background()
		cli, err := b.connect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var warnings []string
		src := source{
			repository: "some/image", reference: "1",
			endpoints: []core.Endpoint{{Registry: "127.0.0.1:5000", Host: "127.0.0.1:5000"}},
			platform:  core.Platform{OS: "linux", Architecture: "amd64"},
			events:    func(e core.Event) { warnings = append(warnings, e.Warning) },
		}
		m, err := b.createFrom(ctx, cli, src, &container.Config{}, &container.HostConfig{})
		switch {
		case tc.created && (err != nil || m.id != "c0ffee"):
			t.Errorf("arch %q: %v, id %q; requests %q", tc.arch, err, m.id, d.requests())
		case tc.created && (len(warnings) != 1 || !strings.Contains(warnings[0], "names no platform")):
			t.Errorf("arch %q: warnings %q", tc.arch, warnings)
		case !tc.created && (err == nil || !strings.Contains(err.Error(), "does not match the specified platform")):
			t.Errorf("arch %q: created (%v); requests %q", tc.arch, err, d.requests())
		}
	}
}
