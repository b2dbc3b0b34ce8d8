package api

import (
	"context"
	"os"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/ocix/ocix/core"
)

func TestExportSingleLayer(t *testing.T) {
	_, ep := testRegistry(t, nil)
	img := imageOf(t, amd64, gzipLayer(t, dir("etc"), file("etc/os-release", "ID=test\n"), symlink("bin", "usr/bin"), dir("usr"), dir("usr/bin"), file("usr/bin/app", "#!/bin/sh\n")))
	digest := push(t, ep, "team/app:1", img)

	req := exportReq(t, ep, "team/app", "1")
	res, err := testBackend(nil).Export(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	wantTree(t, tree(t, req.Dir), map[string]string{
		"etc":            "dir 755",
		"etc/os-release": "file 644 ID=test\n",
		"bin":            "symlink usr/bin",
		"usr":            "dir 755",
		"usr/bin":        "dir 755",
		"usr/bin/app":    "file 644 #!/bin/sh\n",
	})
	if res.Digest != digest.String() {
		t.Errorf("digest %s, want %s", res.Digest, digest)
	}
	if res.Platform != (core.Platform{OS: "linux", Architecture: "amd64"}) {
		t.Errorf("platform %s", res.Platform)
	}
	raw, _ := img.RawConfigFile()
	if string(res.Config) != string(raw) {
		t.Errorf("config %s, want %s", res.Config, raw)
	}
	if res.Entries != 6 || res.Bytes != int64(len("ID=test\n#!/bin/sh\n")) {
		t.Errorf("entries %d, bytes %d", res.Entries, res.Bytes)
	}
	// The same image asked for by digest.
	req = exportReq(t, ep, "team/app", digest.String())
	if res, err := testBackend(nil).Export(context.Background(), req); err != nil || res.Digest != digest.String() {
		t.Fatalf("by digest: %s, %v", res.Digest, err)
	}
}

func TestExportLayersInOrder(t *testing.T) {
	_, ep := testRegistry(t, nil)
	img := imageOf(t, amd64,
		gzipLayer(t, dir("etc"), file("etc/a", "1"), file("etc/b", "1"), dir("var"), file("var/log", "old")),
		gzipLayer(t, file("etc/a", "2"), file("etc/.wh.b", ""), file("var/.wh..wh..opq", ""), file("var/new", "x")),
		gzipLayer(t, file("etc/c", "3"), symlink("etc/a", "c")),
	)
	push(t, ep, "team/app:1", img)
	req := exportReq(t, ep, "team/app", "1")
	if _, err := testBackend(nil).Export(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	wantTree(t, tree(t, req.Dir), map[string]string{
		"etc":     "dir 755",
		"etc/a":   "symlink c",
		"etc/c":   "file 644 3",
		"var":     "dir 755",
		"var/new": "file 644 x",
	})
}

// TestExportCompressions exports layers of every format, some of them
// mislabelled: the bytes say what they are, not the media type.
func TestExportCompressions(t *testing.T) {
	tarball := tarOf(t, file("f", "content"))
	for name, l := range map[string]v1.Layer{
		"gzip":                     static.NewLayer(gzipped(t, tarball), types.OCILayer),
		"zstd":                     static.NewLayer(zstded(t, tarball), types.OCILayerZStd),
		"uncompressed":             static.NewLayer(tarball, types.OCIUncompressedLayer),
		"docker uncompressed":      static.NewLayer(tarball, types.DockerUncompressedLayer),
		"non-distributable":        static.NewLayer(gzipped(t, tarball), types.OCIRestrictedLayer),
		"foreign":                  static.NewLayer(gzipped(t, tarball), types.DockerForeignLayer),
		"gzip labelled plain":      static.NewLayer(gzipped(t, tarball), types.OCIUncompressedLayer),
		"plain labelled gzip":      static.NewLayer(tarball, types.OCILayer),
		"zstd labelled gzip":       static.NewLayer(zstded(t, tarball), types.DockerLayer),
		"empty blob":               static.NewLayer(nil, types.OCIUncompressedLayer),
		"concatenated gzip member": static.NewLayer(append(gzipped(t, tarball[:512]), gzipped(t, tarball[512:])...), types.OCILayer),
	} {
		t.Run(name, func(t *testing.T) {
			_, ep := testRegistry(t, nil)
			push(t, ep, "team/app:1", imageOf(t, amd64, l))
			req := exportReq(t, ep, "team/app", "1")
			if _, err := testBackend(nil).Export(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"f": "file 644 content"}
			if name == "empty blob" {
				want = map[string]string{}
			}
			wantTree(t, tree(t, req.Dir), want)
		})
	}
}

func TestExportDockerSchema2(t *testing.T) {
	_, ep := testRegistry(t, nil)
	img, err := mutate.AppendLayers(empty.Image, static.NewLayer(gzipped(t, tarOf(t, file("docker", "yes"))), types.DockerLayer))
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.MediaType(img, types.DockerManifestSchema2)
	img = mutate.ConfigMediaType(img, types.DockerConfigJSON)
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	digest := push(t, ep, "team/app:1", img)
	list := mutate.IndexMediaType(mutate.AppendManifests(empty.Index, mutate.IndexAddendum{
		Add: img, Descriptor: v1.Descriptor{MediaType: types.DockerManifestSchema2, Platform: &amd64},
	}), types.DockerManifestList)
	if err := remote.WriteIndex(ref(t, ep, "team/app:list"), list); err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"1", "list"} {
		req := exportReq(t, ep, "team/app", tag)
		res, err := testBackend(nil).Export(context.Background(), req)
		if err != nil {
			t.Fatalf("%s: %v", tag, err)
		}
		if res.Digest != digest.String() {
			t.Errorf("%s: digest %s, want %s", tag, res.Digest, digest)
		}
		wantTree(t, tree(t, req.Dir), map[string]string{"docker": "file 644 yes"})
	}
}

func TestExportPicksPlatform(t *testing.T) {
	_, ep := testRegistry(t, nil)
	platforms := []v1.Platform{
		{OS: "linux", Architecture: "amd64"},
		{OS: "linux", Architecture: "arm64", Variant: "v8"},
		{OS: "linux", Architecture: "arm", Variant: "v7"},
	}
	idx := v1.ImageIndex(empty.Index)
	digests := map[string]string{}
	for _, p := range platforms {
		img := imageOf(t, p, gzipLayer(t, file("platform", p.String())))
		d, _ := img.Digest()
		digests[p.String()] = d.String()
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	// buildx's attestations: an unknown/unknown manifest, never picked
	// nor listed.
	att := imageOf(t, v1.Platform{OS: "unknown", Architecture: "unknown"}, gzipLayer(t, file("sbom", "{}")))
	idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{
		Platform:    &v1.Platform{OS: "unknown", Architecture: "unknown"},
		Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest"},
	}})
	if err := remote.WriteIndex(ref(t, ep, "team/app:multi"), idx); err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		ask  core.Platform
		gets string
	}{
		{core.Platform{OS: "linux", Architecture: "amd64"}, "linux/amd64"},
		{core.Platform{OS: "linux", Architecture: "arm64"}, "linux/arm64/v8"},
		{core.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, "linux/arm/v7"},
	} {
		req := exportReq(t, ep, "team/app", "multi")
		req.Platform = want.ask
		res, err := testBackend(nil).Export(context.Background(), req)
		if err != nil {
			t.Fatalf("%s: %v", want.ask, err)
		}
		if res.Digest != digests[want.gets] || res.Platform.String() != want.gets {
			t.Errorf("%s: got %s (%s), want %s (%s)", want.ask, res.Digest, res.Platform, digests[want.gets], want.gets)
		}
		wantTree(t, tree(t, req.Dir), map[string]string{"platform": "file 644 " + want.gets})
	}

	req := exportReq(t, ep, "team/app", "multi")
	req.Platform = core.Platform{OS: "linux", Architecture: "s390x"}
	_, err := testBackend(nil).Export(context.Background(), req)
	wantError(t, err, ep.Registry+"/team/app:multi: no image for platform linux/s390x; the index has: linux/amd64, linux/arm64/v8, linux/arm/v7")
}

