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
	"syscall"
	"testing"
	"time"
)

// testkitIn puts the test plugin into dir as ocix-plugin-NAME, running in
// mode (see e2e/testkit).
func testkitIn(t *testing.T, dir, name, mode string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ocix-plugin-"+name)
	script := fmt.Sprintf("#!/bin/sh\nOCIX_TESTKIT_MODE=%s exec %s\n", mode, testkitBin)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBadInputIsOneLineWithExitTwo(t *testing.T) {
	s := newSandbox(t)
	plugins := filepath.Join(s.dir, "plugins")
	testkitIn(t, plugins, "kit", "notags")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--backend", "nope", "tags", "busybox"}, `unknown backend "nope": no ocix-plugin-nope in ` + binDir + ` (ocix's directory), $PATH; backends found: api, crane`},
		{[]string{"tags", "team/UPPER"}, `invalid image reference "team/UPPER": repository name must be lowercase`},
		{[]string{"tags", "busybox:latest"}, "give the repository without a tag or digest"},
		{[]string{"--plugin-dir", plugins, "--backend", "kit", "tags", "busybox"}, `backend "kit" cannot list tags; backends that can: api, crane`},
		{[]string{"tags"}, "tags: missing REPOSITORY argument"},
		{[]string{"tags", "--sort", "size", "busybox"}, `invalid --sort "size"`},
		{[]string{"--nonsense", "tags"}, "unknown flag: --nonsense"},
	} {
		r := s.ocix(t, tc.args...)
		if r.code != 2 || len(lines(r.stderr)) != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("ocix %v: want exit 2 and one line containing %q\n%s", tc.args, tc.want, r)
		}
	}
}

func TestBadConfigIsOneLine(t *testing.T) {
	s := newSandbox(t)
	s.write(t, "config/ocix/config.yaml", "api:\n  retrys: 3\n", 0o644)
	r := s.ocix(t, "tags", "127.0.0.1:1/x")
	want := "config api.retrys: unknown key (api knows: max-pages, retries, request-timeout)"
	if r.code != 2 || len(lines(r.stderr)) != 1 || !strings.Contains(r.stderr, want) {
		t.Fatalf("want exit 2 and %q\n%s", want, r)
	}
	s.write(t, "config/ocix/config.yaml", "api:\n  retries: many\n", 0o644)
	if r := s.ocix(t, "tags", "127.0.0.1:1/x"); r.code != 2 || !strings.Contains(r.stderr, "config api.retries: want int, got string") {
		t.Fatalf("wrong type: %s", r)
	}
}

func TestWrongProtocolPluginIsSkippedWithAWarning(t *testing.T) {
	w := need(t)
	s := newSandbox(t)
	plugins := filepath.Join(s.dir, "plugins")
	bad := testkitIn(t, plugins, "api", "protocol")
	r := s.ocix(t, "--plugin-dir", plugins, "tags", w.v2.Host+"/library/busybox")
	want := "ocix: warning: skipping plugin " + bad + ": it speaks plugin protocol 99, this ocix speaks 1"
	if r.code != 0 || r.stdout != busyboxTag+"\n" || strings.TrimSpace(r.stderr) != want {
		t.Fatalf("want the real api plugin used after %q\n%s", want, r)
	}
}

func TestNonExecutablePluginIsSkippedWithAWarning(t *testing.T) {
	w := need(t)
	s := newSandbox(t)
	plain := s.write(t, "plugins/ocix-plugin-api", "not a program", 0o644)
	r := s.ocix(t, "--plugin-dir", filepath.Dir(plain), "tags", w.v2.Host+"/library/busybox")
	if r.code != 0 || !strings.Contains(r.stderr, "skipping plugin "+plain+": not an executable file") {
		t.Fatalf("%s", r)
	}
}

func TestPluginCrashIsOneLineNamingIt(t *testing.T) {
	s := newSandbox(t)
	plugins := filepath.Join(s.dir, "plugins")
	for mode, want := range map[string]string{
		"panic": `ocix: plugin "kit" crashed: panic: testkit was asked to panic`,
		"exit":  `ocix: plugin "kit" exited unexpectedly (exit status 3)`,
	} {
		testkitIn(t, plugins, "kit", mode)
		r := s.ocix(t, "--plugin-dir", plugins, "--backend", "kit", "tags", "busybox")
		if r.code != 1 || strings.TrimSpace(r.stderr) != want {
			t.Errorf("%s: want exit 1 and %q\n%s", mode, want, r)
		}
		if dirs := s.socketDirs(); len(dirs) != 0 {
			t.Errorf("%s: socket directories left: %v", mode, dirs)
		}
	}
}

