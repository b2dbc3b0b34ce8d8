package runc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
)

// runtime is the runtime's command line (runc's, or another OCI runtime's
// with the same flags) for one run: ocix's state directory, and a log of
// its own where runc writes its errors as JSON — its stderr is the
// container's too, so an error message there could not be told from the
// container's output.
type runtime struct {
	binary, root, logFile string
	log                   hclog.Logger
}

// cleanupTimeout bounds kill and delete, which run when the user is
// already waiting for the end.
const cleanupTimeout = 10 * time.Second

func (b *backend) runtime(logFile string) runtime {
	return runtime{binary: b.settings.Binary, root: b.settings.Root, logFile: logFile, log: b.log}
}

// command is `BINARY --root ROOT [--log LOG --log-format json] ARGS…`, in a
// process group of its own: a Ctrl-C at the user's terminal reaches the
// container through ocix, and never kills runc halfway through a start.
func (r runtime) command(ctx context.Context, args ...string) *exec.Cmd {
	full := []string{"--root", r.root}
	if r.logFile != "" {
		full = append(full, "--log", r.logFile, "--log-format", "json")
	}
	cmd := exec.CommandContext(ctx, r.binary, append(full, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// stdio is what the container's process gets: the user's own files
// (terminal false), or nothing but a console (terminal true).
type stdio struct {
	in, out, err *os.File
	// consoleSocket is where runc sends the pty master, with -t.
	consoleSocket string
}

// start creates and starts the container detached: `run --detach`
// returns once the container's process runs (or failed to start), and
// hands it the files in io as its stdin, stdout and stderr — runc's own.
// It returns the process's pid, which ocix then waits for as its
// subreaper.
func (r runtime) start(ctx context.Context, id, bundle, pidFile string, io stdio) (int, error) {
	args := []string{"run", "--detach", "--pid-file", pidFile, "--bundle", bundle}
	if io.consoleSocket != "" {
		args = append(args, "--console-socket", io.consoleSocket)
	}
	cmd := r.command(ctx, append(args, id)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = io.in, io.out, io.err
	r.log.Debug("runc", "args", cmd.Args)
	if err := cmd.Run(); err != nil {
		return 0, r.failure("run", err)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, fmt.Errorf("runc run: the container's pid: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("runc run: the pid file says %q", b)
	}
	return pid, nil
}

// kill sends the container's process a signal ("SIGINT"…).
func (r runtime) kill(id, signal string) error {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	return r.quiet(ctx, "kill", "kill", id, signal)
}

// delete removes the container and its state, whatever its state.
func (r runtime) delete(id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	return r.quiet(ctx, "delete", "delete", "--force", id)
}

// quiet runs a runtime command whose output is only for errors.
func (r runtime) quiet(ctx context.Context, op string, args ...string) error {
	cmd := r.command(ctx, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	r.log.Debug("runc", "args", cmd.Args)
	if err := cmd.Run(); err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return fmt.Errorf("runc %s: %s", op, msg)
		}
		return r.failure(op, err)
	}
	return nil
}

// failurePrefix is how runc begins its fatal errors: "runc run failed: ".
var failurePrefix = regexp.MustCompile(`^runc \S+ failed: `)

// failure is the runtime's own account of why op failed: the last error
// in its log, else how it exited.
func (r runtime) failure(op string, err error) error {
	if msg := lastError(r.logFile); msg != "" {
		return errors.New("runc " + op + ": " + failurePrefix.ReplaceAllString(msg, ""))
	}
	return fmt.Errorf("runc %s: %v", op, err)
}

// lastError is the message of the last error-level line of a JSON log.
func lastError(logFile string) string {
	b, err := os.ReadFile(logFile)
	if err != nil {
		return ""
	}
	var msg string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var line struct{ Level, Msg string }
		if json.Unmarshal(sc.Bytes(), &line) == nil && (line.Level == "error" || line.Level == "fatal") {
			msg = line.Msg
		}
	}
	return msg
}
