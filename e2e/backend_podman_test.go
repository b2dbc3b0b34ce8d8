//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/e2e/front"
	"github.com/ocix/ocix/e2e/harness"
)

// The podman backend, against a podman API service of the harness's own
// (containers.conf with runc, netns none and ulimits within this
// machine's hard limits; registries on 127.0.0.1 insecure).
var podmanBackend = &backend{
	name:  "podman",
	jobs:  []string{"tags", "export", "run"},
	start: startPodman,
	// What podman's export adds, as the baseline records it against the
	// podman CLI: nothing (4.3 adds nothing to a created, never started
	// container and keeps every xattr). Its flattening is the storage
	// driver's, without crane's hard-link quirk.
	known:      func(bool) []string { return engineAdditions["podman"] },
	containers: podmanContainers,
}

func init() { register(podmanBackend) }

func startPodman(w *world) ([]string, error) {
	if err := buildPodmanPlugin(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	p, err := w.h.StartPodman(ctx) // stopped by the harness's Close
	if err != nil {
		return nil, err
	}
	return p.Env(), nil
}

var (
	podmanPluginOnce sync.Once
	podmanPluginErr  error
)

// buildPodmanPlugin builds ocix-plugin-podman beside the ocix under test.
// It is a module of its own, with build tags: the Makefile's target is
// the one place that says how to build it.
func buildPodmanPlugin() error {
	podmanPluginOnce.Do(func() {
		root, err := filepath.Abs("..")
		if err != nil {
			podmanPluginErr = err
			return
		}
		if _, err := exec.LookPath("make"); err != nil {
			podmanPluginErr = &harness.MissingError{What: "make not found", Fix: "install make"}
			return
		}
		cmd := exec.Command("make", "-s", "-C", root, "plugin-podman", "BIN="+binDir)
		if out, err := cmd.CombinedOutput(); err != nil {
			podmanPluginErr = fmt.Errorf("make plugin-podman: %v\n%s", err, out)
		}
	})
	return podmanPluginErr
}

// podmanContainers lists the containers with ocix's label, as the podman
// CLI sees them through the service.
func podmanContainers(t *testing.T, env []string) []string {
	t.Helper()
	return podmanPS(t, env, "label="+core.InvocationLabel)
}

func podmanPS(t *testing.T, env []string, filter string) []string {
	t.Helper()
	cmd := exec.Command("podman", "--remote", "ps", "-aq", "--filter", filter)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("podman ps: %v: %s", err, out)
	}
	return lines(string(out))
}

// With no service at the socket, every command fails within 2 s with one
// line naming the socket and how to start the service, and `ocix
// backends` shows podman unavailable with that reason.
func TestPodmanServiceNotRunning(t *testing.T) {
	w := need(t)
	harness.Require(t, buildPodmanPlugin())
	ref := w.v3.Host + "/library/busybox:" + busyboxTag
	s := newSandbox(t)
	checkNoDaemon(t, s, noDaemon{
		backend: "podman",
		point:   func(s *sandbox, socket string) { s.set("CONTAINER_HOST=unix://" + socket) },
		missing: "no such socket", stale: "connection refused",
		says: func(socket, cause string) []string {
			return []string{socket, cause, "podman system service --time=0 unix://" + socket}
		},
		// Core reports a backend that cannot work before any engine is
		// involved: exit 1, for run too.
		exit: 1,
		commands: [][]string{
			{"tags", w.v3.Host + "/" + manyRepo},
			{"export", "-q", ref, filepath.Join(s.dir, "rootfs")},
			{"run", "--network", "none", ref, "--", "true"},
		},
	})
}

// A service whose containers.conf leaves podman's own ulimits (nofile
// 1048576, above the service's hard limit of 4096, which a runtime
// without CAP_SYS_RESOURCE cannot raise to, on any host): the run fails
// with one line naming the limit and the setting to change, and leaves no
// container.
func TestPodmanRunFailsForRlimits(t *testing.T) {
	need(t)
	harness.Require(t, buildPodmanPlugin())
	ref := runnable(t)
	svc := startBarePodman(t)
	s := newSandbox(t)
	s.set("CONTAINER_HOST=unix://" + svc.socket)
	r := s.ocix(t, "--backend", "podman", "run", "--network", "none", ref, "--", "true")
	t.Log(strings.TrimSpace(r.stderr))
	if r.code != core.ExitEngine {
		t.Errorf("exit %d, want %d", r.code, core.ExitEngine)
	}
	oneLineNaming(t, "run", r, "RLIMIT_", "default_ulimits", "containers.conf")
	if left := podmanPS(t, svc.env, "label="+core.InvocationLabel); len(left) != 0 {
		t.Errorf("containers left behind: %v", left)
	}
}

// barePodman is a podman service started by a test, with a store of its
// own, configured as podman is out of the box here but for runc (crun
// cannot run on this machine's hybrid cgroups) — so without the ulimits
// the harness's service has — and with a hard limit of open files it
// cannot raise.
type barePodman struct {
	socket string
	env    []string
}

