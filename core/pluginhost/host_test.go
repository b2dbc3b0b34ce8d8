package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ocix/ocix/core"
)

// testkit is a real plugin binary (e2e/testkit) built once for these tests.
var testkit string

func TestMain(m *testing.M) {
	if os.Getenv("OCIX_TEST_HOST") != "" {
		helperHost()
		return
	}
	dir, err := os.MkdirTemp("", "pluginhost-test-")
	if err != nil {
		panic(err)
	}
	testkit = filepath.Join(dir, "ocix-plugin-testkit")
	out, err := exec.Command("go", "build", "-o", testkit, "github.com/ocix/ocix/e2e/testkit").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building the testkit plugin: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// pluginIn puts a plugin named name into dir: the testkit itself, or, with a
// mode, a script that runs the testkit in that mode.
func pluginIn(t *testing.T, dir, name, mode string) string {
	t.Helper()
	path := filepath.Join(dir, Prefix+name)
	script := fmt.Sprintf("#!/bin/sh\nOCIX_TESTKIT_MODE=%s exec %s\n", mode, testkit)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// newHost returns a host with its own socket area and the warnings it gave.
func newHost(t *testing.T, f Finder) (*Host, *[]string) {
	t.Helper()
	t.Setenv("TMPDIR", t.TempDir())
	var warnings []string
	f.Warn = func(m string) { warnings = append(warnings, m) }
	h := &Host{Finder: f}
	t.Cleanup(h.Close)
	return h, &warnings
}

func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses; a zombie is dead
	// and waits only for its (new) parent to reap it.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] != "Z"
}

func waitDead(t *testing.T, pid int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("plugin process %d still alive after %v", pid, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readPid(t *testing.T, file string) int {
	t.Helper()
	for range 200 {
		if b, err := os.ReadFile(file); err == nil && len(b) > 0 {
			pid, err := strconv.Atoi(string(b))
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the plugin never wrote its pid")
	return 0
}

func TestFinderLooksInOrderAndSkipsNonExecutables(t *testing.T) {
	pluginDir, self, p1, p2 := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	pluginIn(t, self, "api", "tags")
	pluginIn(t, p2, "api", "tags")
	pluginIn(t, p1, "crane", "tags")
	os.WriteFile(filepath.Join(pluginDir, Prefix+"api"), []byte("not executable"), 0o644)
	var warnings []string
	f := Finder{PluginDir: pluginDir, SelfDir: self, Path: p1 + ":" + p2, Warn: func(m string) { warnings = append(warnings, m) }}

	got := f.Candidates("api")
	want := []string{filepath.Join(self, Prefix+"api"), filepath.Join(p2, Prefix+"api")}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("candidates %v, want %v", got, want)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], filepath.Join(pluginDir, Prefix+"api")) || !strings.Contains(warnings[0], "not an executable") {
		t.Fatalf("warnings %q", warnings)
	}
	if names := f.Names(); fmt.Sprint(names) != "[api crane]" {
		t.Fatalf("names %v", names)
	}
	if w := f.Where(); w != "plugin-dir "+pluginDir+", "+self+" (ocix's directory), $PATH" {
		t.Fatalf("where %q", w)
	}
}

func TestLoadRunsThePluginAndCloseLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(t.TempDir(), "pid")
	t.Setenv("OCIX_TESTKIT_PIDFILE", pidFile)
	t.Setenv("OCIX_TESTKIT_TAGS", "5")
	h, _ := newHost(t, Finder{PluginDir: dir})
	pluginIn(t, dir, "kit", "tags")

	b, stop, err := h.Load(context.Background(), "kit", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	tags, err := b.(core.TagLister).ListTags(context.Background(), core.TagsRequest{})
	if err != nil || len(tags) != 5 {
		t.Fatalf("tags %v, %v", tags, err)
	}
	pid := readPid(t, pidFile)
	sockets := h.sockets.path
	if entries, _ := os.ReadDir(sockets); len(entries) < 2 {
		t.Fatalf("socket directory %s holds %d entries, want the lock and a socket", sockets, len(entries))
	}
	h.Close()
	waitDead(t, pid, 2*time.Second)
	if _, err := os.Stat(sockets); !os.IsNotExist(err) {
		t.Fatalf("socket directory left behind: %v", err)
	}
}

func TestWrongProtocolIsSkippedForTheNextCandidate(t *testing.T) {
	first, second := t.TempDir(), t.TempDir()
	bad := pluginIn(t, first, "kit", "protocol")
	pluginIn(t, second, "kit", "tags")
	h, warnings := newHost(t, Finder{PluginDir: first, SelfDir: second})
	b, stop, err := h.Load(context.Background(), "kit", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	wantKitTags(t, b)
	want := "skipping plugin " + bad + ": it speaks plugin protocol 99, this ocix speaks 1"
	if len(*warnings) != 1 || (*warnings)[0] != want {
		t.Fatalf("warnings %q, want %q", *warnings, want)
	}
}

func TestOnlyAWrongProtocolPluginIsAClearError(t *testing.T) {
	dir := t.TempDir()
	pluginIn(t, dir, "kit", "protocol")
	h, _ := newHost(t, Finder{PluginDir: dir})
	_, _, err := h.Load(context.Background(), "kit", nil)
	if err == nil || !strings.Contains(err.Error(), `backend "kit": no usable plugin: `) || !strings.Contains(err.Error(), "protocol 99") {
		t.Fatalf("err = %v", err)
	}
}

func TestMissingPluginSaysWhereItLooked(t *testing.T) {
	dir, self := t.TempDir(), t.TempDir()
	pluginIn(t, self, "api", "tags")
	h, _ := newHost(t, Finder{PluginDir: dir, SelfDir: self, Path: "/nonexistent"})
	_, _, err := h.Load(context.Background(), "nope", nil)
	want := fmt.Sprintf(`unknown backend "nope": no ocix-plugin-nope in plugin-dir %s, %s (ocix's directory), $PATH; backends found: api`, dir, self)
	if err == nil || err.Error() != want || core.ExitCode(err) != core.ExitUsage {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
}

func TestCrashIsOneLineNamingThePlugin(t *testing.T) {
	for mode, want := range map[string]string{
		"panic": `plugin "kit" crashed: panic: testkit was asked to panic`,
		"exit":  `plugin "kit" exited unexpectedly (exit status 3)`,
	} {
		dir := t.TempDir()
		pluginIn(t, dir, "kit", mode)
		h, _ := newHost(t, Finder{PluginDir: dir})
		b, _, err := h.Load(context.Background(), "kit", nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = b.(core.TagLister).ListTags(context.Background(), core.TagsRequest{})
		if err == nil || err.Error() != want {
			t.Errorf("%s: err = %v, want %q", mode, err, want)
		}
	}
}

func TestCloseKillsAFrozenPlugin(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(t.TempDir(), "pid")
	t.Setenv("OCIX_TESTKIT_PIDFILE", pidFile)
	pluginIn(t, dir, "kit", "hang")
	h, _ := newHost(t, Finder{PluginDir: dir})
	if _, _, err := h.Load(context.Background(), "kit", nil); err != nil {
		t.Fatal(err)
	}
	pid := readPid(t, pidFile)
	// A stopped process answers nothing, not even go-plugin's shutdown.
	syscall.Kill(pid, syscall.SIGSTOP)
	start := time.Now()
	h.Close()
	if d := time.Since(start); d > killGrace+time.Second {
		t.Fatalf("Close took %v on a frozen plugin", d)
	}
	waitDead(t, pid, time.Second)
}

// helperHost is a host process for TestPluginDiesWithItsHost: it starts the
// plugin, says so, and waits to be killed.
func helperHost() {
	h := &Host{Finder: Finder{PluginDir: os.Getenv("OCIX_TEST_HOST")}}
	if _, _, err := h.Load(context.Background(), "kit", nil); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	select {}
}

func TestPluginDiesWithItsHost(t *testing.T) {
	dir := t.TempDir()
	pluginIn(t, dir, "kit", "hang")
	pidFile := filepath.Join(t.TempDir(), "pid")
	tmp := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "OCIX_TEST_HOST="+dir, "OCIX_TESTKIT_PIDFILE="+pidFile, "TMPDIR="+tmp)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _ := out.Read(buf)
	if !strings.HasPrefix(string(buf[:n]), "ready") {
		cmd.Process.Kill()
		t.Fatalf("helper host: %q", buf[:n])
	}
	pid := readPid(t, pidFile)
	cmd.Process.Kill()
	cmd.Wait()
	waitDead(t, pid, 2*time.Second)

	// The dead host's socket directory is swept by the next host.
	base := filepath.Join(tmp, fmt.Sprintf("ocix-%d", os.Getuid()))
	left, _ := filepath.Glob(filepath.Join(base, "host-*"))
	if len(left) != 1 {
		t.Fatalf("want the killed host's socket directory left, found %v", left)
	}
	t.Setenv("TMPDIR", tmp)
	d, err := newSocketDir()
	if err != nil {
		t.Fatal(err)
	}
	defer d.remove()
	if _, err := os.Stat(left[0]); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stale socket directory %s not swept: %v", left[0], err)
	}
}

func TestSweepSparesLiveHosts(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	live, err := newSocketDir()
	if err != nil {
		t.Fatal(err)
	}
	defer live.remove()
	other, err := newSocketDir()
	if err != nil {
		t.Fatal(err)
	}
	defer other.remove()
	if _, err := os.Stat(live.path); err != nil {
		t.Fatalf("a live host's directory was swept: %v", err)
	}
}

func TestDeepTmpdirStillGivesShortSocketPaths(t *testing.T) {
	deep := filepath.Join(t.TempDir(), strings.Repeat("d", 60), strings.Repeat("e", 60))
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pluginIn(t, dir, "kit", "tags")
	h := &Host{Finder: Finder{PluginDir: dir}}
	defer h.Close()
	t.Setenv("TMPDIR", deep)
	b, stop, err := h.Load(context.Background(), "kit", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	wantKitTags(t, b)
}

// wantKitTags asserts that b, the testkit plugin in "tags" mode with its
// default count, answers with its three tags: the call went through the
// plugin, not just without an error.
func wantKitTags(t *testing.T, b core.Backend) {
	t.Helper()
	tags, err := b.(core.TagLister).ListTags(context.Background(), core.TagsRequest{})
	if want := []string{"tag-0", "tag-1", "tag-2"}; err != nil || !slices.Equal(tags, want) {
		t.Fatalf("tags %q, %v; want %q", tags, err, want)
	}
}
