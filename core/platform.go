package core

import (
	"strings"

	"github.com/containerd/platforms"
	specs "github.com/opencontainers/image-spec/specs-go/v1"
)

// Platform is an image's os/architecture[/variant].
type Platform struct {
	OS, Architecture, Variant string
}

func (p Platform) String() string {
	if p.OS == "" && p.Architecture == "" {
		return ""
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// OCI is p as image indexes and containerd write it.
func (p Platform) OCI() specs.Platform {
	return specs.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}
}

func fromOCI(s specs.Platform) Platform {
	return Platform{OS: s.OS, Architecture: s.Architecture, Variant: s.Variant}
}

// ParsePlatform reads --platform: os/arch[/variant], as docker takes it,
// normalised as containerd does (aarch64 is arm64, armhf is arm/v7).
func ParsePlatform(s string) (Platform, error) {
	parts := strings.Split(s, "/")
	bad := len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == ""
	p, err := platforms.Parse(s)
	if bad || err != nil {
		return Platform{}, Usagef("invalid --platform %q: want os/arch[/variant], such as linux/arm64 or linux/arm/v7", s)
	}
	return fromOCI(p), nil
}

// HostPlatform is the platform this ocix runs on, the default one: on ARM
// with the variant this CPU has (from /proc/cpuinfo, as containerd finds
// it).
func HostPlatform() Platform {
	p := fromOCI(platforms.DefaultSpec())
	if p.Architecture == "arm64" && p.Variant == "" {
		// Registries and containerd name 64-bit ARM's first variant v8.
		p.Variant = "v8"
	}
	return p
}

// BestMatch is the index of the platform in have that serves want best, as
// containerd picks: the same OS and architecture with the variant
// normalised (arm64 is v8 when unsaid, arm v7), then older variants a CPU
// of want's also runs (arm/v8 → v7 → v6 → v5; arm64 → arm/v8 …; amd64 →
// 386). A want without a variant takes the default one. -1 when none fits.
func BestMatch(want Platform, have []Platform) int {
	m := platforms.Only(want.OCI())
	best := -1
	for i, p := range have {
		if m.Match(p.OCI()) && (best < 0 || m.Less(p.OCI(), have[best].OCI())) {
			best = i
		}
	}
	return best
}
