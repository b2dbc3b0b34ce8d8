//go:build e2e

package harness_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ocix/ocix/e2e/harness"
)

// The current engine as TestDocker checks Debian's: a pull, a run to its
// end (made by the runc built for it, which knows the time namespace it
// asks for), a container left running, and a Close that leaves nothing.
func TestCurrentDocker(t *testing.T) {
	h := newHarness(t)
	ref := busyboxRegistry(t, h)
	var d *harness.Docker
	timed(t, "start the current dockerd", func() (err error) {
		d, err = h.StartCurrentDocker(context.Background())
		harness.Require(t, err)
		return nil
	})
	env := d.Env()
	if out := command(t, env, "docker", "version", "--format", "{{.Server.APIVersion}}"); !strings.HasPrefix(out, "1.5") {
		t.Errorf("API version %q, want 1.5x", out)
	}
	command(t, env, "docker", "pull", "-q", ref)
	if out := command(t, env, "docker", "run", "--rm", "--network", "none", ref, "echo", "hello"); out != "hello\n" {
		t.Errorf("docker run: %q", out)
	}
	command(t, env, "docker", "run", "-d", "--network", "none", ref, "sleep", "1000")
	dir := d.Dir()
	timed(t, "close the current dockerd with a running container", d.Close)
	assertGone(t, dir)
}
