//go:build e2e

package e2e

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// An ocix process a test watches live, as the interruption, crash and
// concurrency suites do: started with pipes of the test's own, stopped by
// a signal or by killing its plugin, its ending described for judging.

const (
	// intrExit bounds the exit of an interrupted tags or export after the
	// signal, and of a run after its second signal.
	intrExit = 2 * time.Second
	// intrSettle is how long what ocix started — containers, the helpers
	// its plugins start — has to go once ocix has exited.
	intrSettle = 3 * time.Second
	// intrUnderWay bounds the wait for a job to be visibly under way (a
	// pull of an image the engine lacks included).
	intrUnderWay = time.Minute
	// streamHead is how much of an export's tar stream the test reads
	// before it stops reading: the export is then streaming, blocked on
	// the full pipe.
	streamHead = 256 << 10
)

// liveOcix is an ocix command under test. Its stdout and stderr are pipes
// of the test's own, not buffers exec copies into: its exit is seen when
// ocix itself exits, and a process that still holds them after is seen
// too.
type liveOcix struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdout *os.File // the read end
	out    lockedBuffer
	outEOF chan struct{} // closed when collect has read stdout to its end
	errOut lockedBuffer
	errEOF chan struct{}
	exited chan struct{}
	at     time.Time // when it exited
}

func startOcix(t *testing.T, s *sandbox, args ...string) *liveOcix {
	t.Helper()
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(binDir, "ocix"), args...)
	cmd.Env = s.env
	cmd.Stdout, cmd.Stderr = outW, errW
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		t.Fatal(err)
	}
	p := &liveOcix{t: t, cmd: cmd, stdout: outR, errEOF: make(chan struct{}), exited: make(chan struct{})}
	go func() {
		io.Copy(&p.errOut, errR)
		errR.Close()
		close(p.errEOF)
	}()
	go func() {
		cmd.Wait()
		p.at = time.Now()
		close(p.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.exited
		outR.Close()
	})
	return p
}

// collect reads stdout into p.out until its end.
func (p *liveOcix) collect() {
	p.outEOF = make(chan struct{})
	go func() {
		io.Copy(&p.out, p.stdout)
		close(p.outEOF)
	}()
}

// stdoutAfter is what ocix wrote on stdout, read to its end within
// intrSettle of ocix's exit.
func (p *liveOcix) stdoutAfter() string {
	select {
	case <-p.outEOF:
	case <-time.After(intrSettle):
	}
	return p.out.String()
}

// underWay waits until ready is closed. If ocix exits or the wait times
// out first, it returns the ending to record, with why.
func (p *liveOcix) underWay(ready <-chan struct{}, what string) (ending, bool) {
	select {
	case <-ready:
		return ending{}, true
	case <-p.exited:
	case <-time.After(intrUnderWay):
		p.cmd.Process.Kill()
	}
	e := p.end(time.Now())
	e.problem("ocix never %s", what)
	return e, false
}

// printed waits until stdout holds want.
func (p *liveOcix) printed(want string) (ending, bool) {
	deadline := time.Now().Add(intrUnderWay)
	for !strings.Contains(p.out.String(), want) {
		select {
		case <-p.exited:
		default:
			if time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			p.cmd.Process.Kill()
		}
		e := p.end(time.Now())
		e.problem("the container never printed %q: stdout %q", want, clip(p.out.String()))
		return e, false
	}
	return ending{}, true
}

// signal sends sigs to ocix, intrExit/4 apart, and waits for it to exit.
// It returns the ending and the processes ocix had started.
func (p *liveOcix) signal(sigs ...syscall.Signal) (ending, []procRef) {
	seen := family(p.cmd.Process.Pid)
	var last time.Time
	for i, sig := range sigs {
		if i > 0 {
			select {
			case <-p.exited: // before the next signal: too early
				return p.end(last), seen
			case <-time.After(intrExit / 4):
			}
		}
		last = time.Now()
		p.cmd.Process.Signal(sig)
	}
	return p.end(last), seen
}

// killPlugin SIGKILLs ocix's plugin process for backend name and waits for
// ocix to exit.
func (p *liveOcix) killPlugin(name string) (ending, []procRef) {
	seen := family(p.cmd.Process.Pid)
	i := slices.IndexFunc(seen, func(r procRef) bool { return r.ppid == p.cmd.Process.Pid && r.exe == "ocix-plugin-"+name })
	if i < 0 {
		e := p.end(time.Now())
		e.problem("no ocix-plugin-%s under ocix among %v", name, seen)
		return e, seen
	}
	at := time.Now()
	syscall.Kill(seen[i].pid, syscall.SIGKILL)
	return p.end(at), seen
}

// end waits for ocix to exit (killing it after a minute) and describes
// its end, from since.
func (p *liveOcix) end(since time.Time) ending {
	var e ending
	select {
	case <-p.exited:
	case <-time.After(time.Minute):
		p.cmd.Process.Kill()
		<-p.exited
		e.problem("ocix did not exit within a minute: killed")
	}
	e.code = exitCode(p.cmd)
	e.took = p.at.Sub(since)
	select {
	case <-p.errEOF:
	case <-time.After(intrSettle):
		e.problem("ocix's stderr still open %v after it exited: a process it started holds it", intrSettle)
	}
	e.stderr = p.errOut.String()
	return e
}

// streamTail reads a tar stream, keeping its size and its last 1024 bytes.
type streamTail struct {
	total int64
	tail  []byte
}

func (st *streamTail) write(b []byte) {
	st.total += int64(len(b))
	st.tail = append(st.tail, b...)
	if len(st.tail) > 1024 {
		st.tail = st.tail[len(st.tail)-1024:]
	}
}

// await reads the first streamHead bytes of p's stream. When they do not
// come within intrUnderWay, it ends p with stop and says what went wrong.
func (st *streamTail) await(p *liveOcix, stop func() (ending, []procRef)) (ending, bool) {
	head := make(chan error, 1)
	go func() { head <- st.readN(p.stdout, streamHead) }()
	select {
	case err := <-head:
		if err == nil {
			return ending{}, true
		}
		e, _ := stop()
		e.problem("the stream ended after %d bytes, before it was interrupted: %v", st.total, err)
		return e, false
	case <-time.After(intrUnderWay):
		e, _ := stop()
		e.problem("the stream brought %d bytes in %v", st.total, intrUnderWay)
		return e, false
	}
}

// readN reads at least n bytes of r.
func (st *streamTail) readN(r io.Reader, n int64) error {
	buf := make([]byte, 32<<10)
	for st.total < n {
		k, err := r.Read(buf)
		st.write(buf[:k])
		if err != nil {
			return err
		}
	}
	return nil
}

// rest reads what is left of a stream whose writer has exited: its end
// must come within intrSettle (no process still holds it), and a stream
// cut short must not end as a complete tar does.
func (st *streamTail) rest(f *os.File, e *ending) {
	f.SetReadDeadline(time.Now().Add(intrSettle))
	buf := make([]byte, 256<<10)
	for {
		k, err := f.Read(buf)
		st.write(buf[:k])
		if errors.Is(err, os.ErrDeadlineExceeded) {
			e.problem("stdout still open %v after ocix exited: a process it started holds it", intrSettle)
			return
		}
		if err != nil {
			break
		}
	}
	e.note("stream cut at %d bytes", st.total)
	if len(st.tail) == 1024 && bytes.Count(st.tail, []byte{0}) == 1024 {
		e.problem("the cut stream (%d bytes) ends as a complete tar", st.total)
	}
}

// lockedBuffer is a buffer one goroutine writes and others read.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
