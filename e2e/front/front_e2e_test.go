//go:build e2e

package front_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ocix/ocix/e2e/front"
	"github.com/ocix/ocix/e2e/harness"
	"github.com/ocix/ocix/e2e/images"
)

// TestRealClients lists 2,500 tags through a front before distribution
// v3 with the CLIs the benchmark compares against: each must take the
// token, survive the 429 and follow 50 Link pages back to the front.
func TestRealClients(t *testing.T) {
	ctx := context.Background()
	_, reg, repo := busyboxRegistry(ctx, t)
	tags := images.TagNames(2500)
	if err := images.AddTags(ctx, repo, "latest", tags[1:]); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name string
		args []string
		fix  string
		tags func(out string) int
	}{
		{"crane", []string{"ls", "HOST/library/busybox"}, "go install github.com/google/go-containerregistry/cmd/crane@v0.22.1",
			func(out string) int { return len(strings.Fields(out)) }},
		{"skopeo", []string{"list-tags", "--tls-verify=false", "docker://HOST/library/busybox"}, "install skopeo",
			func(out string) int {
				var list struct{ Tags []string }
				_ = json.Unmarshal([]byte(out), &list)
				return len(list.Tags)
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			bin, err := exec.LookPath(c.name)
			if err != nil {
				harness.Require(t, &harness.MissingError{What: c.name + " not found", Fix: c.fix})
			}
			// A front of its own, so that its first tag list meets the 429.
			srv, err := front.Listen("127.0.0.1:0", front.Options{Upstream: reg.Host})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			args := strings.Split(strings.ReplaceAll(strings.Join(c.args, "\x00"), "HOST", srv.Addr), "\x00")
			ctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			start := time.Now()
			cmd := exec.CommandContext(ctx, bin, args...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s %s: %v: %s", c.name, strings.Join(args, " "), err, stderr.String())
			}
			t.Logf("%s listed through the front in %s; stderr: %s", c.name, time.Since(start).Round(time.Millisecond), stderr.String())
			if n := c.tags(string(out)); n != len(tags) {
				t.Errorf("%s listed %d tags, want %d", c.name, n, len(tags))
			}
			if len(srv.Tokens()) == 0 {
				t.Error("no token was issued")
			}
		})
	}
}

// TestDaemonsPull pulls through a front with dockerd and the podman
// service: both must take the token dance, each asking the front's token
// server for a token of its own.
func TestDaemonsPull(t *testing.T) {
	ctx := context.Background()
	h, reg, _ := busyboxRegistry(ctx, t)
	srv, err := front.Listen("127.0.0.1:0", front.Options{Upstream: reg.Host})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ref := srv.Addr + "/library/busybox:latest"

	docker, err := h.StartDocker(ctx)
	harness.Require(t, err)
	podman, err := h.StartPodman(ctx)
	harness.Require(t, err)
	for _, c := range []struct {
		env  []string
		args []string
	}{
		{docker.Env(), []string{"docker", "pull", "-q", ref}},
		{podman.Env(), []string{"podman", "--remote", "pull", "-q", ref}},
	} {
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		cmd := exec.CommandContext(ctx, c.args[0], c.args[1:]...)
		cmd.Env = append(os.Environ(), c.env...)
		before := len(srv.Tokens())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: %v: %s", strings.Join(c.args, " "), err, out)
		} else if len(srv.Tokens()) == before {
			t.Errorf("%s pulled without asking the front's token server", strings.Join(c.args, " "))
		}
		cancel()
	}
}

// busyboxRegistry starts a harness and distribution v3 in it, holding
// busybox as library/busybox:latest; the harness stops with the test.
func busyboxRegistry(ctx context.Context, t *testing.T) (*harness.Harness, *harness.Registry, images.Repository) {
	t.Helper()
	h, err := harness.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	reg, err := h.StartRegistry(ctx, harness.RegistryOptions{Version: harness.RegistryV3})
	harness.Require(t, err)
	repo := images.Repository{Host: reg.Host, Name: "library/busybox"}
	harness.Require(t, images.PushBusybox(ctx, repo, "latest"))
	return h, reg, repo
}