func startBarePodman(t *testing.T) *barePodman {
	t.Helper()
	bin, err := exec.LookPath("podman")
	if err != nil {
		harness.Require(t, &harness.MissingError{What: "podman not found", Fix: "install podman"})
	}
	// /tmp, not $TMPDIR: unix socket paths are short.
	dir, err := os.MkdirTemp("/tmp", "ocix-podman-bare-")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"containers.conf": fmt.Sprintf("[containers]\nnetns = \"none\"\n\n[engine]\nruntime = \"runc\"\ntmp_dir = %q\n\n[network]\nnetwork_config_dir = %q\n",
			dir+"/tmp", dir+"/networks"),
		// vfs: no overlay mounts to undo when the test ends.
		"storage.conf":    fmt.Sprintf("[storage]\ndriver = \"vfs\"\ngraphroot = %q\nrunroot = %q\n", dir+"/graph", dir+"/run"),
		"registries.conf": "unqualified-search-registries = []\n",
		"auth.json":       `{"auths":{}}`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{
		"CONTAINERS_CONF=" + dir + "/containers.conf",
		"CONTAINERS_STORAGE_CONF=" + dir + "/storage.conf",
		"CONTAINERS_REGISTRIES_CONF=" + dir + "/registries.conf",
		"REGISTRY_AUTH_FILE=" + dir + "/auth.json",
	}
	socket := dir + "/podman.sock"
	// The service and what it starts (conmon, runc) get a hard limit of
	// open files below podman's own default (1048576) and no
	// CAP_SYS_RESOURCE to raise it: a run without ulimits of its own
	// fails on every host, as it does on this one whatever its limits.
	var tools []string
	for _, tool := range []string{"setpriv", "prlimit"} {
		path, err := exec.LookPath(tool)
		if err != nil {
			harness.Require(t, &harness.MissingError{What: tool + " not found", Fix: "install util-linux"})
		}
		tools = append(tools, path)
	}
	cmd := exec.Command(tools[0], "--bounding-set", "-sys_resource", tools[1], "--nofile=4096:4096", "--",
		bin, "system", "service", "--time=0", "unix://"+socket)
	cmd.Env = append(os.Environ(), env...)
	logFile, err := os.Create(dir + "/service.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	svc := &barePodman{socket: socket, env: append(env, "CONTAINER_HOST=unix://"+socket)}
	t.Cleanup(func() {
		rm := exec.Command("podman", "--remote", "rm", "-af")
		rm.Env = append(os.Environ(), svc.env...)
		rm.Run()
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		logFile.Close()
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing the service's directory: %v", err)
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		ping := exec.Command("podman", "--remote", "version")
		ping.Env = append(os.Environ(), svc.env...)
		if ping.Run() == nil {
			return svc
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(dir + "/service.log")
			t.Fatalf("the podman service did not answer within 30 s:\n%s", log)
		}
	}
}

// Exports that fail and that succeed leave no container (an interrupted
// one is TestInterrupt's). On a service of its own: its store must not
// hold the bulk layer before the suite's corrupt-blob case runs (podman
// would not fetch it again).
func TestPodmanExportLeavesNoContainer(t *testing.T) {
	w, imgs := rulesImages(t)
	harness.Require(t, buildPodmanPlugin())
	svc := startBarePodman(t)
	s := newSandbox(t)
	s.set("CONTAINER_HOST=unix://" + svc.socket)
	leftovers := func() []string { return podmanPS(t, svc.env, "label="+core.InvocationLabel) }
	f := listenFront(t, w, corruptBlob(imgs.bulkLayer.String(), bulkSize/2))
	if r := s.ocix(t, "--backend", "podman", "export", "-q", f.Addr+"/"+imgs.bulkRepo+":latest", filepath.Join(s.dir, "bad")); r.code != 1 {
		t.Fatalf("export of a corrupt blob: %s", r)
	}
	if r := s.ocix(t, "--backend", "podman", "export", "-q", imgs.bulk, filepath.Join(s.dir, "rootfs")); r.code != 0 {
		t.Fatalf("export: %s", r)
	}
	if left := leftovers(); len(left) != 0 {
		t.Fatalf("containers left behind: %v", left)
	}
}

// How podman's tag listing compares with the api backend's on the
// 2,001-tag repository: straight from distribution v3 (one response) and
// through a public-registry-like front (tokens, pages of 50 with Link, a
// 429 on the first tag list): the same tags in the same order. Without a
// limit podman stops at 25 tags, which the podman CLI shows.
func TestPodmanTagsComparedWithAPI(t *testing.T) {
	w := need(t)
	env := podmanBackend.environment(t)
	for _, via := range []string{"v3", "front"} {
		listed := map[string][]string{}
		for _, name := range []string{"api", "podman"} {
			host := w.v3.Host
			var f *front.Server
			if via == "front" {
				var err error
				if f, err = front.Listen("127.0.0.1:0", front.Options{Upstream: w.v3.Host}); err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				host = f.Addr
			}
			s := newSandbox(t)
			s.set(env...)
			start := time.Now()
			r := s.ocix(t, "--backend", name, "tags", host+"/"+manyRepo)
			took := time.Since(start)
			if r.code != 0 {
				t.Errorf("%s via %s: %s", name, via, r)
				continue
			}
			listed[name] = lines(r.stdout)
			t.Logf("%s via %s: %d tags in %v", name, via, len(listed[name]), took.Round(time.Millisecond))
			if got := sorted(r.stdout); !slices.Equal(got, w.manyTags) {
				t.Errorf("%s via %s: %d tags, want %d", name, via, len(got), len(w.manyTags))
			}
		}
		// Both in the registry's order, every page after the last.
		if !slices.Equal(listed["api"], listed["podman"]) {
			t.Errorf("via %s: api and podman list the tags in different orders", via)
		}
	}
	cli := exec.Command("podman", "--remote", "search", "--list-tags", "--tls-verify=false", w.v3.Host+"/"+manyRepo)
	cli.Env = append(os.Environ(), env...)
	out, err := cli.CombinedOutput()
	if err != nil {
		t.Fatalf("podman search: %v: %s", err, out)
	}
	// A table (4.3 ignores --format with --list-tags): NAME TAG, then a
	// row per tag.
	n := len(lines(string(out))) - 1
	t.Logf("podman search --list-tags without --limit: %d tags", n)
	if n != 25 {
		t.Errorf("podman search --list-tags without --limit listed %d tags; podman 4.3 stops at 25 (has that changed?)\n%s", n, out)
	}
}
