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
		{OS: "linux", Architecture: "arm"}:                    1,
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
