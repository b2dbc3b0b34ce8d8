package runc

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ocix/ocix/core"
)

// consoleWait bounds the wait for runc's pty master once runc says the
// container started: it sends it before that.
const consoleWait = 5 * time.Second

// console is where runc sends the pty master of a -t container: a unix
// socket (--console-socket), the fd passed with SCM_RIGHTS, as containerd
// and conmon receive it.
type console struct {
	dir  string
	path string
	l    *net.UnixListener
	got  chan received
}

type received struct {
	master *os.File
	err    error
}

// listenConsole listens on a socket in a private directory. It is under
// $TMPDIR, not the run's scratch directory: a socket's path has at most
// 107 bytes, and the cache directory can be deep.
func listenConsole() (*console, error) {
	dir, err := os.MkdirTemp("", "runc-console-")
	if err != nil {
		return nil, err
	}
	c := &console{dir: dir, path: filepath.Join(dir, "sock"), got: make(chan received, 1)}
	if c.l, err = net.ListenUnix("unix", &net.UnixAddr{Name: c.path, Net: "unix"}); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	go func() { c.got <- c.accept() }()
	return c, nil
}

// accept takes runc's one connection and the descriptor it carries.
func (c *console) accept() received {
	conn, err := c.l.AcceptUnix()
	if err != nil {
		return received{err: err}
	}
	defer conn.Close()
	name := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := conn.ReadMsgUnix(name, oob)
	if err != nil {
		return received{err: fmt.Errorf("console socket: %w", err)}
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return received{err: fmt.Errorf("console socket: no descriptor received (%v)", err)}
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return received{err: fmt.Errorf("console socket: no descriptor received (%v)", err)}
	}
	// Non-blocking, the master goes through Go's poller: closing it ends
	// a read under way.
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		return received{err: err}
	}
	return received{master: os.NewFile(uintptr(fds[0]), string(name[:n]))}
}

// master is the pty master runc sent.
func (c *console) master() (*os.File, error) {
	select {
	case r := <-c.got:
		return r.master, r.err
	case <-time.After(consoleWait):
		return nil, errors.New("runc started the container but sent no console")
	}
}

// close stops listening and removes the socket.
func (c *console) close() {
	c.l.Close()
	os.RemoveAll(c.dir)
}

// terminal relays a container's pty master to the user's terminal. The
// user's terminal is in raw mode already (ocix's CLI set it), so keys and
// control characters (Ctrl-C) reach the container's own line discipline,
// which is where a terminal's signals come from.
type terminal struct {
	master *os.File
	in     *os.File // the user's input, reopened: see startTerminal
	output chan struct{}
}

// startTerminal relays master to out and, with in, in to master.
func startTerminal(master, in, out *os.File) *terminal {
	t := &terminal{master: master, output: make(chan struct{})}
	go func() {
		// The copy ends with EIO once the container's side is closed.
		io.Copy(out, master)
		close(t.output)
	}()
	if in != nil {
		t.in = reopen(in)
		go io.Copy(master, t.in)
	}
	return t
}

// reopen opens the user's input anew, non-blocking, so that closing it
// ends the relay's read: the inherited descriptor shares its file
// description (and so its blocking mode) with ocix and the user's shell,
// which must not change. Where it cannot be reopened, the read goes on
// until the plugin exits.
func reopen(in *os.File) *os.File {
	f, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", in.Fd()), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return in
	}
	return f
}

// resize sets the container's terminal size; the kernel tells its
// foreground process (SIGWINCH).
func (t *terminal) resize(size core.TerminalSize) error {
	return unix.IoctlSetWinsize(int(t.master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: size.Rows, Col: size.Cols})
}

// finish waits, after the container's process ended, for its last output
// to reach the user — at most grace, in case a process outside its pid
// namespace still holds the terminal — and stops the relay.
func (t *terminal) finish(grace time.Duration) {
	select {
	case <-t.output:
	case <-time.After(grace):
	}
	if t.in != nil {
		t.in.Close()
	}
	t.master.Close()
}
