package harness

import (
	"context"
	"errors"
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

func TestRequireSkipsMissing(t *testing.T) {
	t.Setenv("CI", "")
	var skipped bool
	t.Run("missing", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		Require(t, &MissingError{What: "x not found", Fix: "install x"})
	})
	if !skipped {
		t.Error("a missing component did not skip the test outside CI")
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
