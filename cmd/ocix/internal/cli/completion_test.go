package cli

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/core/rootfs"
)

// complete runs the shell scripts' `ocix __complete ARGS… WORD` and
// returns the values offered and the directive.
func complete(t *testing.T, fo *fakeOcix, args ...string) ([]string, string) {
	t.Helper()
	code, out, errOut := fo.run(t, append([]string{"__complete"}, args...)...)
	if code != 0 {
		t.Fatalf("__complete %q: exit %d: %s", args, code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	var values []string
	for _, l := range lines[:len(lines)-1] {
		values = append(values, strings.SplitN(l, "\t", 2)[0])
	}
	return values, lines[len(lines)-1]
}

func TestCompletionOffersWhatOcixKnows(t *testing.T) {
	fo := newFake(t)
	t.Setenv("OCIX_CACHE_DIR", t.TempDir())
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--backend", ""}, []string{"api", "crane", "runc"}},
		{[]string{"tags", "--backend", ""}, []string{"api", "crane", "runc"}},
		{[]string{"backends", ""}, []string{"api", "crane", "runc"}},
		{[]string{"run", "--rootfs-from", ""}, []string{"api", "crane", "runc"}},
		{[]string{"compare", "tags", "--backends", ""}, []string{"api", "crane", "runc"}},
		{[]string{"compare", "tags", "--backends", "api,"}, []string{"api,crane", "api,runc"}},
		{[]string{"compare", "tags", "--backends", "crane,api,r"}, []string{"crane,api,runc"}},
		{[]string{"--format", ""}, []string{"text", "json"}},
	} {
		got, directive := complete(t, fo, tc.args...)
		if !slices.Equal(got, tc.want) || directive == ":0" {
			t.Errorf("%q: offered %q (%s), want %q and no file names", tc.args, got, directive, tc.want)
		}
	}
	platforms, _ := complete(t, fo, "export", "--platform", "")
	if len(platforms) < 4 || platforms[0] != strings.TrimSuffix(core.HostPlatform().String(), "/v8") ||
		!slices.Contains(platforms, "linux/arm/v7") || !slices.Contains(platforms, "linux/arm64") {
		t.Errorf("platforms offered %q, want this host's first and the common ones", platforms)
	}
}

func TestCompletionOffersCachedImages(t *testing.T) {
	fo := newFake(t)
	cacheDir := t.TempDir()
	t.Setenv("OCIX_CACHE_DIR", cacheDir)
	if got, _ := complete(t, fo, "run", ""); len(got) != 0 {
		t.Fatalf("empty cache: offered %q", got)
	}
	c := rootfs.New(rootfs.Options{Dir: cacheDir, Source: &fakeSource{}, Copy: true})
	for _, img := range []string{"registry.test/busybox:1", "registry.test/alpine:3"} {
		req := &core.RunRequest{Image: img, Repository: "x", Reference: "1", Platform: core.Platform{OS: "linux", Architecture: "amd64"}}
		release, err := c.Prepare(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		release()
	}
	want := []string{"registry.test/alpine:3", "registry.test/busybox:1"}
	for _, args := range [][]string{{"run", ""}, {"export", ""}, {"bundle", ""}, {"compare", "export", ""}} {
		if got, _ := complete(t, fo, args...); !slices.Equal(got, want) {
			t.Errorf("%q: offered %q, want %q", args, got, want)
		}
	}
	// DEST is a path: the shell completes file names.
	if got, directive := complete(t, fo, "export", "busybox", ""); len(got) != 0 || directive != ":0" {
		t.Errorf("export DEST: offered %q (%s), want the shell's file names", got, directive)
	}
}
