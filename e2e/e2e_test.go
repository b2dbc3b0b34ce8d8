//go:build e2e

// Package e2e runs the built ocix binaries against real registries and
// daemons that the harness starts on this machine. `make e2e` runs it as
// root, with every component installed by .ci/run.
//
// Its files, by concern:
//   - harness: e2e_test.go (TestMain, the shared world, sandboxes, running
//     ocix), live_test.go (an ocix process watched live and stopped),
//     backends_test.go and backend_NAME_test.go (each backend, its daemon
//     and its own cases), baseline.go (an engine's CLI as a baseline);
//   - fixtures: fixtures_test.go (images pushed, registry fronts and their
//     faults), trees_test.go (exported trees checked);
//   - leak checks: leaks_test.go (what ocix must not leave: DEST
//     temporaries, processes, plugins, sockets, containers, mounts);
//   - one conformance table per job: tags_test.go, export_test.go,
//     run_test.go, with baseline_test.go (the engines' own exports),
//     compare_test.go and nodaemon_test.go;
//   - reliability: interrupt_test.go (the one interruption table),
//     crash_test.go, faults_test.go, concurrency_test.go, judged and
//     counted by outcomes_test.go; lifecycle_test.go (plugin lifecycle).
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ocix/ocix/e2e/harness"
	"github.com/ocix/ocix/e2e/images"
)

// The built binaries and the components every test shares.
var (
	binDir     string // bin/ocix and its plugins, built by TestMain
	testkitBin string // the misbehaving test plugin
	env        *world
	setupErr   error
)

// world is what TestMain starts once.
type world struct {
	h *harness.Harness
	// v3 paginates when asked (n), and answers in one response otherwise.
	v3 *harness.Registry
	// v2 is Debian's docker-registry 2.8, which never paginates.
	v2 *harness.Registry
	// basic requires HTTP Basic credentials (htpasswd).
	basic *harness.Registry
	// manyTags are the tags of v3's "team/many" repository.
	manyTags []string
}

const (
	manyRepo     = "team/many"
	manyCount    = 2000
	basicUser    = "alice"
	basicPass    = "s3cret-pa55"
	busyboxTag   = "1.36.1"
	setupTimeout = 2 * time.Minute
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ocix-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = filepath.Join(dir, "bin")
	testkitBin = filepath.Join(dir, "testkit", "ocix-plugin-testkit")
	if err := build(binDir, testkitBin); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	env, setupErr = start()
	code := m.Run()
	if env != nil {
		env.h.Close()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// build compiles ocix, its plugins and the test plugin from this checkout.
func build(bin, testkit string) error {
	for _, args := range [][]string{
		{"build", "-o", bin + "/", "github.com/ocix/ocix/cmd/..."},
		{"build", "-o", testkit, "github.com/ocix/ocix/e2e/testkit"},
	} {
		if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

func start() (*world, error) {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	h, err := harness.New()
	if err != nil {
		return nil, err
	}
	w := &world{h: h}
	if w.v3, err = h.StartRegistry(ctx, harness.RegistryOptions{Version: harness.RegistryV3}); err != nil {
		return w, err
	}
	if w.v2, err = h.StartRegistry(ctx, harness.RegistryOptions{Version: harness.RegistryV2}); err != nil {
		return w, err
	}
	if w.basic, err = h.StartRegistry(ctx, harness.RegistryOptions{Version: harness.RegistryV2, Users: map[string]string{basicUser: basicPass}}); err != nil {
		return w, err
	}
	img, err := images.Busybox()
	if err != nil {
		return w, err
	}
	pushes := []images.Repository{
		{Host: w.v3.Host, Name: manyRepo},
		{Host: w.v3.Host, Name: "library/busybox"},
		{Host: w.v2.Host, Name: "library/busybox"},
		{Host: w.basic.Host, Name: "private/app", Username: basicUser, Password: basicPass},
	}
	for _, r := range pushes {
		if err := images.Push(ctx, r, busyboxTag, img); err != nil {
			return w, err
		}
	}
	w.manyTags = images.TagNames(manyCount)
	if err := images.AddTags(ctx, pushes[0], busyboxTag, w.manyTags); err != nil {
		return w, err
	}
	w.manyTags = append(w.manyTags, busyboxTag)
	slices.Sort(w.manyTags)
	return w, nil
}

// need returns the shared components, or stops the test when they could
// not be started (skipped with one line if one is not installed, failed
// under CI=true).
func need(t *testing.T) *world {
	t.Helper()
	harness.Require(t, setupErr)
	return env
}

// result is what one ocix command did.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", r.code, clip(r.stdout), r.stderr)
}

func clip(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "…"
	}
	return s
}

// sandbox is a private home for ocix commands: no user config, no
// credentials, its own TMPDIR (so plugin sockets can be checked).
type sandbox struct {
	dir string
	env []string
}

func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	dir := t.TempDir()
	s := &sandbox{dir: dir}
	for _, d := range []string{"home", "config", "tmp", "docker", "run"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	s.env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(dir, "home"),
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"XDG_RUNTIME_DIR=" + filepath.Join(dir, "run"),
		"DOCKER_CONFIG=" + filepath.Join(dir, "docker"),
		"TMPDIR=" + filepath.Join(dir, "tmp"),
	}
	return s
}

// set adds or replaces environment variables: "KEY=value".
func (s *sandbox) set(kvs ...string) {
	for _, kv := range kvs {
		key, _, _ := strings.Cut(kv, "=")
		s.env = slices.DeleteFunc(s.env, func(e string) bool { return strings.HasPrefix(e, key+"=") })
		s.env = append(s.env, kv)
	}
}

func (s *sandbox) write(t *testing.T, rel, body string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(s.dir, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	return path
}

// command prepares bin/ocix args in the sandbox.
func (s *sandbox) command(ctx context.Context, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "ocix"), args...)
	cmd.Env = s.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return cmd, &stdout, &stderr
}

// ocix runs bin/ocix args in the sandbox and waits for it (at most a minute).
func (s *sandbox) ocix(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd, stdout, stderr := s.command(ctx, args...)
	var exit *exec.ExitError
	if err := cmd.Run(); err != nil && !errors.As(err, &exit) {
		t.Fatalf("ocix %v: %v", args, err)
	}
	return result{exitCode(cmd), stdout.String(), stderr.String()}
}

// lines splits output into its non-empty lines.
func lines(s string) []string {
	return slices.DeleteFunc(strings.Split(s, "\n"), func(l string) bool { return l == "" })
}

// socketDirs lists the plugin socket directories left in the sandbox.
func (s *sandbox) socketDirs() []string {
	found, _ := filepath.Glob(filepath.Join(s.dir, "tmp", "ocix-*", "*"))
	return found
}

// cacheDir is the sandbox's ocix cache ($HOME/.cache/ocix).
func (s *sandbox) cacheDir() string { return filepath.Join(s.dir, "home", ".cache", "ocix") }

// runDirs lists the run directories of the sandbox's cache (a runtime
// backend's bundle and writable layer): none may outlive its run.
func (s *sandbox) runDirs() []string {
	found, _ := filepath.Glob(filepath.Join(s.cacheDir(), "runs", "*"))
	return found
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// exitCode is a finished command's exit code, 128+N when killed by
// signal N, as a shell reports it.
func exitCode(cmd *exec.Cmd) int {
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return cmd.ProcessState.ExitCode()
}
