package registries

import (
	"fmt"
	"strings"

	"github.com/ocix/ocix/core"
)

// MatchPlatform picks from an index's platforms the one that serves want,
// as containerd and docker pick (core.BestMatch). None matching is one
// line listing what the index has.
func MatchPlatform(name string, want core.Platform, have []core.Platform) (int, error) {
	if i := core.BestMatch(want, have); i >= 0 {
		return i, nil
	}
	var list []string
	for _, p := range have {
		list = append(list, p.String())
	}
	return 0, fmt.Errorf("%s: no image for platform %s; the index has: %s", name, want, strings.Join(list, ", "))
}
