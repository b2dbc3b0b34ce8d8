//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ocix/ocix/core"
)

// leftAtDest adds to e what an export that failed left at DEST or
// beside it.
func leftAtDest(dest string, e *ending) {
	if _, err := os.Lstat(dest); !errors.Is(err, fs.ErrNotExist) {
		e.problem("DEST exists (%v)", err)
	}
	if found := tempsBeside(dest); len(found) > 0 {
		e.problem("temporary left beside DEST: %v", found)
	}
}

// tempsBeside lists ocix's temporary files and directories beside path:
// NAME.ocix-* (a tar being written) and .NAME.ocix-* (its own directory).
func tempsBeside(path string) []string {
	dir, base := filepath.Split(path)
	var found []string
	for _, pattern := range []string{base + ".ocix-*", "." + base + ".ocix-*"} {
		more, _ := filepath.Glob(filepath.Join(dir, pattern))
		found = append(found, more...)
	}
	return found
}

// leftBehind adds to e what ocix left that it must not have: a plugin
// alive once it has exited (and none seen under ocix at all means the job
// was not under way when it was stopped); any process it started, or with
// the sandbox's TMPDIR, alive intrSettle later; scratch space in the
// cache, a socket directory, a run directory, an engine's mount or a
// container with ocix's label intrSettle later. A container that goes
// within intrSettle is noted, not a problem; containers that stay are
// removed, so that they trouble no later test.
func leftBehind(t *testing.T, b *backend, s *sandbox, seen []procRef, e *ending) {
	t.Helper()
	time.Sleep(100 * time.Millisecond) // init reaps the plugins ocix left
	plugins := 0
	for _, r := range seen {
		if !strings.HasPrefix(r.exe, "ocix-plugin-") {
			continue
		}
		plugins++
		if r.alive() {
			e.problem("%s (pid %d) alive after ocix exited", r.exe, r.pid)
		}
	}
	if plugins == 0 {
		e.problem("no plugin under ocix when it was stopped, among %v", seen)
	}
	switch left, waited := strays(s, seen, intrSettle); {
	case len(left) > 0:
		e.problem("processes left: %v", left)
	case waited > 200*time.Millisecond:
		e.note("what ocix started gone %v after it exited", waited.Round(100*time.Millisecond))
	}
	if found, _ := filepath.Glob(filepath.Join(s.cacheDir(), "*.ocix-*")); len(found) > 0 {
		e.problem("scratch left in the cache: %v", found)
	}
	if dirs := s.socketDirs(); len(dirs) > 0 {
		e.problem("socket directories left: %v", dirs)
	}
	if dirs := s.runDirs(); len(dirs) > 0 {
		e.problem("run directories left: %v", dirs)
	}
	if b.mounts != nil {
		mounts := b.mounts(t, s)
		for deadline := time.Now().Add(intrSettle); len(mounts) > 0 && time.Now().Before(deadline); mounts = b.mounts(t, s) {
			time.Sleep(100 * time.Millisecond)
		}
		if len(mounts) > 0 {
			e.problem("mounts left: %v", mounts)
		}
	}
	if b.containers == nil {
		return
	}
	start := time.Now()
	left := labelled(t, b)
	stayed := len(left) > 0 // the first listing's own time is no container's
	for deadline := start.Add(intrSettle); len(left) > 0 && time.Now().Before(deadline); left = labelled(t, b) {
		time.Sleep(100 * time.Millisecond)
	}
	switch {
	case len(left) > 0:
		e.problem("containers left: %v", left)
		purge(t, b, left)
	case stayed:
		e.note("container gone %v after ocix exited", time.Since(start).Round(100*time.Millisecond))
	}
}

