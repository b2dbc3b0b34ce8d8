//go:build e2e

package harness_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
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

// process is a running container's process, named by pid and start time
// across pid reuse.
type process struct {
	pid   int
	start string // field 22 of /proc/PID/stat
}

// containerProcess reads the process whose pid an engine printed for a
// container running `sleep 1000`, and checks that it is that sleep.
func containerProcess(t *testing.T, pidText string) process {
	t.Helper()
	pid, err := strconv.Atoi(strings.TrimSpace(pidText))
	if err != nil || pid <= 0 {
		t.Fatalf("no container pid in %q", pidText)
	}
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if !strings.Contains(string(cmdline), "sleep\x001000") {
		t.Fatalf("process %d runs %q, not the container's sleep 1000", pid, cmdline)
	}
	state, start, ok := procStat(pid)
	if !ok || state == "Z" {
		t.Fatalf("the container's process %d does not run", pid)
	}
	return process{pid: pid, start: start}
}

// procStat reads a process's state and start time.
func procStat(pid int) (state, start string, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", "", false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // from field 3, the state
	if len(f) < 20 {
		return "", "", false
	}
	return f[0], f[19], true
}

// assertStopped checks that a closed daemon's container process no
// longer runs (a zombie has stopped).
func assertStopped(t *testing.T, p process) {
	t.Helper()
	if state, start, ok := procStat(p.pid); ok && start == p.start && state != "Z" {
		t.Errorf("the container's process %d still runs after Close (state %s)", p.pid, state)
	}
}
