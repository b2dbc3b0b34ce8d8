package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	// readyTimeout bounds a component's start: every one measured here is
	// ready in about a second.
	readyTimeout = 20 * time.Second
	// drainTimeout bounds a component's drain.
	drainTimeout = 10 * time.Second
	// stopGrace is how long a component gets to exit after SIGTERM before
	// it is killed.
	stopGrace = 10 * time.Second
	// reapTimeout bounds the wait for a killed process to be gone.
	reapTimeout = 5 * time.Second
)

// process is one running component: a child process, its directory and
// the log its stdout and stderr go to.
type process struct {
	name string // "dockerd": what errors call it
	dir  string // everything the component writes; removed on stop
	// outside and cgroup are what it makes elsewhere, named for it alone
	// and removed on stop too.
	outside []string
	cgroup  string
	log     string // dir/NAME.log
	cmd     *exec.Cmd

	// drain, when set, removes the component's containers before it is
	// stopped. It is a courtesy that lets the daemon clean up after them;
	// whatever it misses, terminate kills.
	drain func(context.Context) error

	exited  chan struct{} // closed once the process is reaped
	waitErr error         // cmd.Wait's error; read only after exited

	stopOnce sync.Once
	stopErr  error
}

// spec says how to run a component.
type spec struct {
	name  string   // "dockerd": names its log and its errors
	dir   string   // its own directory, made by Harness.newDir
	env   []string // added to the harness's own environment
	bin   string
	args  []string
	ready func(context.Context) error // nil once the component serves
	drain func(context.Context) error // see process.drain; may be nil
	// outside are directories of its own outside dir, removed with it.
	outside []string
	// cgroup is a cgroup of its own, removed with it; empty for none.
	cgroup string
}

// startProcess runs a component in its own process group.
//
// The process is started and reaped by one goroutine locked to its OS
// thread, with Pdeathsig: the kernel kills the component if that thread
// ends, and it ends only when the component has exited — or when the test
// binary dies, even by SIGKILL, so no daemon outlives it. (Pdeathsig
// follows the thread, not the process: golang/go#27505.)
func startProcess(s spec) (*process, error) {
	p := &process{name: s.name, dir: s.dir, log: s.dir + "/" + s.name + ".log", drain: s.drain, outside: s.outside, cgroup: s.cgroup, exited: make(chan struct{})}
	logf, err := os.Create(p.log)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child has its own copy

	p.cmd = exec.Command(s.bin, s.args...)
	p.cmd.Dir = s.dir
	p.cmd.Env = append(os.Environ(), s.env...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		if err := p.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start %s: %w", s.name, err)
	}
	return p, nil
}

// waitReady polls ready until it succeeds, the process exits or
// readyTimeout passes. The error then quotes the end of the log.
func (p *process) waitReady(ctx context.Context, ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := ready(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited before it was ready (%v): %s", p.name, p.waitErr, p.logTail())
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s (%v): %s", p.name, readyTimeout, err, p.logTail())
		case <-tick.C:
		}
	}
}

// logTail is the last lines of the log, on one line.
func (p *process) logTail() string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	lines = lines[max(0, len(lines)-5):]
	return "log: " + strings.Join(lines, " | ")
}

// stop ends the component and removes its directory; it is safe to call
// more than once.
func (p *process) stop() error {
	p.stopOnce.Do(func() { p.stopErr = p.terminate() })
	return p.stopErr
}

// terminate asks the process to exit, kills its process group if it will
// not, then kills what it started outside the group (containerd shims and
// conmon daemonize; containers live in their own namespaces) and removes
// its directory.
func (p *process) terminate() error {
	if p.drain != nil {
		ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
		_ = p.drain(ctx) // best effort, see drain
		cancel()
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(stopGrace):
		// The leader is not reaped yet, so its group id is still ours.
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-p.exited:
		case <-time.After(reapTimeout):
			return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.name, p.cmd.Process.Pid)
		}
	}
	errs := []error{killUnder(p.dir), removeDir(p.dir)}
	for _, dir := range p.outside {
		errs = append(errs, removeDir(dir))
	}
	if p.cgroup != "" {
		errs = append(errs, removeCgroup(p.cgroup))
	}
	return errors.Join(errs...)
}