// labelled is b.leftovers: b's containers with ocix's label. nerdctl's
// ps fails when a container it listed is removed before it inspects it,
// as ocix's are right after a job; it is asked again.
func labelled(t *testing.T, b *backend) []string {
	t.Helper()
	if b.name != "nerdctl" {
		return b.leftovers(t)
	}
	e := engine{name: "nerdctl", cli: nerdctlCommand(b.environment(t))}
	for try := 1; ; try++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := e.run(ctx, "ps", "-a", "-q", "--filter", "label="+core.InvocationLabel)
		cancel()
		switch {
		case err == nil:
			return strings.Fields(out)
		case try == 3 || !strings.Contains(err.Error(), "not found"):
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// purge removes containers a run left.
func purge(t *testing.T, b *backend, ids []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	env := b.environment(t)
	var e engine
	switch b.name {
	case "docker":
		e = engine{name: "docker", cli: []string{"docker"}, env: env}
	case "podman":
		e = engine{name: "podman", cli: []string{"podman", "--remote"}, env: env}
	case "nerdctl":
		e = engine{name: "nerdctl", cli: nerdctlCommand(env)}
	case "runc":
		for _, id := range ids {
			exec.CommandContext(ctx, "runc", "--root", runcRoot, "delete", "--force", id).Run()
		}
		return
	default:
		return
	}
	if _, err := e.run(ctx, append([]string{"rm", "-f"}, ids...)...); err != nil {
		t.Logf("removing what the run left: %v", err)
	}
}

// procRef names a process across pid reuse.
type procRef struct {
	pid, ppid int
	start     string // its start time, field 22 of /proc/PID/stat
	exe       string // the base name of its executable
}

// procOf reads pid's stat.
func procOf(pid int) (procRef, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procRef{}, false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // from field 3, the state
	if len(f) < 20 {
		return procRef{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	return procRef{pid: pid, ppid: ppid, start: f[19], exe: filepath.Base(exe)}, true
}

// alive reports whether the process still runs (a zombie has exited).
func (r procRef) alive() bool {
	now, ok := procOf(r.pid)
	return ok && now.start == r.start && !gone(r.pid)
}

func (r procRef) String() string { return fmt.Sprintf("%s[%d]", r.exe, r.pid) }

// family lists pid's descendants.
func family(pid int) []procRef {
	var out []procRef
	queue := []int{pid}
	for len(queue) > 0 {
		for _, kid := range childPids(queue[0]) {
			if r, ok := procOf(kid); ok {
				out = append(out, r)
				queue = append(queue, kid)
			}
		}
		queue = queue[1:]
	}
	return out
}

// strays lists what still runs, after waiting up to within, of the
// processes seen under ocix and of those with the sandbox's TMPDIR in
// their environment (plugins, and what they start, inherit it), and how
// long it waited.
func strays(s *sandbox, seen []procRef, within time.Duration) ([]string, time.Duration) {
	mark := []byte("\x00TMPDIR=" + filepath.Join(s.dir, "tmp") + "\x00")
	start := time.Now()
	for deadline := start.Add(within); ; time.Sleep(50 * time.Millisecond) {
		var found []string
		for _, r := range seen {
			if r.alive() {
				found = append(found, r.String())
			}
		}
		procs, _ := filepath.Glob("/proc/[0-9]*")
		for _, p := range procs {
			pid, _ := strconv.Atoi(filepath.Base(p))
			env, err := os.ReadFile(filepath.Join(p, "environ"))
			if err != nil || pid == os.Getpid() || !bytes.Contains(append([]byte{0}, env...), mark) {
				continue
			}
			if r, ok := procOf(pid); ok && !gone(pid) && !slices.Contains(found, r.String()) {
				found = append(found, r.String())
			}
		}
		if len(found) == 0 || time.Now().After(deadline) {
			return found, time.Since(start)
		}
	}
}

// childPids lists the processes whose parent is pid.
func childPids(pid int) []int {
	var kids []int
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		s := string(b)
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			child, _ := strconv.Atoi(strings.Fields(s)[0])
			kids = append(kids, child)
		}
	}
	return kids
}

// noTemp checks that ocix left no temporary file or directory beside
// path (tempsBeside).
func noTemp(t *testing.T, path string) {
	t.Helper()
	if left := tempsBeside(path); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// nothingAt checks that a failed export left nothing at path or beside it.
func nothingAt(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s exists after a failed export (%v)", path, err)
	}
	noTemp(t, path)
}

// gone reports whether pid has exited (a zombie waiting for this sandbox's
// init to reap it counts as exited).
func gone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] == "Z"
}

func waitGone(t *testing.T, pid int, within time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(within); !gone(pid); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("plugin %d outlived ocix by %v", pid, within)
		}
	}
}
