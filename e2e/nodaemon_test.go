//go:build e2e

package e2e

import (
	"encoding/json"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// noDaemon is a daemon backend pointed at a socket where no daemon
// answers.
type noDaemon struct {
	backend string
	// point sets the sandbox's environment to use socket.
	point func(s *sandbox, socket string)
	// missing and stale are the causes the error gives for a path where
	// nothing is and for a socket file nobody listens on.
	missing, stale string
	// says is what the one line must hold; `ocix backends` must give
	// its first as the reason the backend is unavailable.
	says func(socket, cause string) []string
	// exit is the exit code every command must end with.
	exit     int
	commands [][]string
}

// checkNoDaemon: with nothing at the backend's socket — a path where
// nothing is, and a socket file nobody listens on, what a killed daemon
// leaves — every command fails within 2 s with one line saying what to
// do, and `ocix backends` shows the backend unavailable with that reason.
func checkNoDaemon(t *testing.T, s *sandbox, d noDaemon) {
	t.Helper()
	missing := filepath.Join(s.dir, "run", "missing.sock")
	stale := filepath.Join(s.dir, "run", "stale.sock")
	l, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	for _, tc := range []struct{ socket, cause string }{
		{missing, d.missing},
		{stale, d.stale},
	} {
		d.point(s, tc.socket)
		says := d.says(tc.socket, tc.cause)
		for _, args := range d.commands {
			start := time.Now()
			r := s.ocix(t, append([]string{"--backend", d.backend}, args...)...)
			took := time.Since(start)
			if r.code != d.exit {
				t.Errorf("%s: want exit %d\n%s", args[0], d.exit, r)
			}
			oneLineNaming(t, args[0], r, says...)
			if took > 2*time.Second {
				t.Errorf("%s took %v to fail", args[0], took)
			}
			t.Logf("%s (%v, exit %d): %s", args[0], took.Round(time.Millisecond), r.code, strings.TrimSpace(r.stderr))
		}
		r := s.ocix(t, "--format", "json", "backends")
		var rows []backendStatus
		if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
			t.Fatalf("backends: %v\n%s", err, r)
		}
		i := slices.IndexFunc(rows, func(row backendStatus) bool { return row.Name == d.backend })
		if i < 0 || rows[i].Available || !strings.Contains(rows[i].Reason, says[0]) {
			t.Errorf("backends: want %s unavailable with the reason %q: %s", d.backend, says[0], r.stdout)
		}
	}
}

// oneLineNaming checks a failed command's stderr: one "ocix: " line
// holding every want.
func oneLineNaming(t *testing.T, what string, r result, want ...string) {
	t.Helper()
	if r.code == 0 || len(lines(r.stderr)) != 1 || !strings.HasPrefix(r.stderr, "ocix: ") {
		t.Errorf("%s: want a failure and one line\n%s", what, r)
		return
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("%s: the error does not say %q: %s", what, w, r.stderr)
		}
	}
}

// backendStatus is a row of `ocix --format json backends`.
type backendStatus struct {
	Name      string `json:"name"`
	Available bool   `json:"available"`
	Reason    string `json:"reason"`
}
