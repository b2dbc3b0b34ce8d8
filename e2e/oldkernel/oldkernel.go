// Package oldkernel runs a command as on a Linux kernel of 4.14, for
// tests: a seccomp filter answers the system calls such kernels lack with
// ENOSYS, as they would, in the command and every process it starts. The
// kernel itself keeps them: only the command's tree sees them vanish.
package oldkernel

import (
	"fmt"
	"os/exec"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Refused are the system calls the filter answers with ENOSYS: every one
// newer than Linux 4.14 that ocix's code path was seen to make (strace -f
// of `ocix --backend api export`, host and plugin: Go's runtime, os and
// os/exec, and glibc, which the binaries link), each of which its caller
// must do without, and close_range and faccessat2, which Go's library
// uses in other paths. Numbers are this architecture's.
var Refused = []struct {
	Name  string
	Nr    uint32
	Since string // the kernel that added it
}{
	{"rseq", unix.SYS_RSEQ, "4.18"},                          // glibc registers every thread
	{"pidfd_send_signal", unix.SYS_PIDFD_SEND_SIGNAL, "5.1"}, // os.Process.Signal with a pidfd
	{"pidfd_open", unix.SYS_PIDFD_OPEN, "5.3"},               // os.StartProcess's pidfd check
	{"clone3", unix.SYS_CLONE3, "5.3"},                       // glibc's pthread_create
	{"openat2", unix.SYS_OPENAT2, "5.6"},                     // plugins/internal/inroot
	{"faccessat2", unix.SYS_FACCESSAT2, "5.8"},               // syscall.Faccessat with flags, exec.LookPath
	{"close_range", unix.SYS_CLOSE_RANGE, "5.9"},
}

// auditArch is this architecture's AUDIT_ARCH value, which the filter
// checks first: a system call of another ABI (x32, 32-bit compat) has
// other numbers and is let through untouched.
var auditArch = map[string]uint32{
	"amd64": unix.AUDIT_ARCH_X86_64,
	"arm64": unix.AUDIT_ARCH_AARCH64,
}

// Start starts cmd with the filter in place for it and its descendants.
// The filter is installed on a locked OS thread that forks the command
// and then ends with its goroutine, so the calling process is unaffected.
func Start(cmd *exec.Cmd) error {
	prog, err := filter()
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread carrying the filter exits with this
		// goroutine instead of going back to the scheduler.
		runtime.LockOSThread()
		if err := install(prog); err != nil {
			errc <- err
			return
		}
		errc <- cmd.Start()
	}()
	return <-errc
}

// Run is Start, then cmd.Wait.
func Run(cmd *exec.Cmd) error {
	if err := Start(cmd); err != nil {
		return err
	}
	return cmd.Wait()
}

// filter is the BPF program: refused numbers return ENOSYS, anything else
// is allowed.
func filter() ([]unix.SockFilter, error) {
	arch, ok := auditArch[runtime.GOARCH]
	if !ok {
		return nil, fmt.Errorf("oldkernel: no seccomp filter for %s", runtime.GOARCH)
	}
	const (
		offNr   = 0 // struct seccomp_data: int nr; __u32 arch; ...
		offArch = 4
		ldAbs   = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq     = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		ret     = unix.BPF_RET | unix.BPF_K
	)
	n := len(Refused)
	// 0: load arch; 1: other arch -> allow; 2: load nr; 3..3+n-1: refused
	// -> errno; then allow, errno.
	prog := []unix.SockFilter{
		{Code: ldAbs, K: offArch},
		{Code: jeq, K: arch, Jt: 0, Jf: uint8(n + 1)},
		{Code: ldAbs, K: offNr},
	}
	for i, sc := range Refused {
		prog = append(prog, unix.SockFilter{Code: jeq, K: sc.Nr, Jt: uint8(n - i), Jf: 0})
	}
	prog = append(prog,
		unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ALLOW},
		unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)},
	)
	return prog, nil
}

// install sets no_new_privs (required to install a filter without
// CAP_SYS_ADMIN, and harmless for tests) and the filter, on the calling
// thread only.
func install(prog []unix.SockFilter) error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("oldkernel: PR_SET_NO_NEW_PRIVS: %w", err)
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if err := unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(&fprog)), 0, 0); err != nil {
		return fmt.Errorf("oldkernel: PR_SET_SECCOMP: %w", err)
	}
	return nil
}
