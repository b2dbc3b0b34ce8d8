package core

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"
)

func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("registry said no"), 1},
		{Usagef("bad flag"), 2},
		{fmt.Errorf("wrapped: %w", Usagef("bad")), 2},
		{fmt.Errorf("x: %w", ErrUnsupported), 2},
		{&InterruptedError{Signal: syscall.SIGINT}, 130},
		{&InterruptedError{Signal: syscall.SIGTERM}, 143},
	} {
		if got := ExitCode(tc.err); got != tc.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestInterruptedNamesTheSignal(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(&signalCause{sig: syscall.SIGTERM})
	err := Interrupted(ctx, context.Canceled)
	if ExitCode(err) != ExitTerminated || err.Error() != "interrupted by SIGTERM" {
		t.Fatalf("got %v (exit %d)", err, ExitCode(err))
	}
	if err := Interrupted(context.Background(), errors.New("x")); err.Error() != "x" {
		t.Fatalf("an error without a signal changed: %v", err)
	}
}

func TestSignalsCancelOnTheFirst(t *testing.T) {
	ctx, _, stop := WithSignals(context.Background())
	defer stop()
	syscall.Kill(syscall.Getpid(), syscall.SIGINT)
	<-ctx.Done()
	if err := Interrupted(ctx, ctx.Err()); ExitCode(err) != ExitInterrupted {
		t.Fatalf("SIGINT: %v", err)
	}
}

func TestSignalsForwardedDoNotCancel(t *testing.T) {
	ctx, sigs, stop := WithSignals(context.Background())
	defer stop()
	fwd := sigs.Forward()
	syscall.Kill(syscall.Getpid(), syscall.SIGTERM)
	if s := <-fwd; s != syscall.SIGTERM {
		t.Fatalf("forwarded %v", s)
	}
	syscall.Kill(syscall.Getpid(), syscall.SIGINT)
	if s := <-fwd; s != syscall.SIGINT {
		t.Fatalf("forwarded %v", s)
	}
	if ctx.Err() != nil {
		t.Fatal("a forwarded signal cancelled the context")
	}
}

func TestOneLine(t *testing.T) {
	for in, want := range map[string]string{
		"plain":     "plain",
		"a\nb":      "a; b",
		"  a   b  ": "a b",
		// podman's multi-error list
		"1 error occurred:\n\t* getting repository tags: invalid status code from registry 404 (Not Found)\n\n": "getting repository tags: invalid status code from registry 404 (Not Found)",
		"2 errors occurred:\n\t* one\n\t* two\n": "one; two",
		// a line that introduces the next: yaml's, nerdctl's
		"yaml: unmarshal errors:\n  line 3: field x not found": "yaml: unmarshal errors: line 3: field x not found",
		"1 errors:\nno such container: \"x\"":                  `1 errors: no such container: "x"`,
	} {
		if got := OneLine(in); got != want {
			t.Errorf("OneLine(%q) = %q, want %q", in, got, want)
		}
	}
}
