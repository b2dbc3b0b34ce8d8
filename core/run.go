package core

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"time"
)

// RunRequest asks a backend to run a command from an image in a new
// container, with the user's standard streams connected to it. One flag
// set serves every run backend: a backend refuses what it cannot honour
// (a UsageError naming the flag), it never ignores it.
type RunRequest struct {
	// Image is the fully qualified reference, as users and engines write it.
	Image      string
	Repository string
	Reference  string // tag or digest
	Endpoints  []Endpoint
	Platform   Platform

	// Entrypoint replaces the image's when set (--entrypoint; an empty
	// slice clears it). Args replace the image's Cmd when not empty.
	Entrypoint []string
	Args       []string
	Env        []string // K=V, added to the image's
	Workdir    string
	User       string // uid[:gid] or names
	Hostname   string
	ReadOnly   bool
	Mounts     []Mount
	// Network is the network mode ("none", "host"…); empty means the
	// backend's own default.
	Network string
	// Interactive keeps stdin open and connected (-i); TTY allocates a
	// terminal (-t) of Size.
	Interactive bool
	TTY         bool
	Size        TerminalSize
	// Keep leaves the container (and a runtime backend's bundle) behind.
	Keep bool

	// The user's streams, inherited by a plugin. Stdin is nil without -i.
	Stdin, Stdout, Stderr *os.File

	// Invocation labels what this command creates (ocix.invocation=…), so
	// that a fresh instance of a plugin that died can remove it.
	Invocation string

	// For backends that need a root filesystem from core (Info.NeedsRootfs):
	// the exported tree, the image config, and a private directory.
	Rootfs      string
	ImageConfig json.RawMessage
	ScratchDir  string

	// Control carries, while the container runs, the signals to forward
	// and the terminal's new sizes. Closed when the job ends.
	Control <-chan RunControl
	// Events receives pull progress and warnings; nil drops them.
	Events func(ExportEvent)
}

// Mount is a bind mount: -v HOST:CONTAINER[:ro].
type Mount struct {
	Source, Target string
	ReadOnly       bool
}

// TerminalSize is a terminal's rows and columns.
type TerminalSize struct{ Rows, Cols uint16 }

// RunControl is one instruction for a running container: a signal to
// deliver ("SIGINT", "SIGTERM", "SIGKILL"), or a new terminal size.
type RunControl struct {
	Signal string
	Resize *TerminalSize
}

// RunResult is how a container ended.
type RunResult struct {
	ExitCode int
}

// Runner runs containers.
type Runner interface {
	Run(ctx context.Context, req RunRequest) (RunResult, error)
}

// Cleaner removes what an invocation of ocix left behind (containers
// carrying its label) after the plugin serving it died.
type Cleaner interface {
	Cleanup(ctx context.Context, invocation string) error
}

// InvocationLabel is the label every container ocix creates carries.
const InvocationLabel = "ocix.invocation"

// Errors a run backend reports when the container's command cannot run,
// with docker's exit codes (126, 127). Wrap them: the message says what.
var (
	ErrCommandNotFound     = errors.New("command not found")
	ErrCommandNotInvocable = errors.New("command cannot be invoked")
)

// ExitError ends ocix with a code whose reason was already shown: a
// container's own exit code, or compare's verdict. ocix prints nothing more.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return "container exited with " + strconv.Itoa(e.Code) }

// EngineError is a run that failed before or around the container's own
// work (pull, create, the engine's API): docker's exit code 125.
type EngineError struct{ Err error }

func (e *EngineError) Error() string { return e.Err.Error() }
func (e *EngineError) Unwrap() error { return e.Err }

// DefaultStopTimeout is how long a forwarded Ctrl-C gets before the
// container is killed, as `docker stop` waits.
const DefaultStopTimeout = 10 * time.Second
