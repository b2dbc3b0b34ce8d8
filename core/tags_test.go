package core

import (
	"regexp"
	"strings"
	"testing"
)

func TestTagOptions(t *testing.T) {
	sig := "sha256-" + strings.Repeat("ab", 32) + ".sig"
	tags := []string{"latest", "1.10.0", "v1.2", "1.2.3-rc.1", "1.2.3", sig, "edge", "1.9"}
	for _, tc := range []struct {
		name string
		opts TagOptions
		want string
	}{
		{"registry order", TagOptions{}, strings.Join(tags, " ")},
		{"omit digest tags", TagOptions{OmitDigestTags: true}, "latest 1.10.0 v1.2 1.2.3-rc.1 1.2.3 edge 1.9"},
		{"lexical", TagOptions{Sort: SortLexical, OmitDigestTags: true}, "1.10.0 1.2.3 1.2.3-rc.1 1.9 edge latest v1.2"},
		{"semver", TagOptions{Sort: SortSemver, OmitDigestTags: true}, "v1.2 1.2.3-rc.1 1.2.3 1.9 1.10.0 edge latest"},
		{"filter", TagOptions{Filter: regexp.MustCompile(`^1\.`), Sort: SortSemver}, "1.2.3-rc.1 1.2.3 1.9 1.10.0"},
	} {
		if got := strings.Join(tc.opts.Apply(tags), " "); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestTagOptionParsing(t *testing.T) {
	if _, err := ParseTagSort("random"); err == nil || ExitCode(err) != ExitUsage {
		t.Errorf("--sort random: %v", err)
	}
	if _, err := ParseTagFilter("("); err == nil || ExitCode(err) != ExitUsage {
		t.Errorf("--filter '(': %v", err)
	}
	if re, err := ParseTagFilter(""); err != nil || re != nil {
		t.Errorf("empty filter: %v %v", re, err)
	}
}

func TestRegistryEndpoints(t *testing.T) {
	r := Registries{
		Insecure: []string{"reg.lan:5000"},
		Mirrors:  map[string][]string{"docker.io": {"127.0.0.1:5000", "reg.lan:5000"}},
	}
	eps := r.Endpoints("docker.io")
	want := []Endpoint{
		{Registry: "127.0.0.1:5000", Host: "127.0.0.1:5000"},
		{Registry: "reg.lan:5000", Host: "reg.lan:5000", Insecure: true},
		{Registry: "docker.io", Host: "registry-1.docker.io"},
	}
	if len(eps) != len(want) {
		t.Fatalf("endpoints %+v", eps)
	}
	for i := range want {
		if eps[i] != want[i] {
			t.Errorf("endpoint %d = %+v, want %+v", i, eps[i], want[i])
		}
	}
	r.AllInsecure = true
	if eps := r.Endpoints("ghcr.io"); len(eps) != 1 || !eps[0].Insecure || eps[0].Host != "ghcr.io" {
		t.Errorf("--insecure: %+v", eps)
	}
}
