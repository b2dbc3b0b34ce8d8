//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/e2e/harness"
)

// The nerdctl backend runs the export and run suites with the nerdctl CLI
// (v2.2.0, which .ci/run builds) against a private containerd.
func init() {
	register(&backend{
		name:  "nerdctl",
		jobs:  []string{"export", "run"},
		start: startNerdctl,
		// What nerdctl's own export does to the rules image, exactly as
		// TestNerdctlExportBaseline records it.
		known: func(bool) []string { return nerdctlAdditions },
		containers: func(t *testing.T, env []string) []string {
			t.Helper()
			return nerdctlContainers(t, env, "label="+core.InvocationLabel)
		},
		mounts: func(t *testing.T, s *sandbox) []string { return exportMounts(t, s.dir) },
	})
}

// nerdctlAdditions lists every way `nerdctl export` of a created, never
// started container differs from the expected tree, as "path field".
//
// It adds nothing: unlike docker, nerdctl has no init layer — /etc/hosts,
// /etc/resolv.conf and /etc/hostname live in its data root and are
// bind-mounted only when a container starts, and /dev, /proc and /sys are
// mount points runc makes then. Its tar comes from containerd's
// archive.WriteDiff, which, as docker's export, carries only the
// security.capability xattr (/xattrs/cap keeps it): the user.* xattrs
// are lost.
var nerdctlAdditions = []string{
	"/xattrs/dir xattrs",
	"/xattrs/file xattrs",
}

// startNerdctl starts a containerd of its own and returns the settings
// that point the backend at it: OCIX_NERDCTL_* as a user's config would.
// nerdctl keeps its own state (names, hosts files) in a data root beside
// containerd's, and uses cgroupfs: nothing here runs systemd.
func startNerdctl(w *world) ([]string, error) {
	bin, err := nerdctlBinary()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	c, err := w.h.StartContainerd(ctx)
	if err != nil {
		return nil, err
	}
	return []string{
		"OCIX_NERDCTL_PATH=" + bin,
		"OCIX_NERDCTL_ADDRESS=" + c.Address,
		"OCIX_NERDCTL_NAMESPACE=" + c.Namespace,
		"OCIX_NERDCTL_DATA_ROOT=" + filepath.Join(c.Dir(), "nerdctl"),
		"OCIX_NERDCTL_CGROUP_MANAGER=cgroupfs",
	}, nil
}

// nerdctlBinary finds nerdctl on $PATH, then where `go install` and
// .ci/run put it.
func nerdctlBinary() (string, error) {
	if path, err := exec.LookPath("nerdctl"); err == nil {
		return path, nil
	}
	gobin := os.Getenv("GOBIN")
	if gobin == "" {
		out, _ := exec.Command("go", "env", "GOPATH").Output()
		gobin = filepath.Join(strings.Split(strings.TrimSpace(string(out)), ":")[0], "bin")
	}
	if path, err := exec.LookPath(filepath.Join(gobin, "nerdctl")); err == nil {
		return path, nil
	}
	return "", &harness.MissingError{What: "nerdctl not found", Fix: "run .ci/run install (it builds nerdctl v2.2.0)"}
}

// nerdctlCommand is the nerdctl command line the settings env stands for.
func nerdctlCommand(env []string) []string {
	get := func(key string) string {
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, key+"="); ok {
				return v
			}
		}
		return ""
	}
	return []string{get("OCIX_NERDCTL_PATH"), "--address", get("OCIX_NERDCTL_ADDRESS"), "--namespace", get("OCIX_NERDCTL_NAMESPACE"),
		"--data-root", get("OCIX_NERDCTL_DATA_ROOT"), "--cgroup-manager", get("OCIX_NERDCTL_CGROUP_MANAGER")}
}

// nerdctlContainers lists the containers, running or not, that filter
// selects.
func nerdctlContainers(t *testing.T, env []string, filter string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// nerdctl ps lists, then inspects each container: one removed in
	// between fails it with "not found". Ask again.
	for try := 1; ; try++ {
		out, err := engine{name: "nerdctl", cli: nerdctlCommand(env)}.run(ctx, "ps", "-a", "-q", "--filter", filter)
		if err == nil {
			return strings.Fields(out)
		}
		if try == 5 || !strings.Contains(err.Error(), "not found") {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The baseline: nerdctl by hand (pull, create, export, rm) exports the
// rules image as a correct export does, apart from nerdctlAdditions —
// which are nerdctl's, not the backend's.
func TestNerdctlExportBaseline(t *testing.T) {
	_, imgs := rulesImages(t)
	env := backendNamed(t, "nerdctl").environment(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	checkBaseline(ctx, t, engine{name: "nerdctl", cli: nerdctlCommand(env)}, imgs.single, nerdctlAdditions)
}

// containerd not there: every command fails within two seconds with one
// line naming the socket and saying how to start the daemon, and `ocix
// backends` shows the backend unavailable with that reason.
func TestNerdctlWithoutContainerd(t *testing.T) {
	bin, err := nerdctlBinary()
	harness.Require(t, err)
	s := newSandbox(t)
	s.set("OCIX_NERDCTL_PATH=" + bin)
	checkNoDaemon(t, s, noDaemon{
		backend: "nerdctl",
		point:   func(s *sandbox, socket string) { s.set("OCIX_NERDCTL_ADDRESS=" + socket) },
		missing: "connect: no such file or directory", stale: "connect: connection refused",
		says: func(socket, cause string) []string {
			return []string{"containerd is not reachable at " + socket + " (" + cause + "): start it (`containerd`, or `systemctl start containerd`)"}
		},
		// Core reports a backend that cannot work before any engine is
		// involved: exit 1, for run too.
		exit: 1,
		commands: [][]string{
			{"export", "127.0.0.1:1/some/image:1", filepath.Join(s.dir, "rootfs")},
			{"run", "--network", "none", "127.0.0.1:1/some/image:1", "--", "true"},
		},
	})
}

// exportMounts lists the mounts `nerdctl export` makes under $TMPDIR
// inside dir, the test's sandbox: another process's leftovers elsewhere
// on the machine are not this test's to judge.
func exportMounts(t *testing.T, dir string) []string {
	t.Helper()
	// mountinfo names real paths; TMPDIR may lead through a symlink.
	dir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], dir+"/") && strings.Contains(f[4], "/nerdctl-export-") {
			found = append(found, f[4])
		}
	}
	return found
}
