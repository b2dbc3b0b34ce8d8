//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ocix/ocix/e2e/harness"
	"github.com/ocix/ocix/e2e/images"
)

// The run conformance suite: every case runs on every backend that runs
// containers (docker, podman, nerdctl, runc). Containers use --network
// none: tests reach nothing but loopback.

var (
	runnableOnce sync.Once
	runnableRef  string
	runnableErr  error
)

// runnable pushes images.Runnable once and returns its reference.
func runnable(t *testing.T) string {
	t.Helper()
	w := need(t)
	runnableOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		img, err := images.Runnable()
		if err != nil {
			runnableErr = err
			return
		}
		repo := images.Repository{Host: w.v3.Host, Name: "run/busybox"}
		runnableErr = images.Push(ctx, repo, "1", img)
		runnableRef = repo.Ref("1")
	})
	if runnableErr != nil {
		t.Fatal(runnableErr)
	}
	return runnableRef
}

// runner runs the cases on one backend.
type runner struct {
	b   *backend
	ref string
}

// run runs `ocix --backend B run --network none FLAGS IMAGE -- CMD…` and
// checks that nothing is left behind.
func (r *runner) run(t *testing.T, s *sandbox, flags []string, cmd ...string) result {
	t.Helper()
	args := append([]string{"--backend", r.b.name, "run", "--network", "none"}, flags...)
	args = append(args, r.ref)
	if len(cmd) > 0 {
		args = append(append(args, "--"), cmd...)
	}
	res := s.ocix(t, args...)
	r.noLeftovers(t, s)
	return res
}

// noLeftovers checks that no container with ocix's label, no plugin
// socket directory and no run directory of ocix's cache (a runtime
// backend's bundle and writable layer) is left.
func (r *runner) noLeftovers(t *testing.T, s *sandbox) {
	t.Helper()
	if left := r.b.leftovers(t); len(left) != 0 {
		t.Errorf("containers left behind: %v", left)
	}
	if dirs := s.socketDirs(); len(dirs) != 0 {
		t.Errorf("socket directories left behind: %v", dirs)
	}
	if dirs := s.runDirs(); len(dirs) != 0 {
		t.Errorf("run directories left behind: %v", dirs)
	}
}

// runCases are the run conformance cases; an interrupted run is
// TestInterrupt's.
var runCases = []struct {
	name string
	run  func(t *testing.T, r *runner)
}{
	{"config", runHonoursTheImageConfig},
	{"default-cmd", runDefaultCommand},
	{"flags", runFlags},
	{"exit-code", runExitCode},
	{"not-found", runCommandNotFound},
	{"stdin", runStdin},
	{"hostname", runHostname},
	{"read-only", runReadOnly},
	{"volume", runVolume},
	{"entrypoint", runEntrypoint},
	{"tty", runTerminal},
}

func TestRun(t *testing.T) {
	for _, b := range backendsFor("run") {
		r := &runner{b: b}
		for _, tc := range runCases {
			t.Run(b.name+"/"+tc.name, func(t *testing.T) {
				r.ref = runnable(t)
				tc.run(t, r)
			})
		}
	}
}

func runHonoursTheImageConfig(t *testing.T, r *runner) {
	res := r.run(t, r.b.sandbox(t), nil, "sh", "-c", `echo "$GREETING"; pwd; id -u; exit 7`)
	want := fmt.Sprintf("hello from the image\n%s\n%d\n", images.RunnableConfig.WorkingDir, images.UID)
	if res.code != 7 || res.stdout != want {
		t.Fatalf("want exit 7 and %q\n%s", want, res)
	}
}

func runDefaultCommand(t *testing.T, r *runner) {
	res := r.run(t, r.b.sandbox(t), nil)
	want := fmt.Sprintf("default command ran as %d in %s\n", images.UID, images.RunnableConfig.WorkingDir)
	if res.code != 0 || res.stdout != want {
		t.Fatalf("want %q\n%s", want, res)
	}
}

func runFlags(t *testing.T, r *runner) {
	res := r.run(t, r.b.sandbox(t), []string{"-e", "GREETING=from the flag", "-e", "EXTRA=1", "-w", "/tmp", "-u", "0"},
		"sh", "-c", `echo "$GREETING $EXTRA"; pwd; id -u`)
	if want := "from the flag 1\n/tmp\n0\n"; res.code != 0 || res.stdout != want {
		t.Fatalf("want %q\n%s", want, res)
	}
}

func runExitCode(t *testing.T, r *runner) {
	for _, code := range []int{0, 1, 42, 255} {
		res := r.run(t, r.b.sandbox(t), nil, "sh", "-c", "exit "+strconv.Itoa(code))
		if res.code != code || res.stderr != "" {
			t.Errorf("exit %d: %s", code, res)
		}
	}
}

func runCommandNotFound(t *testing.T, r *runner) {
	res := r.run(t, r.b.sandbox(t), nil, "/no/such/command")
	if res.code != 127 || len(lines(res.stderr)) != 1 || !strings.HasPrefix(res.stderr, "ocix: ") {
		t.Fatalf("want exit 127 and one line\n%s", res)
	}
}

