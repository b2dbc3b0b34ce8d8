package core_test

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/core/coretest"
)

func runner(fn func(ctx context.Context, req core.RunRequest) (core.RunResult, error)) (*core.Core, *coretest.Runner) {
	r := &coretest.Runner{
		Backend: coretest.Backend{Info: core.Info{Name: "fake", Available: true, Capabilities: []core.Capability{core.CapRun}}},
		RunFunc: fn,
	}
	return &core.Core{Loader: &coretest.Loader{Backends: map[string]core.Backend{"fake": r}}}, r
}

// controls collects the controls a run received until it ends.
func collect(req core.RunRequest, until func([]core.RunControl) bool) []core.RunControl {
	var got []core.RunControl
	for c := range req.Control {
		got = append(got, c)
		if until(got) {
			break
		}
	}
	return got
}

func TestFirstSignalIsForwardedThenTheContainerIsKilled(t *testing.T) {
	var got []core.RunControl
	c, _ := runner(func(_ context.Context, req core.RunRequest) (core.RunResult, error) {
		got = collect(req, func(cs []core.RunControl) bool { return cs[len(cs)-1].Signal == "SIGKILL" })
		return core.RunResult{ExitCode: 137}, nil
	})
	sigs := make(chan os.Signal, 1)
	sigs <- syscall.SIGINT
	start := time.Now()
	res, err := c.Run(context.Background(), "fake", core.RunRequest{}, core.RunSignals{Signals: sigs, StopTimeout: 100 * time.Millisecond})
	if err != nil || res.ExitCode != 137 {
		t.Fatalf("result %+v, %v", res, err)
	}
	if len(got) != 2 || got[0].Signal != "SIGINT" || got[1].Signal != "SIGKILL" {
		t.Fatalf("controls %+v", got)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("killed after %v, before the stop timeout", d)
	}
}

func TestSecondSignalKillsAtOnce(t *testing.T) {
	var got []core.RunControl
	c, _ := runner(func(_ context.Context, req core.RunRequest) (core.RunResult, error) {
		got = collect(req, func(cs []core.RunControl) bool { return len(cs) == 2 })
		return core.RunResult{ExitCode: 137}, nil
	})
	sigs := make(chan os.Signal, 2)
	sigs <- syscall.SIGTERM
	sigs <- syscall.SIGINT
	start := time.Now()
	if _, err := c.Run(context.Background(), "fake", core.RunRequest{}, core.RunSignals{Signals: sigs, StopTimeout: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Signal != "SIGTERM" || got[1].Signal != "SIGKILL" || time.Since(start) > 5*time.Second {
		t.Fatalf("controls %+v after %v", got, time.Since(start))
	}
}

func TestResizesPassThrough(t *testing.T) {
	var got []core.RunControl
	c, _ := runner(func(_ context.Context, req core.RunRequest) (core.RunResult, error) {
		got = collect(req, func(cs []core.RunControl) bool { return true })
		return core.RunResult{}, nil
	})
	sizes := make(chan core.TerminalSize, 1)
	sizes <- core.TerminalSize{Rows: 40, Cols: 100}
	c.Run(context.Background(), "fake", core.RunRequest{}, core.RunSignals{Resize: sizes})
	if len(got) != 1 || got[0].Resize == nil || *got[0].Resize != (core.TerminalSize{Rows: 40, Cols: 100}) {
		t.Fatalf("controls %+v", got)
	}
}

func TestRunErrorsMapToDockersExitCodes(t *testing.T) {
	for want, err := range map[int]error{
		125: errors.New("pull failed"),
		127: core.Mark(errors.New(`exec: "nope": executable file not found`), core.ErrCommandNotFound),
		126: core.Mark(errors.New(`exec: "/etc": permission denied`), core.ErrCommandNotInvocable),
		2:   core.Usagef("--read-only is not supported by this backend"),
	} {
		c, _ := runner(func(context.Context, core.RunRequest) (core.RunResult, error) { return core.RunResult{}, err })
		_, got := c.Run(context.Background(), "fake", core.RunRequest{}, core.RunSignals{})
		if core.ExitCode(got) != want || got.Error() != err.Error() {
			t.Errorf("%v: exit %d (%v), want %d", err, core.ExitCode(got), got, want)
		}
	}
}

func TestADeadPluginsContainersAreCleanedUp(t *testing.T) {
	var invocation string
	c, r := runner(func(_ context.Context, req core.RunRequest) (core.RunResult, error) {
		invocation = req.Invocation
		return core.RunResult{}, core.Mark(errors.New(`plugin "fake" crashed: panic: boom`), core.ErrBackendDied)
	})
	_, err := c.Run(context.Background(), "fake", core.RunRequest{}, core.RunSignals{})
	if err == nil || err.Error() != `plugin "fake" crashed: panic: boom` || core.ExitCode(err) != 125 {
		t.Fatalf("err = %v (exit %d)", err, core.ExitCode(err))
	}
	if cl := r.Cleanups(); invocation == "" || len(cl) != 1 || cl[0] != invocation {
		t.Fatalf("cleanups %v, want [%s]", cl, invocation)
	}
}

// slowRootfs prepares until its context ends.
type slowRootfs struct{}

func (s *slowRootfs) Prepare(ctx context.Context, _ *core.RunRequest) (func(), error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (s *slowRootfs) Unpack(context.Context, *core.RunRequest, string) error { return nil }

func TestASignalWhileTheRootfsIsPreparedStopsTheRun(t *testing.T) {
	c, _ := runner(func(context.Context, core.RunRequest) (core.RunResult, error) {
		t.Error("the container ran")
		return core.RunResult{}, nil
	})
	c.Loader.(*coretest.Loader).Backends["fake"].(*coretest.Runner).Info.NeedsRootfs = true
	c.Rootfs = &slowRootfs{}
	sigs := make(chan os.Signal, 1)
	sigs <- syscall.SIGINT
	_, err := c.Run(context.Background(), "fake", core.RunRequest{}, core.RunSignals{Signals: sigs})
	if core.ExitCode(err) != core.ExitInterrupted {
		t.Fatalf("err %v, want an interruption", err)
	}
}

// failingRootfs fails to prepare with err.
type failingRootfs struct{ err error }

func (f *failingRootfs) Prepare(context.Context, *core.RunRequest) (func(), error) { return nil, f.err }

func (f *failingRootfs) Unpack(context.Context, *core.RunRequest, string) error { return f.err }

// The root filesystem's export is a runtime backend's pull: its failure
// — its plugin's death included — is docker's 125, bad input stays 2.
func TestRootfsErrorsMapToDockersExitCodes(t *testing.T) {
	for want, err := range map[int]error{
		125: core.Mark(errors.New(`plugin "api" exited unexpectedly (signal: killed)`), core.ErrBackendDied),
		2:   core.Usagef("--pull never: image not in the cache"),
	} {
		c, _ := runner(func(context.Context, core.RunRequest) (core.RunResult, error) {
			t.Error("the container ran")
			return core.RunResult{}, nil
		})
		c.Loader.(*coretest.Loader).Backends["fake"].(*coretest.Runner).Info.NeedsRootfs = true
		c.Rootfs = &failingRootfs{err: err}
		_, got := c.Run(context.Background(), "fake", core.RunRequest{}, core.RunSignals{})
		if core.ExitCode(got) != want || got.Error() != err.Error() {
			t.Errorf("%v: exit %d (%v), want %d", err, core.ExitCode(got), got, want)
		}
	}
}
