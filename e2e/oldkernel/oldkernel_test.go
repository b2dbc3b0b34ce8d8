package oldkernel

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

const childEnv = "OLDKERNEL_TEST_CHILD"

// TestFilter runs this test again under the filter: there every refused
// system call must answer ENOSYS while Go still starts processes (its
// pidfd and clone3 paths fall back) and finds them on PATH (faccessat2
// falls back); here, in the parent, nothing changed.
func TestFilter(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		underFilter(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFilter$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := Run(cmd); err != nil {
		t.Fatalf("under the filter: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "--- PASS: TestFilter") {
		t.Fatalf("the child did not run TestFilter:\n%s", out.String())
	}
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC}
	fd, err := unix.Openat2(unix.AT_FDCWD, "/", &how)
	if err != nil {
		t.Fatalf("the filter leaked into the test process: openat2: %v", err)
	}
	unix.Close(fd)
}

func underFilter(t *testing.T) {
	for _, sc := range Refused {
		// Arguments that would be invalid anyway: only ENOSYS proves the
		// filter answered.
		_, _, errno := syscall.Syscall6(uintptr(sc.Nr), ^uintptr(0), 0, 0, 0, 0, 0)
		if errno != unix.ENOSYS {
			t.Errorf("%s (%d): %v, want ENOSYS", sc.Name, sc.Nr, errno)
		}
	}
	if os.Getpid() <= 0 {
		t.Error("getpid")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("LookPath under the filter: %v", err)
	}
	out, err := exec.Command(sh, "-c", "echo started").Output()
	if err != nil || string(out) != "started\n" {
		t.Fatalf("starting a process under the filter: %q, %v", out, err)
	}
}
