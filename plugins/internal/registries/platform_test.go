package registries

import (
	"strings"
	"testing"

	"github.com/ocix/ocix/core"
)

func TestMatchPlatform(t *testing.T) {
	have := []core.Platform{
		{OS: "linux", Architecture: "amd64"},
		{OS: "linux", Architecture: "arm", Variant: "v6"},
		{OS: "linux", Architecture: "arm", Variant: "v7"},
		{OS: "linux", Architecture: "arm64", Variant: "v8"},
		{OS: "windows", Architecture: "amd64"},
	}
	for want, idx := range map[core.Platform]int{
		{OS: "linux", Architecture: "amd64"}:                  0,
		{OS: "linux", Architecture: "arm", Variant: "v7"}:     2,
		{OS: "linux", Architecture: "arm"}:                    2, // arm is v7 when unsaid
		{OS: "linux", Architecture: "arm64"}:                  3,
		{OS: "linux", Architecture: "aarch64", Variant: "v8"}: 3,
		{OS: "windows", Architecture: "amd64"}:                4,
	} {
		got, err := MatchPlatform("x", want, have)
		if err != nil || got != idx {
			t.Errorf("%s: got %d, %v; want %d", want, got, err, idx)
		}
	}
	_, err := MatchPlatform("r/x:1", core.Platform{OS: "linux", Architecture: "s390x"}, have)
	if err == nil || !strings.Contains(err.Error(), "r/x:1: no image for platform linux/s390x; the index has: linux/amd64, linux/arm/v6, linux/arm/v7, linux/arm64/v8, windows/amd64") {
		t.Fatalf("err = %v", err)
	}
}

// A CPU runs the variants before its own: containerd's matcher falls back
// from v8 to v7 to v6, and 64-bit ARM to 32-bit.
func TestMatchPlatformFallsBackToOlderVariants(t *testing.T) {
	arm := func(v string) core.Platform { return core.Platform{OS: "linux", Architecture: "arm", Variant: v} }
	for _, tc := range []struct {
		want core.Platform
		have []core.Platform
		idx  int
	}{
		{arm("v8"), []core.Platform{arm("v5"), arm("v7"), arm("v6")}, 1},
		{arm("v7"), []core.Platform{arm("v5"), arm("v6")}, 1},
		{arm("v8"), []core.Platform{arm("v6"), arm("v8"), arm("v7")}, 1},
		{core.Platform{OS: "linux", Architecture: "arm64"}, []core.Platform{arm("v6"), arm("v7")}, 1},
		{core.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, []core.Platform{arm("v7"), {OS: "linux", Architecture: "arm64"}}, 1},
	} {
		got, err := MatchPlatform("x", tc.want, tc.have)
		if err != nil || got != tc.idx {
			t.Errorf("%s from %v: got %d, %v; want %d", tc.want, tc.have, got, err, tc.idx)
		}
	}
	// No newer variant stands in for an older one.
	if _, err := MatchPlatform("x", arm("v6"), []core.Platform{arm("v7"), arm("v8")}); err == nil {
		t.Fatal("arm/v6 took a newer variant")
	}
}
