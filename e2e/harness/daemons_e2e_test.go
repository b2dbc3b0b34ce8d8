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
// Close must stop that container too and remove every trace.

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
	command(t, env, "docker", "run", "-d", "--network", "none", ref, "sleep", "1000")
	dir := d.Dir()
	timed(t, "close dockerd with a running container", d.Close)
	assertGone(t, dir)
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
	command(t, env, "podman", "--remote", "run", "-d", ref, "sleep", "1000")
	dir := p.Dir()
	timed(t, "close podman with a running container", p.Close)
	assertGone(t, dir)
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
	dir := c.Dir()
	timed(t, "close containerd with a running container", c.Close)
	assertGone(t, dir)
}
