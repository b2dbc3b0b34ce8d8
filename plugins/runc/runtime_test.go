package runc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/container"
)

// runc 1.1.5's log of a run whose command does not exist, as --log-format
// json writes it.
const notFoundLog = `{"level":"warning","msg":"some warning","time":"2026-11-26T22:40:28Z"}
{"level":"error","msg":"runc run failed: unable to start container process: exec: \"/no/such/command\": stat /no/such/command: no such file or directory","time":"2026-11-26T22:40:28Z"}
`

func TestRuncsFailureComesFromItsLog(t *testing.T) {
	log := filepath.Join(t.TempDir(), "runc.log")
	os.WriteFile(log, []byte(notFoundLog), 0o644)
	rt := runtime{logFile: log, log: hclog.NewNullLogger()}
	err := container.CommandError(rt.failure("run", errors.New("exit status 1")))
	want := `runc run: unable to start container process: exec: "/no/such/command": stat /no/such/command: no such file or directory`
	if err.Error() != want || !errors.Is(err, core.ErrCommandNotFound) {
		t.Fatalf("got %q (not found: %v), want %q", err, errors.Is(err, core.ErrCommandNotFound), want)
	}
	rt.logFile = filepath.Join(t.TempDir(), "none.log")
	if err := rt.failure("delete", errors.New("exit status 1")); err.Error() != "runc delete: exit status 1" {
		t.Fatalf("without a log: %q", err)
	}
}

// What reaches the container's stderr before runc returns is held: the
// container's output if it started, runc's error (dropped) if not.
func TestErrRelayHoldsUntilTheContainerStarted(t *testing.T) {
	for _, started := range []bool{true, false} {
		out, err := os.CreateTemp(t.TempDir(), "stderr")
		if err != nil {
			t.Fatal(err)
		}
		e, err := newErrRelay(out)
		if err != nil {
			t.Fatal(err)
		}
		w, _ := os.OpenFile("/proc/self/fd/"+strconv.Itoa(int(e.w.Fd())), os.O_WRONLY, 0)
		w.WriteString("early\n")
		time.Sleep(50 * time.Millisecond)
		if b, _ := os.ReadFile(out.Name()); len(b) != 0 {
			t.Fatalf("passed before the start: %q", b)
		}
		e.started(started)
		w.WriteString("late\n")
		w.Close()
		e.finish(time.Second)
		b, _ := os.ReadFile(out.Name())
		want := "early\nlate\n"
		if !started {
			want = ""
		}
		if string(b) != want {
			t.Errorf("started %v: the user saw %q, want %q", started, b, want)
		}
	}
}

func TestDescribeSaysWhyRuncIsUnavailable(t *testing.T) {
	b := New(hclog.NewNullLogger())
	if err := b.Configure(context.Background(), []byte(`{"binary": "no-such-runtime-binary"}`)); err != nil {
		t.Fatal(err)
	}
	info, _ := b.Describe(context.Background())
	if info.Available || !strings.Contains(info.Reason, "no-such-runtime-binary not found") || !info.NeedsRootfs {
		t.Fatalf("%+v", info)
	}
	if err := b.Configure(context.Background(), []byte(`{"root": "relative"}`)); err == nil {
		t.Fatal("a relative runc.root was accepted")
	}
}
