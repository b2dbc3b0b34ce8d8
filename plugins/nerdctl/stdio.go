package nerdctl

import (
	"bytes"
	"io"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/container"
)

// How the user's streams, which the plugin inherited, reach the container:
// they are `nerdctl run`'s own, and nerdctl connects them.
//
// Without -t, nerdctl copies the container's stderr to its own, where it
// also writes its log: a relay passes the container's lines on and keeps
// nerdctl's. nerdctl runs in a process group of its own, so that a Ctrl-C
// typed at the terminal reaches the container once, through ocix (core
// forwards it, the plugin runs `nerdctl kill`), and not a second time
// through nerdctl's own signal proxy. A process outside the terminal's
// foreground group is stopped when it reads the terminal, so a terminal
// on stdin is read by the plugin, which is in that group, and piped on.
//
// With -t, the container's output comes through the terminal on stdout;
// nerdctl's stderr carries only its log. nerdctl stays in the terminal's
// foreground process group: it sets the terminal raw (which turns Ctrl-C
// into a byte for the container) and follows its size on SIGWINCH.

// stdio is nerdctl's side of the user's streams for one run.
type stdio struct {
	stdin, stdout, stderr *os.File
	// relayStdin reads a terminal on stdin in the plugin (see above).
	relayStdin bool
	// tty is the terminal nerdctl takes as its console with -t; nerdctl
	// then stays in the plugin's process group.
	tty *os.File
	// closeAfterStart are the plugin's ends of pipes given to nerdctl.
	closeAfterStart []*os.File
}

// connect decides how req's streams reach nerdctl, refusing -t when
// nerdctl would find no terminal. It changes nothing: apply does.
func connect(req core.RunRequest) (*stdio, error) {
	s := &stdio{stdout: req.Stdout, stderr: req.Stderr}
	if req.TTY {
		return s, s.terminal(req)
	}
	if req.Interactive {
		s.stdin, s.relayStdin = req.Stdin, isTerminal(req.Stdin)
	}
	return s, nil
}

// terminal wires a -t run. nerdctl looks for its console on stderr,
// stdout and stdin, in that order, and wants stdin to be a terminal when
// it is attached (-i).
func (s *stdio) terminal(req core.RunRequest) error {
	if req.Interactive {
		if !isTerminal(req.Stdin) {
			return container.Refuse("nerdctl", "-t", "with -i, stdin must be a terminal (the input device is not a TTY)")
		}
		s.stdin = req.Stdin
	}
	for _, f := range []*os.File{req.Stdout, s.stdin} {
		if isTerminal(f) {
			s.tty = f
			return nil
		}
	}
	return container.Refuse("nerdctl", "-t", "nerdctl takes the terminal from its standard streams, and neither stdout nor stdin is one")
}

// apply gives c its streams and process group. nerdctl's own log goes to
// c's log writer: all of its stderr with -t, what the relay keeps without.
func (s *stdio) apply(c *cmd) error {
	c.Stdin, c.Stdout = nil, nil // /dev/null
	if s.stdout != nil {
		c.Stdout = s.stdout
	}
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: s.tty == nil, Pdeathsig: syscall.SIGKILL}
	if s.tty != nil {
		if s.stdin != nil {
			c.Stdin = s.stdin
		}
		return nil
	}
	c.Stderr = &stderrRelay{out: s.stderr, log: c.stderr}
	switch {
	case s.stdin == nil:
	case !s.relayStdin:
		c.Stdin = s.stdin
	default:
		r, w, err := os.Pipe()
		if err != nil {
			return err
		}
		// The copy ends with the terminal's end of file (Ctrl-D), or when
		// nerdctl has gone and the next write fails; the plugin exits
		// soon after a run either way.
		go func() {
			io.Copy(w, s.stdin)
			w.Close()
		}()
		c.Stdin, s.closeAfterStart = r, []*os.File{r}
	}
	return nil
}

// started closes the plugin's copies of what nerdctl now holds.
func (s *stdio) started() {
	for _, f := range s.closeAfterStart {
		f.Close()
	}
}

// resize sets the terminal's size, which the kernel tells the terminal's
// foreground group with SIGWINCH, and tells nerdctl itself too: the size
// it gets from core is normally the terminal's already, and nerdctl
// resizes the container's terminal from its console's size on SIGWINCH.
func (s *stdio) resize(p *os.Process, size core.TerminalSize) error {
	if s.tty == nil || p == nil {
		return nil
	}
	fd := int(s.tty.Fd())
	if ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ); err != nil || ws.Row != size.Rows || ws.Col != size.Cols {
		if err := unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: size.Rows, Col: size.Cols}); err != nil {
			return err
		}
	}
	return p.Signal(syscall.SIGWINCH)
}

func isTerminal(f *os.File) bool { return f != nil && term.IsTerminal(int(f.Fd())) }

// stderrRelay passes nerdctl's stderr on to the user's: the container's
// stderr, which nerdctl copies there, except nerdctl's own log lines,
// which go to log. nerdctl writes each log line whole, in one write; a
// line the container has not finished passes at once (a prompt).
//
// A container that writes lines in logrus's text format to stderr has
// them taken for nerdctl's.
type stderrRelay struct {
	out io.Writer
	log *logWriter

	mu sync.Mutex
}

func (r *stderrRelay) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(p)
	pass := p[:0:0]
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			pass = append(pass, p...)
			break
		}
		line := p[:i+1]
		p = p[i+1:]
		if _, ok := parseLogLine(string(bytes.TrimRight(line, "\r\n"))); ok {
			r.log.Write(line)
			continue
		}
		pass = append(pass, line...)
	}
	// The user's stderr may be gone: nerdctl must still be drained.
	if len(pass) > 0 {
		r.out.Write(pass)
	}
	return n, nil
}
