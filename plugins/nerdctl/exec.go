package nerdctl

import (
	"bytes"
	"context"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/lines"
)

// A tiny exec layer, after kind's pkg/exec: every nerdctl call goes
// through tool.command, and a failed call is a *RunError that keeps the
// command line and what nerdctl said last, so an error says exactly what
// ran and why it failed.

// waitDelay bounds how long a finished or killed nerdctl may hold its
// output pipes open (through a child it left behind) before Wait gives up.
const waitDelay = 2 * time.Second

// tool is one nerdctl binary and the global flags every call takes.
type tool struct {
	path   string   // the binary, as found on $PATH
	global []string // --address, --namespace…
	log    hclog.Logger
}

// cmd is one nerdctl call.
type cmd struct {
	*exec.Cmd
	ctx    context.Context
	args   []string // after the global flags: what errors show
	stderr *logWriter
}

// command prepares `nerdctl GLOBAL-FLAGS args…`. Its stderr — nerdctl's
// own log — goes to the plugin's log and is kept for the error; stdout is
// dropped unless the caller sets it. The process gets a process group of
// its own, so that a Ctrl-C typed at the user's terminal reaches it only
// through the plugin, and dies with the plugin (Pdeathsig): callers that
// must outlive a dying plugin (removals, the export stream) clear it.
func (t *tool) command(ctx context.Context, args ...string) *cmd {
	c := exec.CommandContext(ctx, t.path, slices.Concat(t.global, args)...)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	c.WaitDelay = waitDelay
	w := &logWriter{log: t.log.With("command", args[0])}
	c.Stderr = w
	return &cmd{Cmd: c, ctx: ctx, args: args, stderr: w}
}

// Run runs the command; its error is a *RunError, or the context's error
// when the context ended it.
func (c *cmd) Run() error {
	if err := c.Start(); err != nil {
		return err
	}
	return c.Wait()
}

// Start starts the command; see Run for its error.
func (c *cmd) Start() error {
	if err := c.Cmd.Start(); err != nil {
		return c.fail(err)
	}
	return nil
}

// Wait waits for a started command; see Run for its error.
func (c *cmd) Wait() error {
	if err := c.Cmd.Wait(); err != nil {
		return c.fail(err)
	}
	return nil
}

// Output runs the command and returns its stdout.
func (c *cmd) Output() ([]byte, error) {
	var out bytes.Buffer
	c.Stdout = &out
	err := c.Run()
	return out.Bytes(), err
}

func (c *cmd) fail(err error) error {
	if ctxErr := c.ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return &RunError{Command: append([]string{"nerdctl"}, c.args...), Message: c.stderr.message(), Err: err}
}

// RunError is a nerdctl call that failed.
type RunError struct {
	// Command is the command line without the global flags, which are
	// the same for every call (`ocix config` shows them).
	Command []string
	// Message is what nerdctl said last: the message of its last error
	// log line, else its last line on stderr; empty when it said nothing.
	Message string
	// Err is how the process ended (*exec.ExitError) or failed to start.
	Err error
}

func (e *RunError) Error() string {
	why := e.Message
	if why == "" {
		why = e.Err.Error()
	}
	return commandLine(e.Command) + ": " + why
}

func (e *RunError) Unwrap() error { return e.Err }

// ExitCode is nerdctl's exit code, or -1 when it did not exit by itself.
func (e *RunError) ExitCode() int {
	if ee, ok := e.Err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

// commandLine shows args as a shell would take them back.
func commandLine(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsFunc(a, func(r rune) bool {
			return r <= ' ' || strings.ContainsRune(`"'\$`+"`", r)
		}) {
			a = strconv.Quote(a)
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}

// logWriter takes nerdctl's stderr: each of its log lines goes to the
// plugin's log, and the last error (or, failing that, the last line) is
// kept for the error message.
type logWriter struct {
	log hclog.Logger

	mu      sync.Mutex
	lines   lines.Splitter
	last    string // the last line
	lastErr string // the message of the last error or fatal log line
	fatal   bool   // nerdctl logged a fatal error: it failed, and exits 1
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lines.Feed(p, w.line)
	return len(p), nil
}

func (w *logWriter) line(s string) {
	s = strings.TrimRight(s, "\r")
	if strings.TrimSpace(s) == "" {
		return
	}
	w.last = s
	l, ok := parseLogLine(s)
	if !ok {
		w.log.Debug("nerdctl", "stderr", s)
		return
	}
	logLevel(w.log, l)
	if l.isError() {
		w.lastErr = l.msg
	}
	if l.level == "fatal" {
		w.fatal = true
	}
}

// failed reports whether nerdctl itself failed (rather than passing on a
// container's exit code).
func (w *logWriter) failed() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.fatal
}

// message is the one line an error shows of what nerdctl said.
func (w *logWriter) message() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lines.Flush(w.line)
	msg := w.lastErr
	if msg == "" {
		if l, ok := parseLogLine(w.last); ok {
			msg = l.msg
		} else {
			msg = w.last
		}
	}
	return core.OneLine(msg)
}
