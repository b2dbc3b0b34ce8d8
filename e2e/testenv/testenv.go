// Package testenv lets unit tests say what they need from the machine. A
// test may skip only when a component is truly absent, saying so in one
// line; under CI=true every component must be present, and a missing one
// fails the test instead. (e2e tests have the same rule in
// e2e/harness.Require.)
package testenv

import (
	"fmt"
	"os"
	"testing"
)

// CI reports whether the tests run in CI (CI=true), where nothing may be
// missing.
func CI() bool { return os.Getenv("CI") == "true" }

// Missing stops the test because a component it needs is absent: a skip
// with the reason in one line, or under CI=true a failure.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if CI() {
		t.Fatalf("%s (CI=true: every component must be present)", msg)
	}
	t.Skip(msg)
}

// RequireRoot stops the test (see Missing) unless it runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "this test needs root")
	}
}
