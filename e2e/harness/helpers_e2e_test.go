//go:build e2e

package harness_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ocix/ocix/e2e/harness"
	"github.com/ocix/ocix/e2e/images"
)

// newHarness gives a test its own harness, closed when it ends; Close
// must leave nothing behind.
func newHarness(t *testing.T) *harness.Harness {
	t.Helper()
	h, err := harness.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Error(err)
		}
	})
	return h
}

// timed logs how long a step took: these tests double as this machine's
// measurements.
func timed(t *testing.T, what string, f func() error) {
	t.Helper()
	start := time.Now()
	if err := f(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	t.Logf("%s: %s", what, time.Since(start).Round(time.Millisecond))
}

// command runs a CLI with env added, bounded by a minute, and returns
// its stdout.
func command(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// busyboxRegistry starts a v3 registry holding busybox:latest and returns
// the image's reference.
func busyboxRegistry(t *testing.T, h *harness.Harness) string {
	t.Helper()
	reg, err := h.StartRegistry(context.Background(), harness.RegistryOptions{})
	harness.Require(t, err)
	repo := images.Repository{Host: reg.Host, Name: "busybox"}
	harness.Require(t, images.PushBusybox(context.Background(), repo, "latest"))
	return repo.Ref("latest")
}

// assertGone checks that a closed component left no directory behind.
func assertGone(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still exists after Close (%v)", dir, err)
	}
}
