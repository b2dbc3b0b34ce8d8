package images

import (
	"archive/tar"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/ocix/ocix/core/tree"
)

// diffPaths lists the paths where two manifests differ.
func diffPaths(a, b tree.Manifest) []string {
	var paths []string
	for _, d := range tree.Diff(a, b) {
		if !slices.Contains(paths, d.Path) {
			paths = append(paths, d.Path)
		}
	}
	return paths
}

// The expected trees differ where, and only where, the images do.
func TestRulesExpectedIsConsistent(t *testing.T) {
	amd, arm := RulesExpected("amd64", true), RulesExpected("arm64", true)
	if got := diffPaths(amd, arm); !slices.Equal(got, []string{"/etc/arch"}) {
		t.Errorf("amd64 and arm64 trees differ at %v, want only /etc/arch", got)
	}
	if got := diffPaths(amd, RulesExpected("amd64", false)); !slices.Equal(got, CraneDifferences()) {
		t.Errorf("with and without the hard-link quirk the trees differ at %v, want %v", got, CraneDifferences())
	}
	e := amd["/hl/c"]
	if e.Size != int64(len(oldContent)) || !slices.Equal(e.Links, []string{"/hl/b"}) || len(amd["/hl/a"].Links) != 0 {
		t.Errorf("hard links after the rewrite: /hl/a %+v, /hl/c %+v", amd["/hl/a"], e)
	}
	if got := amd["/links/tool"].Links; !slices.Equal(got, []string{"/links/sub/tool-too", "/links/tool-alias"}) {
		t.Errorf("/links/tool links %v", got)
	}
	if got := amd["/modes/setuid"].Mode.String(); got != "urwxr-xr-x" {
		t.Errorf("/modes/setuid mode %s", got)
	}
}

// layerNames lists every entry name of img's layers, without "./" or a
// trailing slash.
func layerNames(t *testing.T, img v1.Image) map[string]bool {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		for hdr := range entries(t, rc) {
			names["/"+strings.TrimSuffix(hdr.Name, "/")] = true
		}
		rc.Close()
	}
	return names
}

// entries yields the headers of a tar stream.
func entries(t *testing.T, r io.Reader) func(func(*tar.Header) bool) {
	return func(yield func(*tar.Header) bool) {
		tr := tar.NewReader(r)
		for {
			hdr, err := tr.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !yield(hdr) {
				return
			}
		}
	}
}

// Every expected path comes from some layer: the table names no path the
// image lacks.
func TestRulesLayersHoldEveryExpectedPath(t *testing.T) {
	img, err := Rules("amd64")
	if err != nil {
		t.Fatal(err)
	}
	names := layerNames(t, img)
	for p := range RulesExpected("amd64", true) {
		if p != "/" && !names[p] {
			t.Errorf("%s is expected but no layer has it", p)
		}
	}
}

func TestRulesVariants(t *testing.T) {
	mediaTypes := func(img v1.Image) (manifest types.MediaType, layers []types.MediaType) {
		t.Helper()
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range m.Layers {
			layers = append(layers, l.MediaType)
		}
		return m.MediaType, layers
	}
	img, err := Rules("amd64")
	if err != nil {
		t.Fatal(err)
	}
	if mt, ls := mediaTypes(img); mt != types.OCIManifestSchema1 || !slices.Equal(ls, []types.MediaType{types.OCILayer, types.OCILayer, types.OCILayer}) {
		t.Errorf("rules: %s %v", mt, ls)
	}
	cfg, err := img.ConfigFile()
	if err != nil || cfg.Config.User != "1000:1000" || cfg.Config.WorkingDir != "/owners/home" || len(cfg.Config.Env) != 2 || len(cfg.Config.Cmd) != 1 {
		t.Errorf("rules config: %+v %v", cfg, err)
	}
	s2, err := RulesSchema2("amd64")
	if err != nil {
		t.Fatal(err)
	}
	if mt, ls := mediaTypes(s2); mt != types.DockerManifestSchema2 || !slices.Equal(ls, []types.MediaType{types.DockerLayer, types.DockerLayer, types.DockerLayer}) {
		t.Errorf("schema2: %s %v", mt, ls)
	}
	mixed, err := RulesMixed("amd64")
	if err != nil {
		t.Fatal(err)
	}
	if _, ls := mediaTypes(mixed); !slices.Equal(ls, []types.MediaType{types.OCILayer, types.OCILayerZStd, types.OCIUncompressedLayer}) {
		t.Errorf("mixed: %v", ls)
	}
	// The same tar in every variant: the same diff IDs.
	for _, other := range []v1.Image{s2, mixed} {
		a, _ := img.ConfigFile()
		b, _ := other.ConfigFile()
		if !slices.Equal(a.RootFS.DiffIDs, b.RootFS.DiffIDs) {
			t.Errorf("diff IDs differ: %v, %v", a.RootFS.DiffIDs, b.RootFS.DiffIDs)
		}
	}

	idx, err := RulesIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var platforms []string
	for _, m := range im.Manifests {
		platforms = append(platforms, m.Platform.String())
	}
	if !slices.Equal(platforms, []string{"linux/amd64", "linux/arm64/v8"}) {
		t.Errorf("index platforms %v", platforms)
	}

	again, err := Rules("amd64")
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("the rules image is not reproducible: %s, %s", d1, d2)
	}
}

// crane's flattening (mutate.Extract) keeps layer 2's hard links to the
// path layer 3 rewrote: go-containerregistry #2002, which CraneDifferences
// records. When a go-containerregistry update fixes it, this fails, and
// the recorded difference must go.
func TestMutateExtractHasTheHardLinkQuirk(t *testing.T) {
	img, err := Rules("amd64")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*tar.Header{}
	for hdr := range entries(t, mutate.Extract(img)) {
		if strings.HasPrefix(hdr.Name, "hl/") {
			got[hdr.Name] = hdr
		}
	}
	if a := got["hl/a"]; a == nil || a.Typeflag != tar.TypeReg || a.Size != int64(len(newContent)) {
		t.Fatalf("hl/a: %+v", a)
	}
	for _, name := range []string{"hl/b", "hl/c"} {
		if h := got[name]; h == nil || h.Typeflag != tar.TypeLink || h.Linkname != "hl/a" {
			t.Errorf("%s: %+v, want a hard link to the rewritten hl/a", name, h)
		}
	}
	if len(got) != 3 {
		t.Errorf("hl entries: %v", slices.Sorted(maps.Keys(got)))
	}
}
