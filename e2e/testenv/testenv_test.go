package testenv

import (
	"runtime"
	"strings"
	"testing"
)

// recorder is a testing.TB that records how Missing stopped it.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Skip(args ...any) {
	r.skipped = args[0].(string)
	runtime.Goexit()
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = format
	if len(args) > 0 {
		r.failed = strings.Replace(format, "%s", args[0].(string), 1)
	}
	runtime.Goexit()
}

// run calls Missing on a recorder in its own goroutine, as the testing
// package runs a test, since Skip and Fatalf end it.
func run(t *testing.T) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Missing(r, "no %s here", "widget")
		t.Error("Missing returned: the test would go on without its component")
	}()
	<-done
	return r
}

func TestMissingSkipsOutsideCI(t *testing.T) {
	t.Setenv("CI", "")
	r := run(t)
	if r.skipped != "no widget here" || r.failed != "" {
		t.Fatalf("skipped %q, failed %q; want a skip saying what is missing", r.skipped, r.failed)
	}
}

func TestMissingFailsUnderCI(t *testing.T) {
	t.Setenv("CI", "true")
	r := run(t)
	if r.skipped != "" || !strings.HasPrefix(r.failed, "no widget here (CI=true") {
		t.Fatalf("skipped %q, failed %q; want a failure under CI=true", r.skipped, r.failed)
	}
}