// pluginPid starts ocix on a hanging plugin and returns the running command
// and the plugin's pid once the plugin is serving.
func startHanging(t *testing.T, s *sandbox) (*exec.Cmd, int, func() result) {
	t.Helper()
	plugins := filepath.Join(s.dir, "plugins")
	testkitIn(t, plugins, "kit", "hang")
	pidFile := filepath.Join(s.dir, "plugin.pid")
	s.set("OCIX_TESTKIT_PIDFILE=" + pidFile)
	cmd, stdout, stderr := s.command(context.Background(), "--plugin-dir", plugins, "--backend", "kit", "tags", "busybox")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	var pid int
	deadline := time.Now().Add(10 * time.Second)
	for pid == 0 {
		if b, err := os.ReadFile(pidFile); err == nil && len(b) > 0 {
			pid, _ = strconv.Atoi(string(b))
		} else if time.Now().After(deadline) {
			t.Fatal("the plugin did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The pid is written before the handshake: give the RPC time to start.
	time.Sleep(200 * time.Millisecond)
	wait := func() result {
		err := cmd.Wait()
		code := cmd.ProcessState.ExitCode()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
		if err != nil && code == 0 {
			t.Fatal(err)
		}
		return result{code, stdout.String(), stderr.String()}
	}
	return cmd, pid, wait
}

func TestInterruptStopsThePluginAndLeavesNoSocket(t *testing.T) {
	for sig, code := range map[syscall.Signal]int{syscall.SIGINT: 130, syscall.SIGTERM: 143} {
		s := newSandbox(t)
		cmd, pid, wait := startHanging(t, s)
		start := time.Now()
		cmd.Process.Signal(sig)
		r := wait()
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("%v: ocix took %v to exit", sig, took)
		}
		if r.code != code || len(lines(r.stderr)) != 1 || !strings.Contains(r.stderr, "interrupted by") {
			t.Errorf("%v: want exit %d and one line\n%s", sig, code, r)
		}
		waitGone(t, pid, time.Second)
		if dirs := s.socketDirs(); len(dirs) != 0 {
			t.Errorf("%v: socket directories left: %v", sig, dirs)
		}
	}
}

func TestKilledHostTakesItsPluginAlong(t *testing.T) {
	s := newSandbox(t)
	cmd, pid, wait := startHanging(t, s)
	cmd.Process.Kill()
	if r := wait(); r.code != 137 {
		t.Fatalf("%s", r)
	}
	waitGone(t, pid, 2*time.Second)
	stale := s.socketDirs()
	if len(stale) != 1 {
		t.Fatalf("want the killed host's socket directory, found %v", stale)
	}
	// The next ocix sweeps it.
	s.ocix(t, "--backend", "api", "tags", "127.0.0.1:1/x")
	if dirs := s.socketDirs(); len(dirs) != 0 {
		t.Fatalf("stale socket directories not swept: %v", dirs)
	}
}

// The README's first command works as written.
func TestDemo(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "run", "./e2e/cmd/ocix-demo", "-ocix", filepath.Join(binDir, "ocix"))
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	wants := []string{
		"$ ocix --backend api tags busybox\n1.35.0\n",
		"$ ocix --backend crane tags busybox --sort semver\n1.35.0\n1.36.0\n",
		// podman's plugin lists tags too when this ocix has it.
		"backend \"runc\" cannot list tags; backends that can: api, crane",
		"\n$ echo $?\n2\n",
	}
	// The demo's run needs runc and root; under CI=true their absence
	// fails the test rather than dropping the check.
	switch err := runcMissing(); {
	case err == nil:
		wants = append(wants, "--read-only busybox\nhello from the demo image: uid 1000 on host demo\n")
	case os.Getenv("CI") == "true":
		t.Fatalf("the demo's run cannot be checked: %v", err)
	default:
		t.Logf("the demo's run is not checked: %v", err)
	}
	for _, want := range wants {
		if !strings.Contains(string(out), want) {
			t.Fatalf("demo output lacks %q:\n%s", want, out)
		}
	}
}
