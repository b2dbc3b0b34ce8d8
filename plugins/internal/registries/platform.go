package registries

import (
	"fmt"
	"strings"

	"github.com/ocix/ocix/core"
)

// MatchPlatform picks from an index's platforms the one that serves want,
// as containerd and docker pick: same OS and architecture, and the same
// variant once normalised (arm64 is v8 when unsaid). A want without a
// variant takes the entry without one first, else the first of any.
// None matching is one line listing what the index has.
func MatchPlatform(name string, want core.Platform, have []core.Platform) (int, error) {
	w := normalise(want)
	loose := -1
	for i, p := range have {
		p = normalise(p)
		if p.OS != w.OS || p.Architecture != w.Architecture {
			continue
		}
		if p.Variant == w.Variant {
			return i, nil
		}
		if w.Variant == "" && loose < 0 {
			loose = i
		}
	}
	if loose >= 0 {
		return loose, nil
	}
	var list []string
	for _, p := range have {
		list = append(list, p.String())
	}
	return 0, fmt.Errorf("%s: no image for platform %s; the index has: %s", name, want, strings.Join(list, ", "))
}

func normalise(p core.Platform) core.Platform {
	p.OS, p.Architecture, p.Variant = strings.ToLower(p.OS), strings.ToLower(p.Architecture), strings.ToLower(p.Variant)
	switch p.Architecture {
	case "aarch64":
		p.Architecture = "arm64"
	case "x86_64", "x86-64":
		p.Architecture = "amd64"
	}
	if p.Architecture == "arm64" && p.Variant == "" {
		p.Variant = "v8"
	}
	return p
}
