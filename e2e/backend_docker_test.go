//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/e2e/harness"
)

// The docker backend runs the export and run suites against a private
// dockerd: Debian 12's 20.10 here (the backend negotiates the API version
// with it), a current one in TestDockerCurrentEngine.
func init() { register(dockerBackend((*harness.Harness).StartDocker)) }

// dockerContainers lists the containers of the dockerd env reaches that
// carry ocix's label, whatever its value.
func dockerContainers(t *testing.T, env []string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := engine{name: "docker", cli: []string{"docker"}, env: env}.run(ctx, "ps", "-aq", "--filter", "label="+core.InvocationLabel)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(out)
}

// A daemon that is not there: every command fails at once with one line
// naming the socket and saying what to do, and `ocix backends` shows the
// backend unavailable with that reason.
func TestDockerWithoutDaemon(t *testing.T) {
	s := newSandbox(t)
	checkNoDaemon(t, s, noDaemon{
		backend: "docker",
		point:   func(s *sandbox, socket string) { s.set("DOCKER_HOST=unix://" + socket) },
		missing: "no such file or directory", stale: "connection refused",
		says: func(socket, cause string) []string {
			return []string{"cannot reach the docker daemon at unix://" + socket + ": connect: " + cause + " (is dockerd running? start it or set DOCKER_HOST / docker.host)"}
		},
		exit:     1,
		commands: [][]string{{"export", "127.0.0.1:1/some/image:1", filepath.Join(s.dir, "rootfs")}},
	})
}

// Ctrl-C while docker streams the container's filesystem (into a pipe
// nobody reads): exit 130 at once, and the container is removed all the
// same.
func TestDockerExportInterruptedWhileStreaming(t *testing.T) {
	b := backendNamed(t, "docker")
	w := need(t)
	s := b.sandbox(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// An image of its own: were its layer the bulk image's, the engine
	// would have it, and the suite's interrupt and corrupt cases would not
	// fetch it.
	repo, _ := pushRandom(t, w, "docker/streaming", 8<<20)
	ref := w.v3.Host + "/" + repo + ":1"
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	cmd, _, stderr := s.command(ctx, "--backend", "docker", "export", "-q", ref, "-")
	cmd.Stdout = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	defer cmd.Process.Kill()
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	// The container exists once the image is pulled; then the stream
	// fills the pipe and blocks.
	for deadline := time.Now().Add(30 * time.Second); len(b.leftovers(t)) == 0; time.Sleep(50 * time.Millisecond) {
		select {
		case <-exited:
			t.Fatalf("ocix ended before it created a container: %s", stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no container was created: %s", stderr)
		}
	}
	time.Sleep(500 * time.Millisecond)
	start := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	<-exited
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("ocix took %v to exit", took)
	}
	if code := exitCode(cmd); code != 130 || len(lines(stderr.String())) != 1 {
		t.Errorf("want exit 130 and one line; exit %d: %s", code, stderr)
	}
	if left := b.leftovers(t); len(left) != 0 {
		t.Errorf("containers left behind: %v", left)
	}
}

// Ctrl-C while the image of a run is being pulled: there is no container
// to pass it to yet, so the run stops at once with 130, leaving nothing.
func TestDockerRunInterruptedWhilePulling(t *testing.T) {
	b := backendNamed(t, "docker")
	w := need(t)
	s := b.sandbox(t)
	_, layer := pushRandom(t, w, "docker/pulling", 8<<20)
	stalled, release := make(chan struct{}), make(chan struct{})
	f := listenFront(t, w, stallBlob(layer.String(), 1<<20, stalled, release))
	t.Cleanup(func() { close(release) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd, _, stderr := s.command(ctx, "--backend", "docker", "run", "--network", "none", f.Addr+"/docker/pulling:1", "--", "true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	select {
	case <-stalled:
	case <-time.After(30 * time.Second):
		t.Fatalf("the run never fetched the layer: %s", stderr)
	}
	start := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("ocix took %v to exit", took)
	}
	if code := exitCode(cmd); code != 130 {
		t.Errorf("want exit 130; exit %d: %s", code, stderr)
	}
	if left := b.leftovers(t); len(left) != 0 {
		t.Errorf("containers left behind: %v", left)
	}
	if dirs := s.socketDirs(); len(dirs) != 0 {
		t.Errorf("socket directories left: %v", dirs)
	}
}
