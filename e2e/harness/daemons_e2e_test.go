//go:build e2e

package harness_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ocix/ocix/e2e/harness"
)

// Each daemon test pulls busybox from a harness registry, runs a
// container to its end, leaves another running and closes the daemon:
// Close must stop that container's process too and remove every trace.

func TestDocker(t *testing.T) {
	h := newHarness(t)
	ref := busyboxRegistry(t, h)
	var d *harness.Docker
	timed(t, "start dockerd", func() (err error) {
		d, err = h.StartDocker(context.Background())
		harness.Require(t, err)
		return nil
	})
	env := d.Env()
	command(t, env, "docker", "pull", "-q", ref)
	if out := command(t, env, "docker", "run", "--rm", "--network", "none", ref, "echo", "hello"); out != "hello\n" {
		t.Errorf("docker run: %q", out)
	}
	id := strings.TrimSpace(command(t, env, "docker", "run", "-d", "--network", "none", ref, "sleep", "1000"))
	running := containerProcess(t, command(t, env, "docker", "inspect", "-f", "{{.State.Pid}}", id))
	dir := d.Dir()
	timed(t, "close dockerd with a running container", d.Close)
	assertGone(t, dir)
	assertStopped(t, running)
}

func TestPodman(t *testing.T) {
	h := newHarness(t)
	ref := busyboxRegistry(t, h)
	var p *harness.Podman
	timed(t, "start podman service", func() (err error) {
		p, err = h.StartPodman(context.Background())
		harness.Require(t, err)
		return nil
	})
	env := p.Env()
	// No --tls-verify=false: registries.conf must say 127.0.0.1 is plain HTTP.
	command(t, env, "podman", "--remote", "pull", "-q", ref)
	if out := command(t, env, "podman", "--remote", "run", "--rm", ref, "id", "-u"); out != "0\n" {
		t.Errorf("podman run: %q", out)
	}
	id := strings.TrimSpace(command(t, env, "podman", "--remote", "run", "-d", ref, "sleep", "1000"))
	running := containerProcess(t, command(t, env, "podman", "--remote", "inspect", "-f", "{{.State.Pid}}", id))
	dir := p.Dir()
	timed(t, "close podman with a running container", p.Close)
	assertGone(t, dir)
	assertStopped(t, running)
}

func TestContainerd(t *testing.T) {
	h := newHarness(t)
	ref := busyboxRegistry(t, h)
	var c *harness.Containerd
	timed(t, "start containerd", func() (err error) {
		c, err = h.StartContainerd(context.Background())
		harness.Require(t, err)
		return nil
	})
	ctr := []string{"--address", c.Address, "--namespace", c.Namespace}
	if out := command(t, nil, "ctr", append(ctr, "version")...); !strings.Contains(out, "Server:") {
		t.Errorf("ctr version: %q", out)
	}
	command(t, nil, "ctr", append(ctr, "images", "pull", "--plain-http", ref)...)
	if out := command(t, nil, "ctr", append(ctr, "run", "--rm", ref, "once", "echo", "hello")...); out != "hello\n" {
		t.Errorf("ctr run: %q", out)
	}
	command(t, nil, "ctr", append(ctr, "run", "-d", ref, "left", "sleep", "1000")...)
	running := containerProcess(t, taskPid(t, command(t, nil, "ctr", append(ctr, "tasks", "ls")...), "left"))
	dir := c.Dir()
	timed(t, "close containerd with a running container", c.Close)
	assertGone(t, dir)
	assertStopped(t, running)
}

// taskPid is the PID column of task's row in `ctr tasks ls` (TASK PID
// STATUS).
func taskPid(t *testing.T, table, task string) string {
	t.Helper()
	for _, line := range strings.Split(table, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == task {
			return f[1]
		}
	}
	t.Fatalf("no task %q in ctr tasks ls:\n%s", task, table)
	return ""
}
