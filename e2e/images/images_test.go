package images

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

var (
	// tagGrammar is the distribution spec's tag grammar.
	tagGrammar = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
	semverTag  = regexp.MustCompile(`^v?\d+\.\d+\.\d+$`)
)

func TestTagNames(t *testing.T) {
	tags := TagNames(2500)
	if len(tags) != 2500 || tags[0] != "latest" {
		t.Fatalf("got %d tags starting %q", len(tags), tags[0])
	}
	seen := map[string]bool{}
	var sigs, semver int
	for _, tag := range tags {
		if !tagGrammar.MatchString(tag) {
			t.Errorf("invalid tag %q", tag)
		}
		if seen[tag] {
			t.Errorf("duplicate tag %q", tag)
		}
		seen[tag] = true
		if strings.HasPrefix(tag, "sha256-") && strings.HasSuffix(tag, ".sig") {
			sigs++
		}
		if semverTag.MatchString(tag) {
			semver++
		}
	}
	if sigs == 0 || sigs > len(tags)/20 || semver < len(tags)/5 {
		t.Errorf("%d signature and %d semver tags out of %d", sigs, semver, len(tags))
	}
	if !slices.Equal(TagNames(10), tags[:10]) {
		t.Error("TagNames is not deterministic")
	}
	if small := TagNames(8); !slices.ContainsFunc(small, func(s string) bool { return strings.HasSuffix(s, ".sig") }) {
		t.Errorf("no signature tag in %q", small)
	}
}

func TestAddTags(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	repo := Repository{Host: strings.TrimPrefix(srv.URL, "http://"), Name: "team/app"}
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := Push(ctx, repo, "latest", img); err != nil {
		t.Fatal(err)
	}
	want := TagNames(300)[1:]
	if err := AddTags(ctx, repo, "latest", want); err != nil {
		t.Fatal(err)
	}
	got, err := crane.ListTags(repo.Host+"/"+repo.Name, crane.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, "latest")
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("got %d tags, want %d", len(got), len(want))
	}
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	tagged, err := crane.Digest(repo.Ref(want[0]), crane.Insecure)
	if err != nil || tagged != digest.String() {
		t.Fatalf("%s is %s (%v), want %s", want[0], tagged, err, digest)
	}
	// From a digest too.
	if err := AddTags(ctx, repo, digest.String(), []string{"by-digest"}); err != nil {
		t.Fatal(err)
	}
	if tagged, err := crane.Digest(repo.Ref("by-digest"), crane.Insecure); err != nil || tagged != digest.String() {
		t.Fatalf("by-digest is %s (%v), want %s", tagged, err, digest)
	}
}
