package harness

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// killUnder kills every process that belongs to dir, and what they
// started: a process whose command line names a path in dir (a
// containerd shim's socket, conmon's bundle) and its descendants (the
// container). Shims and conmon leave the daemon's process group and
// outlive it by design; only processes of our components can match.
func killUnder(dir string) error {
	children := map[int][]int{}
	var pids []int
	for _, pid := range procPIDs() {
		if ppid, ok := parent(pid); ok {
			children[ppid] = append(children[ppid], pid)
		}
		if namesPathIn(pid, dir) {
			pids = append(pids, pid)
		}
	}
	for i := 0; i < len(pids); i++ { // pids grows as descendants are found
		pids = append(pids, children[pids[i]]...)
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	deadline := time.Now().Add(reapTimeout)
	for _, pid := range pids {
		for alive(pid) {
			if time.Now().After(deadline) {
				return fmt.Errorf("process %d of %s survived SIGKILL", pid, dir)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nil
}

func procPIDs() []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	self := os.Getpid()
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid != self {
			pids = append(pids, pid)
		}
	}
	return pids
}

func namesPathIn(pid int, dir string) bool {
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return bytes.Contains(cmdline, []byte(dir+"/"))
}

// stat returns the fields of /proc/PID/stat after the command name,
// which is in parentheses and may itself contain ") ": field 3, the
// state, comes first.
func stat(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

func parent(pid int) (int, bool) {
	f := stat(pid)
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}

// alive says whether pid still runs; a zombie waiting for init to reap
// it does not (init may never reap it: not every sandbox's pid 1 does).
func alive(pid int) bool {
	f := stat(pid)
	return len(f) > 0 && f[0] != "Z"
}
