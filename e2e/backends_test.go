//go:build e2e

package e2e

import (
	"slices"
	"sync"
	"testing"

	"github.com/ocix/ocix/e2e/harness"
	"github.com/ocix/ocix/e2e/images"
)

// backend is one ocix backend as the conformance suites run it: which jobs
// it does, what it needs started, and how its results may differ from a
// correct one by design. The registry backends are declared here; each
// engine backend registers itself from a file of its own (backend_NAME_test.go).
type backend struct {
	name string
	jobs []string // "tags", "export", "run"
	// start starts what the backend needs (its daemon), once per test
	// binary, and returns the environment ocix needs to reach it. Nil for
	// backends that need nothing.
	start func(w *world) ([]string, error)
	// known lists the paths where the backend's export of a rules image
	// differs from a correct export by design (its engine's additions, a
	// library's quirk); quirk says whether the image has the hard-link
	// rewrite go-containerregistry #2002 gets wrong.
	known func(quirk bool) []string
	// containers lists the containers the backend's engine holds with
	// ocix's label, for the checks that nothing is left behind.
	containers func(t *testing.T, env []string) []string
	// mounts lists the mounts the backend's engine makes for an export
	// of the sandbox's, for the checks that none outlives ocix; nil when
	// it makes none the test can see.
	mounts func(t *testing.T, s *sandbox) []string

	once sync.Once
	env  []string
	err  error
}

var backends = []*backend{
	{name: "api", jobs: []string{"tags", "export"}},
	{name: "crane", jobs: []string{"tags", "export"}, known: func(quirk bool) []string {
		if quirk {
			return images.CraneDifferences()
		}
		return nil
	}},
}

// register adds an engine backend to the suites.
func register(b *backend) { backends = append(backends, b) }

// backendsFor lists the backends that do job.
func backendsFor(job string) []*backend {
	var out []*backend
	for _, b := range backends {
		if slices.Contains(b.jobs, job) {
			out = append(out, b)
		}
	}
	return out
}

// environment starts the backend's needs once and returns its environment,
// or stops the test when they could not be started.
func (b *backend) environment(t *testing.T) []string {
	t.Helper()
	w := need(t)
	if b.start == nil {
		return nil
	}
	b.once.Do(func() { b.env, b.err = b.start(w) })
	harness.Require(t, b.err)
	return b.env
}

// sandbox is a private home for the backend's ocix commands, reaching its
// daemon.
func (b *backend) sandbox(t *testing.T) *sandbox {
	t.Helper()
	env := b.environment(t)
	s := newSandbox(t)
	s.set(env...)
	return s
}

// knownDifferences is b.known, or none.
func (b *backend) knownDifferences(quirk bool) []string {
	if b.known == nil {
		return nil
	}
	return b.known(quirk)
}

// leftovers lists the backend's containers with ocix's label.
func (b *backend) leftovers(t *testing.T) []string {
	t.Helper()
	if b.containers == nil {
		return nil
	}
	return b.containers(t, b.environment(t))
}
