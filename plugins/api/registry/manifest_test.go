package registry

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// manifestAnswer serves body with contentType for every manifest.
func manifestAnswer(contentType, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.Write([]byte(body))
	})
}

func TestManifestMediaType(t *testing.T) {
	for _, c := range []struct {
		name, contentType, body, want string
	}{
		{"index, said in the body", "application/json", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`, ocispec.MediaTypeImageIndex},
		{"docker list, said in the body", "", `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[]}`, MediaTypeDockerManifestList},
		{"docker manifest, said in both", MediaTypeDockerManifest, `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{}}`, MediaTypeDockerManifest},
		{"OCI manifest, said in the header", ocispec.MediaTypeImageManifest + "; charset=utf-8", `{"schemaVersion":2,"config":{}}`, ocispec.MediaTypeImageManifest},
		{"OCI manifest, said nowhere", "application/json", `{"schemaVersion":2,"config":{},"layers":[]}`, ocispec.MediaTypeImageManifest},
		{"OCI index, said nowhere", "text/plain", `{"schemaVersion":2,"manifests":[]}`, ocispec.MediaTypeImageIndex},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv, reqs := serve(t, manifestAnswer(c.contentType, c.body))
			m, err := newTestClient(t, Options{}).Manifest(context.Background(), endpoint(srv), "team/app", "1")
			if err != nil {
				t.Fatal(err)
			}
			if m.MediaType != c.want {
				t.Errorf("media type %q, want %q", m.MediaType, c.want)
			}
			accept := reqs.all()[0].Header.Get("Accept")
			for _, mt := range manifestTypes {
				if !strings.Contains(accept, mt) {
					t.Errorf("Accept %q lacks %s", accept, mt)
				}
			}
		})
	}
}

func TestManifestRefused(t *testing.T) {
	for _, c := range []struct {
		name, contentType, body, want string
	}{
		{"schema 1, signed", "application/vnd.docker.distribution.manifest.v1+prettyjws", `{"schemaVersion":1,"fsLayers":[]}`,
			"the image has a Docker schema 1 manifest, a deprecated format ocix does not read; push it again with a current tool"},
		{"schema 1, unsaid", "application/json", `{"schemaVersion":1,"name":"team/app","fsLayers":[]}`,
			"the image has a Docker schema 1 manifest, a deprecated format ocix does not read; push it again with a current tool"},
		{"artifact", "application/vnd.oci.artifact.manifest.v1+json", `{"mediaType":"application/vnd.oci.artifact.manifest.v1+json","blobs":[]}`,
			`unsupported manifest media type "application/vnd.oci.artifact.manifest.v1+json": not an image or an index`},
		{"not JSON", "text/html", `<html>`, "the manifest is not valid JSON: invalid character '<' looking for beginning of value"},
		{"too large", ocispec.MediaTypeImageManifest, `{"schemaVersion":2,"config":{},"annotations":{"x":"` + strings.Repeat("x", maxManifestSize) + `"}}`,
			"manifest 1 is larger than 4 MiB"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv, _ := serve(t, manifestAnswer(c.contentType, c.body))
			_, err := newTestClient(t, Options{}).Manifest(context.Background(), endpoint(srv), "team/app", "1")
			wantError(t, err, srv.Listener.Addr().String()+"/team/app: "+c.want)
		})
	}
}

func TestManifestDigest(t *testing.T) {
	body := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{}}`
	srv, _ := serve(t, manifestAnswer("", body))
	c := newTestClient(t, Options{})
	want := digest.FromString(body)
	for _, ref := range []string{"1", want.String()} {
		m, err := c.Manifest(context.Background(), endpoint(srv), "team/app", ref)
		if err != nil || m.Digest != want || string(m.Raw) != body {
			t.Errorf("%s: got %s %q, %v", ref, m.Digest, m.Raw, err)
		}
	}
	other := digest.FromString("something else")
	_, err := c.Manifest(context.Background(), endpoint(srv), "team/app", other.String())
	wantError(t, err, srv.Listener.Addr().String()+"/team/app: manifest "+other.String()+" does not match its digest")

	_, err = c.Manifest(context.Background(), endpoint(srv), "team/app", "sha256:nothex")
	if err == nil || !strings.Contains(err.Error(), `invalid digest "sha256:nothex"`) {
		t.Errorf("got %v", err)
	}
}
