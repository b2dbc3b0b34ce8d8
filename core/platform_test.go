package core

import (
	"runtime"
	"testing"
)

func TestParsePlatform(t *testing.T) {
	for in, want := range map[string]string{
		"linux/amd64":    "linux/amd64",
		"linux/arm64":    "linux/arm64",
		"linux/arm64/v8": "linux/arm64/v8",
		"linux/aarch64":  "linux/arm64",
		"linux/x86_64":   "linux/amd64",
		"linux/arm/v7":   "linux/arm/v7",
		"linux/arm":      "linux/arm",
		"linux/armhf":    "linux/arm",
		"Linux/ARM/v6":   "linux/arm/v6",
	} {
		p, err := ParsePlatform(in)
		if err != nil || p.String() != want {
			t.Errorf("ParsePlatform(%q) = %q, %v; want %q", in, p, err, want)
		}
	}
	for _, in := range []string{"", "linux", "linux/", "/amd64", "linux/arm/v7/x", "linux/a b"} {
		_, err := ParsePlatform(in)
		if err == nil || ExitCode(err) != ExitUsage {
			t.Errorf("ParsePlatform(%q): err = %v, want a usage error", in, err)
		}
	}
}

func TestHostPlatform(t *testing.T) {
	p := HostPlatform()
	if p.OS != runtime.GOOS || p.Architecture != runtime.GOARCH {
		t.Fatalf("host platform %s", p)
	}
	if p.Architecture == "arm64" && p.Variant == "" {
		t.Fatal("arm64 without its variant")
	}
}
