package nerdctl

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"testing"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/e2e/testenv"
)

func TestStderrRelayKeepsNerdctlsLinesOnly(t *testing.T) {
	var out bytes.Buffer
	log := &logWriter{log: hclog.NewNullLogger()}
	r := &stderrRelay{out: &out, log: log}
	for _, chunk := range []string{
		`time="2026-11-26T22:43:02Z" level=warning msg="failed to parse the containerd version \"1.6.20~ds1\": invalid semantic version"` + "\n",
		"from the container\nprompt> ",
		"answer\n",
		"time=\"not\" a log line\n",
		`time="2026-11-26T22:40:03Z" level=fatal msg="failed to create shim task"` + "\n",
	} {
		if n, err := r.Write([]byte(chunk)); n != len(chunk) || err != nil {
			t.Fatalf("write: %d %v", n, err)
		}
	}
	if want := "from the container\nprompt> answer\ntime=\"not\" a log line\n"; out.String() != want {
		t.Errorf("the user's stderr got %q, want %q", out.String(), want)
	}
	if !log.failed() || log.message() != "failed to create shim task" {
		t.Errorf("nerdctl's log: failed %v, message %q", log.failed(), log.message())
	}
}

func TestRunResult(t *testing.T) {
	exited := func(code int) error {
		err := exec.Command("sh", "-c", "exit "+string(rune('0'+code))).Run()
		return &RunError{Command: []string{"nerdctl", "run"}, Message: "m", Err: err}
	}
	notFound := &RunError{Command: []string{"nerdctl", "run"},
		Message: `failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "/no/such": stat /no/such: no such file or directory: unknown`,
		Err:     exited(1).(*RunError).Err}

	if res, err := runResult(nil, false); err != nil || res.ExitCode != 0 {
		t.Errorf("success: %v %v", res, err)
	}
	// A container that exits 1 and a nerdctl that fails both exit 1: only
	// nerdctl's fatal log line tells them apart.
	if res, err := runResult(exited(1), false); err != nil || res.ExitCode != 1 {
		t.Errorf("the container's 1: %v %v", res, err)
	}
	if res, err := runResult(exited(7), false); err != nil || res.ExitCode != 7 {
		t.Errorf("the container's 7: %v %v", res, err)
	}
	if _, err := runResult(notFound, true); !errors.Is(err, core.ErrCommandNotFound) {
		t.Errorf("command not found: %v", err)
	}
	if _, err := runResult(&RunError{Err: errors.New("signal: killed")}, false); err == nil {
		t.Error("a killed nerdctl is an error")
	}
}

// openPTY opens a pseudo-terminal pair.
func openPTY(t *testing.T) (ptmx, tty *os.File) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		testenv.Missing(t, "no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err = os.OpenFile("/dev/pts/"+itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	return ptmx, tty
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

func TestConnect(t *testing.T) {
	_, tty := openPTY(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	var usage *core.UsageError

	// -t takes the terminal on stdout; with -i, stdin must be one.
	s, err := connect(core.RunRequest{TTY: true, Stdout: tty, Stderr: pw})
	if err != nil || s.tty != tty || s.stdin != nil {
		t.Errorf("-t: %+v %v", s, err)
	}
	if _, err := connect(core.RunRequest{TTY: true, Interactive: true, Stdin: pr, Stdout: tty, Stderr: pw}); !errors.As(err, &usage) {
		t.Errorf("-it with a pipe on stdin: %v", err)
	}
	if _, err := connect(core.RunRequest{TTY: true, Stdout: pw, Stderr: tty}); !errors.As(err, &usage) {
		t.Errorf("-t with no terminal nerdctl could take: %v", err)
	}
	s, err = connect(core.RunRequest{TTY: true, Interactive: true, Stdin: tty, Stdout: pw, Stderr: pw})
	if err != nil || s.tty != tty {
		t.Errorf("-it with the terminal on stdin only: %+v %v", s, err)
	}
	// Without -t, a terminal on stdin is relayed, a pipe passed on.
	if s, err := connect(core.RunRequest{Interactive: true, Stdin: tty, Stdout: pw, Stderr: pw}); err != nil || !s.relayStdin {
		t.Errorf("-i on a terminal: %+v %v", s, err)
	}
	if s, err := connect(core.RunRequest{Interactive: true, Stdin: pr, Stdout: pw, Stderr: pw}); err != nil || s.relayStdin || s.stdin != pr {
		t.Errorf("-i on a pipe: %+v %v", s, err)
	}
}

func TestResizeSetsTheTerminalAndTellsNerdctl(t *testing.T) {
	_, tty := openPTY(t)
	// A stand-in for nerdctl that reports its SIGWINCH.
	cmd := exec.Command("sh", "-c", `trap 'echo winch; exit 0' WINCH; echo ready; while :; do sleep 0.01; done`)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	buf := make([]byte, 16)
	if n, _ := out.Read(buf); string(buf[:n]) != "ready\n" {
		t.Fatalf("stand-in: %q", buf[:n])
	}
	s := &stdio{tty: tty}
	if err := s.resize(cmd.Process, core.TerminalSize{Rows: 30, Cols: 100}); err != nil {
		t.Fatal(err)
	}
	ws, err := unix.IoctlGetWinsize(int(tty.Fd()), unix.TIOCGWINSZ)
	if err != nil || ws.Row != 30 || ws.Col != 100 {
		t.Errorf("terminal size %+v %v", ws, err)
	}
	if n, _ := out.Read(buf); string(buf[:n]) != "winch\n" {
		t.Errorf("nerdctl was not told: %q", buf[:n])
	}
	cmd.Wait()
}
