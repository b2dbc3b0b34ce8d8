// Package container holds what every run backend does the same way: the
// label on what it creates, following core's controls (signals, terminal
// sizes), telling "command not found" from other failures, and refusing
// what it cannot honour.
package container

import (
	"context"
	"crypto/rand"
	"strings"

	"github.com/ocix/ocix/core"
)

// Labels are the labels of every container ocix creates: core asks a
// fresh plugin to remove them by this label if the one running them dies.
func Labels(req core.RunRequest) map[string]string {
	return map[string]string{core.InvocationLabel: req.Invocation}
}

// ExportLabels are the labels of a container an export creates and never
// starts (the engines export a container, not an image): the plugin
// removes it on every path, and core's cleanup after a dead plugin finds
// it by this invocation. A request without one (an older host) gets a
// fresh one, so every container ocix makes is still found by the key.
func ExportLabels(req core.ExportRequest) map[string]string {
	inv := req.Invocation
	if inv == "" {
		inv = "export-" + rand.Text()
	}
	return map[string]string{core.InvocationLabel: inv}
}

// Follow applies req's controls to a running container until the channel
// closes or ctx ends: signal delivers a signal by name ("SIGINT",
// "SIGKILL"), resize sets the terminal size. Errors are not fatal: the
// container may already be gone.
func Follow(ctx context.Context, control <-chan core.RunControl, signal func(name string) error, resize func(core.TerminalSize) error) {
	for {
		select {
		case c, ok := <-control:
			if !ok {
				return
			}
			switch {
			case c.Signal != "" && signal != nil:
				signal(c.Signal)
			case c.Resize != nil && resize != nil:
				resize(*c.Resize)
			}
		case <-ctx.Done():
			return
		}
	}
}

// CommandError tells why a container's command could not start, from an
// engine's or runtime's message, marking it with core's sentinel so that
// ocix exits 127 (not found) or 126 (not invocable) as docker does. Other
// errors are returned as they are.
func CommandError(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "executable file not found"),
		strings.Contains(msg, "no such file or directory") && strings.Contains(msg, "exec"):
		return core.Mark(err, core.ErrCommandNotFound)
	case strings.Contains(msg, "permission denied") && strings.Contains(msg, "exec"),
		strings.Contains(msg, "is a directory") && strings.Contains(msg, "exec"):
		return core.Mark(err, core.ErrCommandNotInvocable)
	}
	return err
}

// Refuse is the error for a flag a backend cannot honour: never ignored.
func Refuse(backend, flag, why string) error {
	return core.Usagef("the %s backend cannot honour %s: %s", backend, flag, why)
}

// ExitFromSignal is a shell's exit code for a process killed by a signal.
func ExitFromSignal(signal int) int { return 128 + signal }
