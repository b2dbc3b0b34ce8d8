package api

import (
	"context"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/ocix/ocix/core"
)

// Resolve names what Export exports, with one request, index or not.
func TestResolveNamesWhatExportExportsInOneRequest(t *testing.T) {
	var reqs requests
	_, ep := testRegistry(t, reqs.wrap)
	single := push(t, ep, "team/app:1", imageOf(t, amd64, gzipLayer(t, file("f", "x"))))
	arm := v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
	idx := v1.ImageIndex(empty.Index)
	digests := map[string]string{}
	for _, p := range []v1.Platform{amd64, arm} {
		img := imageOf(t, p, gzipLayer(t, file("platform", p.String())))
		d, _ := img.Digest()
		digests[p.String()] = d.String()
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	if err := remote.WriteIndex(ref(t, ep, "team/app:multi"), idx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		reference string
		platform  core.Platform
		want      string
	}{
		{"1", core.Platform{OS: "linux", Architecture: "amd64"}, single.String()},
		{"multi", core.Platform{OS: "linux", Architecture: "amd64"}, digests["linux/amd64"]},
		{"multi", core.Platform{OS: "linux", Architecture: "arm64"}, digests["linux/arm64/v8"]},
	} {
		before := len(reqs.to(""))
		res, err := testBackend(nil).Resolve(context.Background(), core.ResolveRequest{
			Repository: "team/app", Reference: tc.reference, Endpoints: []core.Endpoint{ep}, Platform: tc.platform,
		})
		if err != nil || res.Digest != tc.want {
			t.Fatalf("%s %s: %+v %v, want %s", tc.reference, tc.platform, res, err, tc.want)
		}
		if n := len(reqs.to("")) - before; n != 1 {
			t.Errorf("%s %s: %d requests, want 1", tc.reference, tc.platform, n)
		}
		req := exportReq(t, ep, "team/app", tc.reference)
		req.Platform = tc.platform
		exp, err := testBackend(nil).Export(context.Background(), req)
		if err != nil || exp.Digest != res.Digest {
			t.Fatalf("export of %s is %s (%v), resolve said %s", tc.reference, exp.Digest, err, res.Digest)
		}
	}
}
