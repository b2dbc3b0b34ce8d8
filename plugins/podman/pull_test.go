package podman

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"testing"

	"github.com/containers/podman/v5/pkg/domain/entities/types"
	"github.com/containers/podman/v5/pkg/inspect"
	"github.com/hashicorp/go-hclog"
	godigest "github.com/opencontainers/go-digest"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/credentials"
)

// The text podman 4.3's pull streams, as events.
func TestPullProgress(t *testing.T) {
	var events []core.Event
	p := &pullProgress{events: func(e core.Event) { events = append(events, e) }}
	for _, chunk := range []string{
		"Trying to pull 127.0.0.1:5000/app:1...\nGetting image source signatures\nCopying blob sha256:aaa",
		"\nCopying blob sha256:bbb\n",
		"Copying config sha256:ccc\nWriting manifest to image destination\nStoring signatures\n",
		"WARNING: image platform ({amd64 linux  [] }) does not match the expected platform ({arm64 linux  [] })",
	} {
		p.Write([]byte(chunk))
	}
	p.flush()
	if len(events) != 3 {
		t.Fatalf("%d events: %+v", len(events), events)
	}
	if pr := events[0].Progress; pr == nil || pr.Layer != 0 || pr.Digest != "sha256:aaa" {
		t.Errorf("first: %+v", events[0])
	}
	if pr := events[1].Progress; pr == nil || pr.Layer != 1 || pr.Layers != 2 || pr.Digest != "sha256:bbb" {
		t.Errorf("second: %+v", events[1])
	}
	if w := events[2].Warning; w != "podman: image platform ({amd64 linux  [] }) does not match the expected platform ({arm64 linux  [] })" {
		t.Errorf("warning: %q", w)
	}
}

func TestImageName(t *testing.T) {
	ep := core.Endpoint{Registry: "docker.io", Host: "registry-1.docker.io"}
	if got := imageName(ep, "library/busybox", "1.36"); got != "docker.io/library/busybox:1.36" {
		t.Error(got)
	}
	if got := imageName(ep, "library/busybox", "sha256:abc"); got != "docker.io/library/busybox@sha256:abc" {
		t.Error(got)
	}
}

type fakeStore map[string]credentials.Credential

func (f fakeStore) Lookup(_ context.Context, registry, _ string) (credentials.Credential, bool, error) {
	c, ok := f[registry]
	return c, ok, nil
}

// The auth file holds exactly the credential ocix found, keyed by registry
// as podman looks it up, readable by its owner only, and goes away.
func TestAuthFile(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	ep := core.Endpoint{Registry: "127.0.0.1:5000", Host: "127.0.0.1:5000"}
	store := fakeStore{"127.0.0.1:5000": {Username: "alice", Password: "pw"}, "other": {Username: "bob"}}
	path, remove, err := authFile(context.Background(), store, ep, "app")
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	b, _ := os.ReadFile(path)
	var got struct {
		Auths map[string]struct{ Auth string } `json:"auths"`
	}
	json.Unmarshal(b, &got)
	if st.Mode().Perm() != 0o600 || len(got.Auths) != 1 || got.Auths["127.0.0.1:5000"].Auth != base64.StdEncoding.EncodeToString([]byte("alice:pw")) {
		t.Fatalf("mode %v: %s", st.Mode(), b)
	}
	remove()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("the auth file stays")
	}
	path, remove, _ = authFile(context.Background(), fakeStore{}, ep, "app")
	defer remove()
	if b, _ := os.ReadFile(path); string(b) != `{"auths":{}}` {
		t.Fatalf("no credential: %s", b)
	}
}

// podman reports the digest an image was pulled by — an index's, for a tag
// of one — and keeps the image's own manifest digest among RepoDigests.
func TestManifestDigest(t *testing.T) {
	b := New(hclog.NewNullLogger()).(*backend)
	ep := core.Endpoint{Registry: "127.0.0.1:5000", Host: "127.0.0.1:5000"}
	img := func(digest string, repoDigests ...string) pulled {
		return pulled{Name: "127.0.0.1:5000/rules/index:latest", From: ep, Data: &types.ImageInspectReport{ImageData: &inspect.ImageData{
			Digest: godigest.Digest(digest), RepoDigests: repoDigests, Os: "linux", Architecture: "amd64"}}}
	}
	single := img("sha256:aaa", "127.0.0.1:5000/rules/index@sha256:aaa")
	if got := b.manifestDigest(context.Background(), single, "rules/index", "latest"); got != "sha256:aaa" {
		t.Errorf("single image: %s", got)
	}
	fromIndex := img("sha256:idx", "127.0.0.1:5000/rules/index@sha256:own", "127.0.0.1:5000/rules/index@sha256:idx", "127.0.0.1:5000/other@sha256:zzz")
	if got := b.manifestDigest(context.Background(), fromIndex, "rules/index", "latest"); got != "sha256:own" {
		t.Errorf("a tag of an index: %s", got)
	}
	if got := normalizedName("docker.io/busybox"); got != "docker.io/library/busybox" {
		t.Errorf("normalizedName: %s", got)
	}
}
