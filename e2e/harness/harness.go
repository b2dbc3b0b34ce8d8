// Package harness starts and stops the real components the e2e tests,
// the benchmark and the demo run against: registries, dockerd, the podman
// API service and containerd. It installs nothing (.ci/run does); it runs
// each component as a child process with its own directory, sockets and
// state, listening only on 127.0.0.1 or on unix sockets, and on Close
// stops it by pid and removes everything it wrote.
package harness

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/ocix/ocix/e2e/testenv"
)

// Harness owns every component started through it: Close stops them all.
// One Harness is meant to serve a whole test binary (TestMain) or program.
type Harness struct {
	dir string

	mu     sync.Mutex
	open   []*process // started and not yet stopped, oldest first
	closed bool
}

// New makes the harness's directory. It is created under /tmp, not
// $TMPDIR, because unix socket paths are limited to 108 bytes and the
// daemons nest their own sockets several levels below it.
func New() (*Harness, error) {
	dir, err := os.MkdirTemp("/tmp", "ocix-e2e-")
	if err != nil {
		return nil, fmt.Errorf("harness: %w", err)
	}
	return &Harness{dir: dir}, nil
}

// Close stops every component still running, newest first, and removes
// the harness's directory.
func (h *Harness) Close() error {
	h.mu.Lock()
	open := slices.Clone(h.open)
	h.closed = true
	h.mu.Unlock()

	var errs []error
	for _, p := range slices.Backward(open) {
		errs = append(errs, p.stop())
	}
	errs = append(errs, removeDir(h.dir))
	return errors.Join(errs...)
}

// track records a started process so that Close stops it; a process
// started after Close is stopped at once.
func (h *Harness) track(p *process) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return errors.Join(errors.New("harness: closed"), p.stop())
	}
	h.open = append(h.open, p)
	return nil
}

// untrack forgets a process its handle has stopped.
func (h *Harness) untrack(p *process) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.open = slices.DeleteFunc(h.open, func(q *process) bool { return q == p })
}

// MissingError says that a component cannot run on this machine and what
// would fix it: "dockerd not found: install docker.io".
type MissingError struct {
	What string // "dockerd not found"
	Fix  string // "install docker.io"
}

func (e *MissingError) Error() string { return e.What + ": " + e.Fix }

// Require stops the test when a component could not be started. A
// missing component skips it with one line, except under CI=true, where
// everything must be present and a missing component fails the test. Any
// other error always fails it.
func Require(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var missing *MissingError
	if errors.As(err, &missing) {
		testenv.Missing(t, "%s", missing.Error())
	}
	t.Fatal(err)
}
