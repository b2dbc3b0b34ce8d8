package reference

import (
	"strings"
	"testing"
)

func TestParseNormalisesLikeDocker(t *testing.T) {
	digest := "sha256:" + strings.Repeat("a", 64)
	for _, tc := range []struct{ in, want, registry, repo string }{
		{"busybox", "docker.io/library/busybox:latest", "docker.io", "library/busybox"},
		{"busybox:1.36", "docker.io/library/busybox:1.36", "docker.io", "library/busybox"},
		{"library/busybox", "docker.io/library/busybox:latest", "docker.io", "library/busybox"},
		{"docker.io/busybox", "docker.io/library/busybox:latest", "docker.io", "library/busybox"},
		{"index.docker.io/library/busybox", "docker.io/library/busybox:latest", "docker.io", "library/busybox"},
		{"bitnami/redis", "docker.io/bitnami/redis:latest", "docker.io", "bitnami/redis"},
		{"localhost/app", "localhost/app:latest", "localhost", "app"},
		{"localhost:5000/team/app:v1", "localhost:5000/team/app:v1", "localhost:5000", "team/app"},
		{"127.0.0.1:5000/a/b/c", "127.0.0.1:5000/a/b/c:latest", "127.0.0.1:5000", "a/b/c"},
		{"[::1]:5000/app", "[::1]:5000/app:latest", "[::1]:5000", "app"},
		{"ghcr.io/org/app@" + digest, "ghcr.io/org/app@" + digest, "ghcr.io", "org/app"},
		{"registry.k8s.io/sig-storage/smbplugin", "registry.k8s.io/sig-storage/smbplugin:latest", "registry.k8s.io", "sig-storage/smbplugin"},
	} {
		img, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if img.String() != tc.want || img.Registry != tc.registry || img.Repository != tc.repo {
			t.Errorf("Parse(%q) = %s (%s, %s), want %s (%s, %s)", tc.in, img, img.Registry, img.Repository, tc.want, tc.registry, tc.repo)
		}
	}
}

func TestParseRefusesBadNamesInOneLine(t *testing.T) {
	for in, want := range map[string]string{
		"":                                    "empty name",
		"Busybox":                             "must be lowercase",
		"busybox:bad tag":                     "invalid image reference",
		"busybox@sha256:abc":                  "invalid image reference",
		"a//b":                                "invalid image reference",
		"busybox:" + strings.Repeat("t", 129): "tag",
	} {
		_, err := Parse(in)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Parse(%q) = %v, want one line containing %q", in, err, want)
		}
	}
}

func TestParseRepositoryRefusesTagsAndDigests(t *testing.T) {
	if img, err := ParseRepository("127.0.0.1:5000/app"); err != nil || img.Name() != "127.0.0.1:5000/app" || img.Tag != "" {
		t.Fatalf("ParseRepository: %+v %v", img, err)
	}
	for _, in := range []string{"busybox:latest", "busybox@sha256:" + strings.Repeat("a", 64)} {
		if _, err := ParseRepository(in); err == nil || !strings.Contains(err.Error(), "without a tag or digest") {
			t.Errorf("ParseRepository(%q) = %v", in, err)
		}
	}
}

func TestHostAndLoopback(t *testing.T) {
	if Host("docker.io") != "registry-1.docker.io" || Host("ghcr.io") != "ghcr.io" {
		t.Error("Host")
	}
	for host, want := range map[string]bool{
		"localhost": true, "localhost:5000": true, "127.0.0.1:5000": true, "127.1.2.3": true,
		"[::1]:5000": true, "::1": true, "registry.localhost:80": true,
		"10.0.0.1:5000": false, "ghcr.io": false, "localhost.example.com": false, "[::2]:5000": false,
	} {
		if IsLoopback(host) != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, !want, want)
		}
	}
}
