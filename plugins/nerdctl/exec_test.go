package nerdctl

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// fakeNerdctl is a tool whose binary is a shell script: it sees nerdctl's
// arguments in "$@" (global flags first).
func fakeNerdctl(t *testing.T, script string) *tool {
	t.Helper()
	path := filepath.Join(t.TempDir(), "nerdctl")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return &tool{path: path, global: []string{"--address", "/run/x.sock", "--namespace", "ns"}, log: hclog.NewNullLogger()}
}

func TestRunErrorKeepsTheCommandAndNerdctlsLastWord(t *testing.T) {
	for _, tc := range []struct {
		name, script string
		args         []string
		want         string
	}{
		{
			name:   "fatal log line",
			script: `echo 'time="2026-11-26T22:39:32Z" level=warning msg="a warning first"' >&2; echo 'time="2026-11-26T22:39:32Z" level=fatal msg="no match for platform in manifest: not found"' >&2; exit 1`,
			args:   []string{"pull", "--platform", "linux/s390x", "127.0.0.1:5000/x:1"},
			want:   "nerdctl pull --platform linux/s390x 127.0.0.1:5000/x:1: no match for platform in manifest: not found",
		},
		{
			name:   "a message of several lines, and quoting",
			script: `printf '%s\n' 'time="2026-11-26T22:42:55Z" level=fatal msg="1 errors:\nno such container: \"x\""' >&2; exit 1`,
			args:   []string{"run", "img", "sh", "-c", "echo $HOME"},
			want:   `nerdctl run img sh -c "echo $HOME": 1 errors: no such container: "x"`,
		},
		{
			name:   "an error line, then other output",
			script: `echo 'time="2026-11-26T22:42:55Z" level=error msg="the cause"' >&2; echo 'time="2026-11-26T22:42:55Z" level=info msg="later"' >&2; exit 1`,
			args:   []string{"rm", "x"},
			want:   "nerdctl rm x: the cause",
		},
		{
			name:   "plain text",
			script: `echo "Error: unknown flag: --bogus" >&2; exit 1`,
			args:   []string{"ps", "--bogus"},
			want:   "nerdctl ps --bogus: Error: unknown flag: --bogus",
		},
		{
			name:   "silence",
			script: `exit 3`,
			args:   []string{"ps"},
			want:   "nerdctl ps: exit status 3",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := fakeNerdctl(t, tc.script).command(context.Background(), tc.args...).Run()
			var re *RunError
			if !errors.As(err, &re) {
				t.Fatalf("want a *RunError, got %T %v", err, err)
			}
			if err.Error() != tc.want {
				t.Errorf("error\n %s\nwant\n %s", err, tc.want)
			}
			if !slices.Equal(re.Command, append([]string{"nerdctl"}, tc.args...)) {
				t.Errorf("command %q", re.Command)
			}
		})
	}
}

func TestCommandPassesTheGlobalFlagsFirst(t *testing.T) {
	out, err := fakeNerdctl(t, `echo "$@"`).command(context.Background(), "ps", "-a").Output()
	if err != nil || string(out) != "--address /run/x.sock --namespace ns ps -a\n" {
		t.Fatalf("%q %v", out, err)
	}
}

func TestCancelledCommandReportsTheCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	err := fakeNerdctl(t, `exec sleep 10`).command(ctx, "pull", "x").Run()
	if !errors.Is(err, context.Canceled) || time.Since(start) > 5*time.Second {
		t.Fatalf("got %v after %v", err, time.Since(start))
	}
}

func TestExitCode(t *testing.T) {
	err := fakeNerdctl(t, `exit 42`).command(context.Background(), "run", "x").Run()
	var re *RunError
	if !errors.As(err, &re) || re.ExitCode() != 42 {
		t.Fatalf("got %v", err)
	}
	if (&RunError{Err: errors.New("not started")}).ExitCode() != -1 {
		t.Error("a command that did not exit has no exit code")
	}
}

func TestParseLogLine(t *testing.T) {
	for _, tc := range []struct {
		line       string
		ok         bool
		level, msg string
		fields     []string
	}{
		{`time="2026-11-26T22:40:03Z" level=fatal msg="failed to create shim task: exec: \"/no/such\": stat /no/such: no such file or directory: unknown"`,
			true, "fatal", `failed to create shim task: exec: "/no/such": stat /no/such: no such file or directory: unknown`, nil},
		{`time="2026-11-26T22:39:24Z" level=warning msg="failed to inspect manifest" error="content digest sha256:0e: not found" id=img:1`,
			true, "warning", "failed to inspect manifest", []string{`error="content digest sha256:0e: not found"`, `id="img:1"`}},
		{`time="2026-11-26T22:39:09Z" level=info msg=bare`, true, "info", "bare", nil},
		{`hello from the container`, false, "", "", nil},
		{`level=fatal msg="no time first"`, false, "", "", nil},
		{`time="x" level=fatal msg="unterminated`, false, "", "", nil},
		{`time="x" level=fatal`, false, "", "", nil},
	} {
		l, ok := parseLogLine(tc.line)
		if ok != tc.ok || l.level != tc.level || l.msg != tc.msg || !slices.Equal(l.fields, tc.fields) {
			t.Errorf("%s:\n got %v %+v", tc.line, ok, l)
		}
	}
}

func TestCommandLineQuotes(t *testing.T) {
	got := commandLine([]string{"nerdctl", "run", "-e", "A=two words", "", `it's`, "plain"})
	if want := `nerdctl run -e "A=two words" "" "it's" plain`; got != want {
		t.Errorf("got %s", got)
	}
	if !strings.Contains(commandLine([]string{"a\nb"}), `"a\nb"`) {
		t.Error("a newline must not break the one line")
	}
}
