package images

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/ocix/ocix/e2e/tartest"
)

// The hostile images are the layer applier's hostile unit cases as
// images, for every export backend: layers aiming at a directory of the
// host (target, an absolute path the test makes) through symlinks, "..",
// hard links and whiteouts; extended attributes a root filesystem export
// does not carry; the kernel's limits on symlinks and names; GNU tar's
// own headers; an opaque whiteout at the root; and layers that inflate.
// Each one says what a successful export holds; a backend may also
// refuse the image, in one line. Either way target stays as it was.

// hostileTime dates every hostile entry.
var hostileTime = time.Date(2025, 5, 5, 0, 0, 0, 0, time.UTC)

// HostileSparseSize is the logical size of the sparse file and of the
// file of zeros in the "inflate" image: far more than their compressed
// layer.
const HostileSparseSize = 64 << 20

// Hostile is one hostile image and what an export of it must show.
type Hostile struct {
	Name  string
	Image v1.Image
	// Refused says ocix's own layer applier refuses the image (the api
	// and crane backends fail); engines may refuse it or apply it their
	// way.
	Refused bool
	// Files are paths (relative to the export) and their content, when
	// the export succeeds.
	Files map[string]string
	// Absent are paths a successful export must not hold.
	Absent []string
	// Blocks are paths a successful export holds as block device 8:0.
	Blocks []string
	// Holes are paths a successful export holds as files of
	// HostileSparseSize bytes, nearly all of them holes.
	Holes []string
}

// HostileImages are the hostile images aiming at target, an absolute
// directory of the host.
func HostileImages(target string) ([]Hostile, error) {
	rel := strings.TrimPrefix(target, "/")
	up := strings.Repeat("../", 12)
	chain := func(n int, end string) []node {
		var out []node
		for i := 1; i <= n; i++ {
			to := "l" + strconv.Itoa(i+1)
			if i == n {
				to = end
			}
			out = append(out, symlink("l"+strconv.Itoa(i), to))
		}
		return out
	}
	longDir := strings.Repeat("d", 250)
	deep := strings.Repeat(longDir+"/", 15) + strings.Repeat("f", 200) // 3965 bytes
	long := strings.Repeat("g", 150)
	sparse, err := tartest.GNUSparse("sparse", 0o644, hostileTime, HostileSparseSize,
		[]tartest.Fragment{{Offset: HostileSparseSize / 2, Length: 5}}, "hello")
	if err != nil {
		return nil, err
	}

	cases := []struct {
		h      Hostile
		layers [][]node
		raw    [][]byte // layers written as they are, after the node layers
		gnu    bool     // write the node layers in GNU format
	}{
		{h: Hostile{Name: "escape", Files: map[string]string{rel + "/pwned": "1", rel + "/pwned2": "2", rel + "/pwned3": "3"}},
			layers: [][]node{
				{symlink("abs", target), symlink("up", up), symlink("rel", up+rel)},
				{file("abs/pwned", "1", 0o644), file("up/"+rel+"/pwned2", "2", 0o644), file("rel/pwned3", "3", 0o644),
					whiteout("abs/file"), whiteout("rel/dir"), whiteout("up/" + rel + "/link")},
			}},
		{h: Hostile{Name: "dotdot", Refused: true, Absent: []string{"pwned"}},
			layers: [][]node{{file(up+rel+"/pwned", "1", 0o644)}}},
		{h: Hostile{Name: "hardlink", Refused: true, Absent: []string{"hl"}},
			layers: [][]node{{hardlink("hl", target+"/file")}}},
		{h: Hostile{Name: "xattrs", Files: map[string]string{"x": "x"}},
			layers: [][]node{{file("x", "x", 0o755).with(map[string]string{
				"user.keep": "kept", "security.capability": capNetBindService,
				"trusted.overlay.opaque": "y", "trusted.overlay.redirect": target, "security.selinux": "system_u:object_r:shadow_t:s0",
			})}}},
		{h: Hostile{Name: "chain40", Files: map[string]string{rel + "/pwned": "1"}},
			layers: [][]node{append(chain(40, target), file("l1/pwned", "1", 0o644))}},
		{h: Hostile{Name: "chain41", Refused: true, Absent: []string{rel + "/pwned"}},
			layers: [][]node{append(chain(41, target), file("l1/pwned", "1", 0o644))}},
		{h: Hostile{Name: "namemax", Refused: true, Absent: []string{"n"}},
			layers: [][]node{{dir("n", 0o755), file("n/"+strings.Repeat("n", 256), "1", 0o644)}}},
		{h: Hostile{Name: "gnu", Files: map[string]string{rel + "/" + long: "g", deep: "deep", strings.Repeat("n", 255): "255"}},
			gnu: true,
			layers: [][]node{{symlink("abs", target), file("abs/"+long, "g", 0o644), file(deep, "deep", 0o644),
				file(strings.Repeat("n", 255), "255", 0o644)}}},
		{h: Hostile{Name: "opaque-root", Files: map[string]string{"b": "b"}, Absent: []string{"a", "d", "abs", rel}},
			layers: [][]node{
				{file("a", "a", 0o644), dir("d", 0o755), symlink("abs", target), file("abs/x", "x", 0o644)},
				{file(".wh..wh..opq", "", 0o644), file("b", "b", 0o644)},
			}},
		{h: Hostile{Name: "devices", Blocks: []string{"dev/sda", rel + "/sda"}},
			layers: [][]node{{dir("dev", 0o755), device("dev/sda", tar.TypeBlock, 0o660, 8, 0), symlink("abs", target),
				device("abs/sda", tar.TypeBlock, 0o660, 8, 0)}}},
		{h: Hostile{Name: "inflate", Holes: []string{"zeros", "sparse"}},
			layers: [][]node{{file("zeros", string(make([]byte, HostileSparseSize)), 0o644)}},
			raw:    [][]byte{sparse}},
	}
	var out []Hostile
	for _, c := range cases {
		var layers []v1.Layer
		for _, nodes := range c.layers {
			b, err := layerTar(nodes, hostileTime)
			if err == nil && c.gnu {
				b, err = asGNU(b)
			}
			if err != nil {
				return nil, fmt.Errorf("hostile image %s: %w", c.h.Name, err)
			}
			l, err := gzipLayer(b, types.OCILayer)
			if err != nil {
				return nil, err
			}
			layers = append(layers, l)
		}
		for _, b := range c.raw {
			layers = append(layers, static.NewLayer(b, types.OCIUncompressedLayer))
		}
		img, err := mutate.ConfigFile(ociBase(), &v1.ConfigFile{Architecture: runtime.GOARCH, OS: "linux",
			Config: v1.Config{Cmd: []string{"/hostile"}}})
		if err != nil {
			return nil, err
		}
		if c.h.Image, err = mutate.AppendLayers(img, layers...); err != nil {
			return nil, err
		}
		out = append(out, c.h)
	}
	return out, nil
}

// asGNU writes a layer tar again in GNU format: names and link targets
// over 100 bytes in GNU long-name headers instead of PAX records. It
// refuses a layer with PAX records of other kinds, which GNU cannot hold.
func asGNU(layer []byte) ([]byte, error) {
	tr := tar.NewReader(bytes.NewReader(layer))
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		for k := range hdr.PAXRecords {
			if k != "path" && k != "linkpath" {
				return nil, fmt.Errorf("%s: PAX record %s has no GNU form", hdr.Name, k)
			}
		}
		hdr.PAXRecords, hdr.Format = nil, tar.FormatGNU
		hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("%s: %w", hdr.Name, err)
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
