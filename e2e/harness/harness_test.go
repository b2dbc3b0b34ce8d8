package harness

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
)

// TestMissing checks that every component without its binary says, in
// one line, what is missing and how to get it.
func TestMissing(t *testing.T) {
	t.Setenv("PATH", "")
	t.Setenv("GOBIN", t.TempDir())
	h, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ctx := context.Background()
	for _, c := range []struct {
		start func() error
		want  string
	}{
		{func() error { _, err := h.StartRegistry(ctx, RegistryOptions{Version: RegistryV2}); return err },
			"docker-registry not found: install docker-registry"},
		{func() error { _, err := h.StartRegistry(ctx, RegistryOptions{}); return err },
			"registry not found: go install github.com/distribution/distribution/v3/cmd/registry@v3.0.0"},
		{func() error { _, err := h.StartDocker(ctx); return err }, "dockerd not found: install docker.io"},
		{func() error { _, err := h.StartPodman(ctx); return err }, "podman not found: install podman"},
		{func() error { _, err := h.StartContainerd(ctx); return err }, "containerd not found: install containerd"},
	} {
		err := c.start()
		var missing *MissingError
		if !errors.As(err, &missing) || err.Error() != c.want {
			t.Errorf("got %v, want MissingError %q", err, c.want)
		}
	}
}

// verdictTB records what Require asks of a test, and ends Require there
// as Skip and Fatal end a test.
type verdictTB struct {
	testing.TB
	verdict string // "skip", "fatal" or "" (Require returned)
}

func (v *verdictTB) Helper()              {}
func (v *verdictTB) Skip(...any)          { v.verdict = "skip"; runtime.Goexit() }
func (v *verdictTB) Fatal(...any)         { v.verdict = "fatal"; runtime.Goexit() }
func (v *verdictTB) Skipf(string, ...any) { v.verdict = "skip"; runtime.Goexit() }
func (v *verdictTB) Fatalf(string, ...any) {
	v.verdict = "fatal"
	runtime.Goexit()
}

// TestRequireUnderCI checks each of Require's ends, the fail-under-CI
// branch first: under CI=true a missing component fails the test.
func TestRequireUnderCI(t *testing.T) {
	missing := &MissingError{What: "x not found", Fix: "install x"}
	for _, c := range []struct {
		ci   string
		err  error
		want string
	}{
		{"true", missing, "fatal"},
		{"true", fmt.Errorf("starting x: %w", missing), "fatal"},
		{"", missing, "skip"},
		{"", fmt.Errorf("starting x: %w", missing), "skip"},
		{"", errors.New("x crashed"), "fatal"},
		{"true", errors.New("x crashed"), "fatal"},
		{"true", nil, ""},
		{"", nil, ""},
	} {
		t.Setenv("CI", c.ci)
		v := &verdictTB{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			Require(v, c.err)
		}()
		<-done
		if v.verdict != c.want {
			t.Errorf("CI=%q, %v: Require did %q, want %q", c.ci, c.err, v.verdict, c.want)
		}
	}
}

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{
		`/tmp/a\040b`:  "/tmp/a b",
		`/tmp/tab\011`: "/tmp/tab\t",
		`/plain`:       "/plain",
		`/short\04`:    `/short\04`,
	} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}
