package registry

import (
	"encoding/json"
	"errors"
	"mime"
	"slices"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// manifestSeeds are manifests as registries serve them, with the
// Content-Type they come with, and some that are not.
var manifestSeeds = []struct{ contentType, body string }{
	{ocispec.MediaTypeImageManifest, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:3c3a4604a545cdc127456d94e421cd355bca5b528f4a9c1905b15da2eb4a4c6b","size":2111}]}`},
	{ocispec.MediaTypeImageIndex, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":500,"platform":{"architecture":"amd64","os":"linux"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:3c3a4604a545cdc127456d94e421cd355bca5b528f4a9c1905b15da2eb4a4c6b","size":500,"platform":{"architecture":"unknown","os":"unknown"},"annotations":{"vnd.docker.reference.type":"attestation-manifest"}}]}`},
	{MediaTypeDockerManifest, `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":1457,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":2221,"digest":"sha256:3c3a4604a545cdc127456d94e421cd355bca5b528f4a9c1905b15da2eb4a4c6b"}]}`},
	{MediaTypeDockerManifestList, `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":527,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","platform":{"architecture":"arm","os":"linux","variant":"v7"}}]}`},
	{"application/vnd.docker.distribution.manifest.v1+prettyjws", `{"schemaVersion":1,"name":"library/busybox","tag":"latest","architecture":"amd64","fsLayers":[{"blobSum":"sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"}],"history":[{"v1Compatibility":"{}"}],"signatures":[{"header":{"alg":"ES256"},"signature":"x","protected":"y"}]}`},
	{"application/json", `{"schemaVersion":1,"name":"team/app","fsLayers":[]}`},
	{"application/vnd.oci.artifact.manifest.v1+json", `{"mediaType":"application/vnd.oci.artifact.manifest.v1+json","artifactType":"application/vnd.example+type","blobs":[]}`},
	{"application/json; charset=utf-8", `{"schemaVersion":2,"config":{},"layers":[]}`},
	{"text/plain", `{"schemaVersion":2,"manifests":[]}`},
	{"", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":null}`},
	{ocispec.MediaTypeImageManifest, `{"mediaType":"application/vnd.oci.image.index.v1+json","config":{}}`},
	{ocispec.MediaTypeImageIndex, `{"MediaType":"application/vnd.oci.image.manifest.v1+json","mediaType":""}`},
	{"text/html", `<html><body>502 Bad Gateway</body></html>`},
	{"", ``}, {"", `null`}, {"", `[]`}, {"", `{}`}, {"", `"x"`}, {"", `{"schemaVersion":1e999}`},
	{"multipart/;;", `{"manifests":{}, "config":[]}`},
}

// FuzzManifestType checks how a manifest is told: never a panic, the same
// answer twice, errors of one line that name the repository, and an
// accepted type only when it is one of the four asked for — the body's
// own mediaType field first, then the Content-Type. What is accepted also
// decodes as the index or manifest it was told to be without a panic.
func FuzzManifestType(f *testing.F) {
	for _, s := range manifestSeeds {
		f.Add(s.contentType, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, contentType string, raw []byte) {
		mt, err := manifestType("r.example/app", contentType, raw)
		again, err2 := manifestType("r.example/app", contentType, raw)
		if mt != again || (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() {
			t.Fatalf("two answers: %q %v, then %q %v", mt, err, again, err2)
		}
		if err != nil {
			if mt != "" || strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "r.example/app: ") {
				t.Fatalf("manifestType(%q, %q) = %q, %q", contentType, raw, mt, err)
			}
			return
		}
		if !slices.Contains(manifestTypes, mt) {
			t.Fatalf("manifestType(%q, %q) = %q, not a type asked for", contentType, raw, mt)
		}
		var fields struct {
			MediaType string `json:"mediaType"`
		}
		if err := json.Unmarshal(raw, &fields); err != nil {
			t.Fatalf("accepted %q, which is not JSON: %v", raw, err)
		}
		header, _, _ := mime.ParseMediaType(contentType)
		switch {
		case fields.MediaType != "" && fields.MediaType != mt:
			t.Fatalf("the body says %q, told %q", fields.MediaType, mt)
		case fields.MediaType == "" && slices.Contains(manifestTypes, header) && header != mt:
			t.Fatalf("the body says nothing and the header %q, told %q", header, mt)
		}
		// The caller decodes what was accepted as the type told, and
		// reports a failure as "not valid". The body is JSON, so the only
		// failure possible is a field of another JSON kind (a "manifests"
		// object where an index has a list): anything else means the
		// body manifestType accepted is not what the caller gets.
		var shape any = &ocispec.Manifest{}
		if mt == ocispec.MediaTypeImageIndex || mt == MediaTypeDockerManifestList {
			shape = &ocispec.Index{}
		}
		var typeErr *json.UnmarshalTypeError
		if err := json.Unmarshal(raw, shape); err != nil && !errors.As(err, &typeErr) {
			t.Fatalf("accepted %q as %s, which fails to decode for another reason than a field's kind: %v", raw, mt, err)
		}
	})
}
