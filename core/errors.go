package core

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"syscall"
)

// Exit codes, one table for every command (the README repeats it).
const (
	ExitOK          = 0   // success; compare: all backends agree
	ExitFailed      = 1   // the operation failed; compare: backends differ
	ExitUsage       = 2   // usage or bad input; compare: trouble
	ExitEngine      = 125 // run: ocix or the engine failed
	ExitNotInvoked  = 126 // run: the command cannot be invoked
	ExitNotFound    = 127 // run: the command was not found
	ExitInterrupted = 130 // SIGINT (128+2)
	ExitTerminated  = 143 // SIGTERM (128+15)
)

// ErrUnsupported is what a backend answers for a job it does not do.
var ErrUnsupported = errors.New("operation not supported by this backend")

// ErrUnknownBackend is what a Loader answers for a name it has no backend
// for, wrapped in a UsageError that says where it looked.
var ErrUnknownBackend = errors.New("unknown backend")

// UsageError marks bad input: a wrong flag, argument, name or reference.
// It ends the command with ExitUsage.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef builds a UsageError.
func Usagef(format string, a ...any) error {
	return &UsageError{Err: fmt.Errorf(format, a...)}
}

// InterruptedError says the command was stopped by a signal.
type InterruptedError struct{ Signal os.Signal }

func (e *InterruptedError) Error() string { return "interrupted by " + signalName(e.Signal) }

func signalName(s os.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// ExitCode maps an error to the process exit code of the table above.
func ExitCode(err error) int {
	var (
		usage  *UsageError
		intr   *InterruptedError
		exit   *ExitError
		engine *EngineError
	)
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &exit):
		return exit.Code
	case errors.As(err, &intr):
		if intr.Signal == syscall.SIGTERM {
			return ExitTerminated
		}
		return ExitInterrupted
	case errors.As(err, &usage), errors.Is(err, ErrUnsupported):
		return ExitUsage
	case errors.Is(err, ErrCommandNotFound):
		return ExitNotFound
	case errors.Is(err, ErrCommandNotInvocable):
		return ExitNotInvoked
	case errors.As(err, &engine):
		return ExitEngine
	}
	return ExitFailed
}

// Interrupted returns an InterruptedError when ctx was cancelled by a signal
// (see WithSignals), else err unchanged: an operation cut short by Ctrl-C
// reports the interruption, not the "context canceled" it saw.
func Interrupted(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var sig *signalCause
	if errors.As(context.Cause(ctx), &sig) {
		return &InterruptedError{Signal: sig.sig}
	}
	return err
}

// ErrBackendDied marks the error of a job whose plugin process died.
var ErrBackendDied = errors.New("backend died")

// Mark makes err also match sentinel (errors.Is) without changing its
// message, which already says what happened.
func Mark(err, sentinel error) error { return &marked{err: err, sentinel: sentinel} }

type marked struct{ err, sentinel error }

func (m *marked) Error() string   { return m.err.Error() }
func (m *marked) Unwrap() []error { return []error{m.err, m.sentinel} }

// errorListHeader is the line Go multi-error packages put above a list
// ("1 error occurred:", "2 errors occurred:").
var errorListHeader = regexp.MustCompile(`^\d+ errors? occurred:$`)

// OneLine folds a message of several lines into the one line ocix prints:
// each line's runs of white space become one space, list headers
// ("2 errors occurred:") and item markers ("* ") are dropped, and lines are
// joined by "; " — or by a space after a line that ends in ":", which
// introduces the next.
func OneLine(msg string) string {
	var b strings.Builder
	for _, l := range strings.Split(msg, "\n") {
		l = strings.Join(strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), "* ")), " ")
		if l == "" || errorListHeader.MatchString(l) {
			continue
		}
		if s := b.String(); s != "" {
			if strings.HasSuffix(s, ":") {
				b.WriteString(" ")
			} else {
				b.WriteString("; ")
			}
		}
		b.WriteString(l)
	}
	return b.String()
}