func runStdin(t *testing.T, r *runner) {
	s := r.b.sandbox(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd, stdout, stderr := s.command(ctx, "--backend", r.b.name, "run", "--network", "none", "-i", r.ref, "--", "sh", "-c", "tr a-z A-Z; echo done")
	cmd.Stdin = strings.NewReader("piped into the container\n")
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\nstdout: %s\nstderr: %s", err, stdout, stderr)
	}
	if want := "PIPED INTO THE CONTAINER\ndone\n"; stdout.String() != want {
		t.Fatalf("stdout %q, want %q (stderr %s)", stdout, want, stderr)
	}
	r.noLeftovers(t, s)
}

func runHostname(t *testing.T, r *runner) {
	res := r.run(t, r.b.sandbox(t), []string{"--hostname", "ocix-test-host"}, "hostname")
	if res.code != 0 || res.stdout != "ocix-test-host\n" {
		t.Fatalf("%s", res)
	}
}

func runReadOnly(t *testing.T, r *runner) {
	res := r.run(t, r.b.sandbox(t), []string{"--read-only", "-u", "0"}, "touch", "/x")
	if res.code == 0 || !strings.Contains(res.stderr, "Read-only file system") {
		t.Fatalf("touch /x succeeded on a read-only root\n%s", res)
	}
	if res := r.run(t, r.b.sandbox(t), []string{"-u", "0"}, "touch", "/x"); res.code != 0 {
		t.Fatalf("touch /x failed without --read-only\n%s", res)
	}
}

func runVolume(t *testing.T, r *runner) {
	s := r.b.sandbox(t)
	dir := filepath.Join(s.dir, "vol")
	os.Mkdir(dir, 0o777)
	os.WriteFile(filepath.Join(dir, "in"), []byte("from the host\n"), 0o644)
	res := r.run(t, s, []string{"-u", "0", "-v", dir + ":/mnt/vol"}, "sh", "-c", "cat /mnt/vol/in; echo from the container > /mnt/vol/out")
	if res.code != 0 || res.stdout != "from the host\n" {
		t.Fatalf("%s", res)
	}
	if got := readFile(t, filepath.Join(dir, "out")); got != "from the container\n" {
		t.Fatalf("the host sees %q", got)
	}
	res = r.run(t, s, []string{"-u", "0", "-v", dir + ":/mnt/vol:ro"}, "touch", "/mnt/vol/x")
	if res.code == 0 {
		t.Fatalf("wrote through a :ro volume\n%s", res)
	}
}

func runEntrypoint(t *testing.T, r *runner) {
	res := r.run(t, r.b.sandbox(t), []string{"--entrypoint", "echo"}, "through", "the", "entrypoint")
	if res.code != 0 || res.stdout != "through the entrypoint\n" {
		t.Fatalf("%s", res)
	}
}

// runTerminal drives `run -it` through a real terminal (tmux): tty names a
// /dev/pts device, typed input arrives, a resize reaches the container.
func runTerminal(t *testing.T, r *runner) {
	if _, err := exec.LookPath("tmux"); err != nil {
		harness.Require(t, &harness.MissingError{What: "tmux not found", Fix: "install tmux"})
	}
	s := r.b.sandbox(t)
	session := fmt.Sprintf("ocix-%s-%d", r.b.name, time.Now().UnixNano())
	shell := fmt.Sprintf("%s --backend %s run -it --network none %s -- sh", filepath.Join(binDir, "ocix"), r.b.name, r.ref)
	tmux := func(args ...string) string {
		t.Helper()
		// A server of its own, started with the sandbox's environment.
		cmd := exec.Command("tmux", append([]string{"-L", session}, args...)...)
		cmd.Env = append(s.env, "TERM=xterm")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v: %s", args, err, out)
		}
		return string(out)
	}
	tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24", shell)
	defer exec.Command("tmux", "-L", session, "kill-server").Run()
	// -N keeps the trailing space of a prompt ("$ ").
	screen := func() string { return tmux("capture-pane", "-p", "-N", "-t", session) }
	waitFor := func(want string) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !strings.Contains(screen(), want); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the terminal never showed %q:\n%s", want, screen())
			}
		}
	}
	waitFor("$ ")
	tmux("send-keys", "-t", session, "tty; echo typed-$((6*7))", "Enter")
	waitFor("typed-42")
	if !strings.Contains(screen(), "/dev/pts/") {
		t.Fatalf("tty named no /dev/pts device:\n%s", screen())
	}
	tmux("send-keys", "-t", session, "stty size", "Enter")
	waitFor("24 80")
	tmux("resize-window", "-t", session, "-x", "100", "-y", "30")
	time.Sleep(300 * time.Millisecond)
	tmux("send-keys", "-t", session, "stty size", "Enter")
	waitFor("30 100")
	tmux("send-keys", "-t", session, "exit 3", "Enter")
	for deadline := time.Now().Add(30 * time.Second); exec.Command("tmux", "-L", session, "has-session", "-t", session).Run() == nil; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the session did not end after exit")
		}
	}
	r.noLeftovers(t, s)
}
