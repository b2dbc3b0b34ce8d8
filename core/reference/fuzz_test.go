package reference

import (
	"strings"
	"testing"
)

// FuzzParse checks that parsing never panics, that what it accepts is
// fully qualified and parses again to itself, and that its errors are one
// line.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"busybox", "library/busybox:1.36", "docker.io/busybox", "localhost:5000/a/b:c",
		"[::1]:5000/x@sha256:" + strings.Repeat("a", 64), "UPPER/case", "a//b", "a:b:c", "@", ":", "",
		"registry.k8s.io/sig-storage/smbplugin", "x/y:" + strings.Repeat("t", 200),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		img, err := Parse(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("Parse(%q): error of several lines: %q", s, err)
			}
			return
		}
		if img.Registry == "" || img.Repository == "" || (img.Tag == "" && img.Digest == "") {
			t.Fatalf("Parse(%q) = %+v: not fully qualified", s, img)
		}
		again, err := Parse(img.String())
		if err != nil || again != img {
			t.Fatalf("Parse(%q) = %s, which parses to %+v, %v", s, img, again, err)
		}
	})
}