// TestExportWarnsOfPlatform: an image that is not in an index is exported
// whatever its platform, with a warning.
func TestExportWarnsOfPlatform(t *testing.T) {
	_, ep := testRegistry(t, nil)
	push(t, ep, "team/app:1", imageOf(t, v1.Platform{OS: "linux", Architecture: "arm64"}, gzipLayer(t, file("f", "x"))))
	req := exportReq(t, ep, "team/app", "1")
	var warnings []string
	req.Events = func(e core.Event) {
		if e.Warning != "" {
			warnings = append(warnings, e.Warning)
		}
	}
	if _, err := testBackend(nil).Export(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || warnings[0] != "the image is for platform linux/arm64, not linux/amd64 as asked" {
		t.Errorf("warnings %q", warnings)
	}
}

func TestExportRefusesWhatIsNoImage(t *testing.T) {
	_, ep := testRegistry(t, nil)
	artifact := mutate.ConfigMediaType(imageOf(t, amd64), "application/vnd.cncf.helm.config.v1+json")
	push(t, ep, "team/chart:1", artifact)
	encrypted := imageOf(t, amd64, static.NewLayer([]byte("secret"), "application/vnd.oci.image.layer.v1.tar+gzip+encrypted"))
	push(t, ep, "team/secret:1", encrypted)
	layers, _ := encrypted.Layers()
	ld, _ := layers[0].Digest()

	for repo, want := range map[string]string{
		"team/chart":  ep.Registry + `/team/chart: not a container image: its config is of type "application/vnd.cncf.helm.config.v1+json"`,
		"team/secret": ep.Registry + "/team/secret: layer " + ld.String() + ` is of type "application/vnd.oci.image.layer.v1.tar+gzip+encrypted", not a filesystem layer ocix can apply`,
		"team/none":   ep.Registry + "/team/none: repository not found (NAME_UNKNOWN: Unknown name)",
	} {
		_, err := testBackend(nil).Export(context.Background(), exportReq(t, ep, repo, "1"))
		wantError(t, err, want)
	}
}

func TestExportFromMirror(t *testing.T) {
	_, mirror := testRegistry(t, nil)
	_, origin := testRegistry(t, nil)
	push(t, origin, "team/app:1", imageOf(t, amd64, gzipLayer(t, file("from", "origin"))))
	req := exportReq(t, origin, "team/app", "1")
	req.Endpoints = []core.Endpoint{mirror, origin}
	if _, err := testBackend(nil).Export(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	wantTree(t, tree(t, req.Dir), map[string]string{"from": "file 644 origin"})

	push(t, mirror, "team/app:1", imageOf(t, amd64, gzipLayer(t, file("from", "mirror"))))
	req.Dir = t.TempDir()
	if _, err := testBackend(nil).Export(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	wantTree(t, tree(t, req.Dir), map[string]string{"from": "file 644 mirror"})
}

func TestExportTar(t *testing.T) {
	_, ep := testRegistry(t, nil)
	push(t, ep, "team/app:1", imageOf(t, amd64,
		gzipLayer(t, dir("etc"), file("etc/a", "1"), file("etc/b", "2"), symlink("etc/l", "a")),
		gzipLayer(t, file("etc/.wh.b", ""), dir("usr"), file("usr/c", "3")),
	))
	be := testBackend(nil)
	dirReq := exportReq(t, ep, "team/app", "1")
	dirRes, err := be.Export(context.Background(), dirReq)
	if err != nil {
		t.Fatal(err)
	}

	tarReq := exportReq(t, ep, "team/app", "1")
	tarReq.Dir = ""
	f, err := os.CreateTemp(t.TempDir(), "export-*.tar")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tarReq.Tar = f
	tarRes, err := be.Export(context.Background(), tarReq)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	f.Seek(0, 0)
	wantTree(t, tarTree(t, f), tree(t, dirReq.Dir))
	if tarRes.TarDigest != "sha256:"+sha256Hex(raw) || tarRes.Bytes != int64(len(raw)) || tarRes.Entries != 5 {
		t.Errorf("tar result: %d entries, %d bytes, %s; the file is %d bytes, sha256:%s", tarRes.Entries, tarRes.Bytes, tarRes.TarDigest, len(raw), sha256Hex(raw))
	}
	if tarRes.Digest != dirRes.Digest || string(tarRes.Config) != string(dirRes.Config) {
		t.Errorf("tar and dir exports differ: %s, %s", tarRes.Digest, dirRes.Digest)
	}
}

func TestExportProgress(t *testing.T) {
	_, ep := testRegistry(t, nil)
	big := make([]byte, 3<<20)
	for i := range big {
		big[i] = byte(i * 7 / 5) // compresses, but not to nothing
	}
	img := imageOf(t, amd64, gzipLayer(t, file("a", "1")), gzipLayer(t, file("big", string(big))))
	push(t, ep, "team/app:1", img)
	manifest, _ := img.Manifest()

	req := exportReq(t, ep, "team/app", "1")
	var events []core.Progress
	req.Events = func(e core.Event) {
		if e.Progress != nil {
			events = append(events, *e.Progress)
		}
	}
	if _, err := testBackend(nil).Export(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	last := map[int]core.Progress{}
	for _, p := range events {
		l := manifest.Layers[p.Layer]
		if p.Layers != 2 || p.Digest != l.Digest.String() || p.Total != l.Size || p.Done > p.Total || p.Done < last[p.Layer].Done {
			t.Errorf("event %+v for layer %+v", p, l)
		}
		last[p.Layer] = p
	}
	for i, l := range manifest.Layers {
		if last[i].Done != l.Size {
			t.Errorf("layer %d: last event %+v, want Done = Total = %d", i, last[i], l.Size)
		}
	}
}

func TestExportInclude(t *testing.T) {
	_, ep := testRegistry(t, nil)
	push(t, ep, "team/app:1", imageOf(t, amd64, gzipLayer(t, dir("etc"), file("etc/passwd", "root"), dir("usr"), file("usr/big", "x"))))
	req := exportReq(t, ep, "team/app", "1")
	req.Include = []string{"/etc/passwd"}
	if _, err := testBackend(nil).Export(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	wantTree(t, tree(t, req.Dir), map[string]string{"etc": "dir 755", "etc/passwd": "file 644 root"})
}

// TestExportForeignLayerElsewhere: a foreign layer the registry does not
// hold is explained, not just "blob not found".
func TestExportForeignLayerElsewhere(t *testing.T) {
	_, ep := testRegistry(t, nil)
	foreign := static.NewLayer(gzipped(t, tarOf(t, file("f", "x"))), types.DockerForeignLayer)
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: foreign, URLs: []string{"https://mcr.example/layer"}})
	if err != nil {
		t.Fatal(err)
	}
	// Pushed as docker pushes it: without the foreign blob.
	if err := remote.Write(ref(t, ep, "team/app:1"), img); err != nil {
		t.Fatal(err)
	}
	d, _ := foreign.Digest()
	_, err = testBackend(nil).Export(context.Background(), exportReq(t, ep, "team/app", "1"))
	wantError(t, err, ep.Registry+"/team/app: foreign layer "+d.String()+" is not in the registry; ocix does not fetch it from https://mcr.example/layer")
}
