package core

import (
	"runtime"
	"strings"
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

// ParsePlatform reads --platform: os/arch[/variant], as docker takes it.
func ParsePlatform(s string) (Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return Platform{}, Usagef("invalid --platform %q: want os/arch[/variant], such as linux/arm64 or linux/arm/v7", s)
	}
	p := Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

// HostPlatform is the platform this ocix runs on, the default one.
func HostPlatform() Platform {
	p := Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}
	if p.Architecture == "arm64" {
		// Registries and containerd name 64-bit ARM's only variant v8.
		p.Variant = "v8"
	}
	return p
}
