package images

import (
	"archive/tar"
	"runtime"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/ocix/ocix/core/tree"
)

// The "rules" image exercises every rule of the OCI image spec's "Applying
// Changesets" in three layers: whiteouts of a file and of a directory,
// opaque directories (sparing what the same layer writes before and after
// the marker), entries replacing one of another type, hard links (and the
// overlay rule that a later rewrite of a linked path leaves the other
// names with the old content), absolute, relative and dangling symlinks,
// special mode bits, owners, xattrs from PAX records, mtimes, device
// nodes, a fifo, long and non-ASCII names. RulesExpected is what a correct
// export of it holds, written out by hand below.

// Layer mtimes: each layer dates its entries, so a tree shows which layer
// a file came from. Whole seconds, which every tar format keeps.
var (
	rulesT1 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	rulesT2 = time.Date(2024, 2, 2, 0, 0, 0, 0, time.UTC)
	rulesT3 = time.Date(2024, 3, 3, 0, 0, 0, 0, time.UTC)
	// Entries with mtimes of their own, unlike any layer's.
	oldFileTime = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	oldDirTime  = time.Date(2002, 3, 4, 5, 6, 7, 0, time.UTC)
	oldLinkTime = time.Date(2003, 4, 5, 6, 7, 8, 0, time.UTC)
)

// Contents that appear in more than one layer or in the expected tree.
const (
	passwd     = "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/owners/home:/bin/sh\n"
	group      = "root:x:0:\ndisk:x:6:\nstaff:x:42:\nuser:x:1000:\n"
	tool       = "#!/bin/sh\necho tool\n"
	oldContent = "old content\n"
	newContent = "new content, written by the top layer\n"
	lowerSame  = "lower version\n"
	upperSame  = "upper version, written after the opaque marker\n"
)

// longName is longer than ustar's 100-byte name field: a PAX path record.
var longName = "long/" + strings.Repeat("abcdefghij", 12) + ".txt"

// capNetBindService is a security.capability value (VFS_CAP_REVISION_2,
// effective) granting CAP_NET_BIND_SERVICE: the one xattr docker export
// carries.
const capNetBindService = "\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"

// RulesConfig is the rules image's config: what an export reports.
var RulesConfig = v1.Config{
	Env:        []string{"PATH=/usr/bin:/bin", "OCIX_RULES=1"},
	WorkingDir: "/owners/home",
	User:       "1000:1000",
	Cmd:        []string{"/links/tool"},
}

// rulesLayer1 is the base every later layer changes.
func rulesLayer1() []node {
	return []node{
		dir("etc", 0o755),
		file("etc/passwd", passwd, 0o644),
		file("etc/group", group, 0o644),
		// Whiteouts: wh/gone goes, wh/kept stays; all of whdir goes.
		dir("wh", 0o755),
		file("wh/gone", "whited out by layer 2\n", 0o644),
		file("wh/kept", "kept\n", 0o644),
		dir("whdir", 0o755),
		file("whdir/a", "a\n", 0o644),
		dir("whdir/sub", 0o755),
		file("whdir/sub/b", "b\n", 0o644),
		// Opaque: everything here is hidden by layer 2's marker.
		dir("opq", 0o755),
		file("opq/lower", "lower layer\n", 0o644),
		dir("opq/lowerdir", 0o755),
		file("opq/lowerdir/x", "x\n", 0o644),
		file("opq/same", lowerSame, 0o644),
		// Type changes: each of these is replaced by layer 2.
		dir("swap", 0o755),
		file("swap/f2d", "a file, then a directory\n", 0o644),
		dir("swap/d2f", 0o755),
		file("swap/d2f/child", "gone with its directory\n", 0o644),
		file("swap/f2l", "a file, then a symlink\n", 0o644),
		symlink("swap/l2f", "/etc/passwd"),
		dir("swap/d2l", 0o755),
		file("swap/d2l/child", "gone with its directory\n", 0o644),
		// A directory over this symlink must not be written through it
		// into /etc.
		symlink("swap/l2d", "../etc"),
		// A directory in two layers: merged, with the upper's metadata.
		dir("merge", 0o755),
		file("merge/lower", "from layer 1\n", 0o644),
		// Hard links within a layer, and symlinks of every kind.
		dir("links", 0o755),
		file("links/tool", tool, 0o755),
		hardlink("links/tool-alias", "links/tool"),
		dir("links/sub", 0o755),
		hardlink("links/sub/tool-too", "links/tool"),
		symlink("links/abs", "/etc/passwd"),
		symlink("links/rel", "../etc/passwd"),
		symlink("links/dangling", "does/not/exist"),
		symlink("links/owned", "tool").owner(1000, 1000),
		// Modes, with the special bits.
		dir("modes", 0o755),
		file("modes/setuid", "setuid\n", 0o4755),
		file("modes/setgid", "setgid\n", 0o2755),
		file("modes/private", "private\n", 0o600),
		file("modes/none", "no permission at all\n", 0o000),
		dir("modes/sticky", 0o1777),
		// A directory made in a setgid directory inherits setgid unless
		// its mode is set explicitly.
		dir("modes/sgid-dir", 0o2775).owner(0, 42),
		dir("modes/sgid-dir/sub", 0o755),
		// A read-only directory that still gets its contents.
		dir("modes/ro", 0o555),
		file("modes/ro/file", "in a read-only directory\n", 0o444),
		// Owners, numeric.
		dir("owners", 0o755),
		file("owners/user", "user's\n", 0o644).owner(1000, 1000),
		file("owners/group", "staff's\n", 0o640).owner(0, 42),
		file("owners/nobody", "nobody's\n", 0o644).owner(65534, 65534),
		file("owners/big", "high ids\n", 0o644).owner(200000, 300000),
		dir("owners/home", 0o700).owner(1000, 1000),
		file("owners/home/.profile", "export PS1='$ '\n", 0o644).owner(1000, 1000),
		// Xattrs, from SCHILY.xattr PAX records.
		dir("xattrs", 0o755),
		file("xattrs/file", "with xattrs\n", 0o644).with(map[string]string{"user.note": "hello", "user.other": "second attribute"}),
		dir("xattrs/dir", 0o755).with(map[string]string{"user.dirnote": "on a directory"}),
		file("xattrs/cap", "binds low ports\n", 0o755).with(map[string]string{"security.capability": capNetBindService}),
		// Mtimes of their own.
		dir("times", 0o755),
		dir("times/dir", 0o755).at(oldDirTime),
		file("times/dir/inside", "inside an old directory\n", 0o644).at(oldFileTime),
		file("times/old", "old\n", 0o644).at(oldFileTime),
		symlink("times/link", "old").at(oldLinkTime),
		// Device nodes and a fifo.
		dir("devices", 0o755),
		device("devices/null", tar.TypeChar, 0o666, 1, 3),
		device("devices/loop0", tar.TypeBlock, 0o660, 7, 0).owner(0, 6),
		device("devices/fifo", tar.TypeFifo, 0o640, 0, 0),
		// Contents: none, and some that compresses badly.
		dir("data", 0o755),
		file("data/empty", "", 0o644),
		file("data/random", randomContent(64<<10), 0o644),
		// Names: longer than ustar allows, and not ASCII.
		dir("long", 0o755),
		file(longName, "a long name\n", 0o644),
		dir("names", 0o755),
		file("names/café ☕", "UTF-8 name\n", 0o644),
	}
}

// rulesLayer2 changes layer 1 by every rule.
func rulesLayer2() []node {
	return []node{
		whiteout("wh/gone"),
		whiteout("wh/never-was"), // hides nothing
		whiteout("whdir"),        // a whole directory
		// The directory's own entry comes first, with new metadata; what
		// this layer writes before and after the marker stays.
		dir("opq", 0o750).owner(1000, 1000),
		file("opq/before", "written before the marker\n", 0o644),
		file("opq/.wh..wh..opq", "", 0o644),
		file("opq/after", "written after the marker\n", 0o644),
		file("opq/same", upperSame, 0o644),
		// Every change of type.
		dir("swap/f2d", 0o755),
		file("swap/f2d/inner", "inside what was a file\n", 0o644),
		file("swap/d2f", "a directory, then a file\n", 0o644),
		symlink("swap/f2l", "../etc/passwd"),
		file("swap/l2f", "a symlink, then a file\n", 0o600),
		symlink("swap/d2l", "/etc"),
		dir("swap/l2d", 0o755),
		file("swap/l2d/inner", "inside what was a symlink\n", 0o644),
		dir("merge", 0o700).owner(1000, 1000),
		file("merge/upper", "from layer 2\n", 0o644),
		// go-containerregistry #2002: three names of one file, the first
		// of which layer 3 rewrites.
		dir("hl", 0o755),
		file("hl/a", oldContent, 0o644),
		hardlink("hl/b", "hl/a"),
		hardlink("hl/c", "hl/a"),
	}
}

// rulesLayer3 is the top layer: the architecture, a directory made again
// after its whiteout and, with quirk, the rewrite of a hard-linked path.
func rulesLayer3(arch string, quirk bool) []node {
	nodes := []node{
		dir("etc", 0o755),
		file("etc/arch", arch+"\n", 0o644),
		dir("whdir", 0o711),
		file("whdir/new", "made again after its whiteout\n", 0o644),
	}
	if quirk {
		nodes = append(nodes, dir("hl", 0o755), file("hl/a", newContent, 0o644))
	}
	return nodes
}

// RulesExpected is what a correct export of the rules image for arch
// holds, path by path. quirk is true for the image with layer 3's rewrite
// of /hl/a (Rules), false for RulesWithoutQuirk.
func RulesExpected(arch string, quirk bool) tree.Manifest {
	m, err := manifestOf(expectedNodes(arch, quirk))
	if err != nil {
		panic(err) // the table below is wrong
	}
	return m
}

// expectedNodes is the expected tree, written by hand from the rules —
// not computed from the layers — with why each path is as it is.
func expectedNodes(arch string, quirk bool) []node {
	n := []node{
		dir("/", 0o755), // no layer names the root: tools make it 0755
		dir("/etc", 0o755),
		file("/etc/passwd", passwd, 0o644),
		file("/etc/group", group, 0o644),
		file("/etc/arch", arch+"\n", 0o644),
		// wh/gone whited out; the whiteout of nothing is no entry.
		dir("/wh", 0o755),
		file("/wh/kept", "kept\n", 0o644),
		// whdir whited out whole, then made again by layer 3 with only
		// its new file and its new mode.
		dir("/whdir", 0o711),
		file("/whdir/new", "made again after its whiteout\n", 0o644),
		// Opaque: layer 1's entries gone, layer 2's all there, the
		// directory with layer 2's metadata.
		dir("/opq", 0o750).owner(1000, 1000),
		file("/opq/before", "written before the marker\n", 0o644),
		file("/opq/after", "written after the marker\n", 0o644),
		file("/opq/same", upperSame, 0o644),
		// Each path has layer 2's type; a replaced directory's children
		// are gone, and nothing was written through the old symlink.
		dir("/swap", 0o755),
		dir("/swap/f2d", 0o755),
		file("/swap/f2d/inner", "inside what was a file\n", 0o644),
		file("/swap/d2f", "a directory, then a file\n", 0o644),
		symlink("/swap/f2l", "../etc/passwd"),
		file("/swap/l2f", "a symlink, then a file\n", 0o600),
		symlink("/swap/d2l", "/etc"),
		dir("/swap/l2d", 0o755),
		file("/swap/l2d/inner", "inside what was a symlink\n", 0o644),
		// Both layers' files, layer 2's metadata.
		dir("/merge", 0o700).owner(1000, 1000),
		file("/merge/lower", "from layer 1\n", 0o644),
		file("/merge/upper", "from layer 2\n", 0o644),
		dir("/links", 0o755),
		file("/links/tool", tool, 0o755),
		hardlink("/links/tool-alias", "/links/tool"),
		dir("/links/sub", 0o755),
		hardlink("/links/sub/tool-too", "/links/tool"),
		symlink("/links/abs", "/etc/passwd"),
		symlink("/links/rel", "../etc/passwd"),
		symlink("/links/dangling", "does/not/exist"),
		symlink("/links/owned", "tool").owner(1000, 1000),
		dir("/modes", 0o755),
		file("/modes/setuid", "setuid\n", 0o4755),
		file("/modes/setgid", "setgid\n", 0o2755),
		file("/modes/private", "private\n", 0o600),
		file("/modes/none", "no permission at all\n", 0o000),
		dir("/modes/sticky", 0o1777),
		dir("/modes/sgid-dir", 0o2775).owner(0, 42),
		dir("/modes/sgid-dir/sub", 0o755), // not 02755, inherited
		dir("/modes/ro", 0o555),
		file("/modes/ro/file", "in a read-only directory\n", 0o444),
		dir("/owners", 0o755),
		file("/owners/user", "user's\n", 0o644).owner(1000, 1000),
		file("/owners/group", "staff's\n", 0o640).owner(0, 42),
		file("/owners/nobody", "nobody's\n", 0o644).owner(65534, 65534),
		file("/owners/big", "high ids\n", 0o644).owner(200000, 300000),
		dir("/owners/home", 0o700).owner(1000, 1000),
		file("/owners/home/.profile", "export PS1='$ '\n", 0o644).owner(1000, 1000),
		dir("/xattrs", 0o755),
		file("/xattrs/file", "with xattrs\n", 0o644).with(map[string]string{"user.note": "hello", "user.other": "second attribute"}),
		dir("/xattrs/dir", 0o755).with(map[string]string{"user.dirnote": "on a directory"}),
		file("/xattrs/cap", "binds low ports\n", 0o755).with(map[string]string{"security.capability": capNetBindService}),
		dir("/times", 0o755),
		dir("/times/dir", 0o755),
		file("/times/dir/inside", "inside an old directory\n", 0o644),
		file("/times/old", "old\n", 0o644),
		symlink("/times/link", "old"),
		dir("/devices", 0o755),
		device("/devices/null", tar.TypeChar, 0o666, 1, 3),
		device("/devices/loop0", tar.TypeBlock, 0o660, 7, 0).owner(0, 6),
		device("/devices/fifo", tar.TypeFifo, 0o640, 0, 0),
		dir("/data", 0o755),
		file("/data/empty", "", 0o644),
		file("/data/random", randomContent(64<<10), 0o644),
		dir("/long", 0o755),
		file("/"+longName, "a long name\n", 0o644),
		dir("/names", 0o755),
		file("/names/café ☕", "UTF-8 name\n", 0o644),
		dir("/hl", 0o755),
	}
	if !quirk {
		// Three names of one file.
		return append(n,
			file("/hl/a", oldContent, 0o644),
			hardlink("/hl/b", "/hl/a"),
			hardlink("/hl/c", "/hl/a"),
		)
	}
	// Layer 3 wrote a new /hl/a, as an overlay copy-up does: /hl/b and
	// /hl/c are still one file, with the old content.
	return append(n,
		file("/hl/a", newContent, 0o644),
		file("/hl/b", oldContent, 0o644),
		hardlink("/hl/c", "/hl/b"),
	)
}

// RulesMtimes are the mtimes a correct export gives some paths: files,
// a symlink and a directory with mtimes of their own, and files of each
// layer. The tree manifest does not hold mtimes.
func RulesMtimes(quirk bool) map[string]time.Time {
	m := map[string]time.Time{
		"/times/old":        oldFileTime,
		"/times/dir/inside": oldFileTime,
		"/times/dir":        oldDirTime,
		"/times/link":       oldLinkTime,
		"/etc/passwd":       rulesT1,
		"/opq/after":        rulesT2,
		"/etc/arch":         rulesT3,
		"/hl/b":             rulesT2,
		"/hl/a":             rulesT2,
	}
	if quirk {
		m["/hl/a"] = rulesT3
	}
	return m
}

// CraneDifferences are the paths where crane's flattening (mutate.Extract,
// go-containerregistry #2002) differs from a correct export of Rules: it
// reads layers top down and keeps layer 2's hard links to /hl/a, so all
// three names are one file with layer 3's content.
func CraneDifferences() []string { return []string{"/hl/a", "/hl/b", "/hl/c"} }

// Rules is the three-layer rules image for linux/arch, with gzip layers
// and OCI media types.
func Rules(arch string) (v1.Image, error) {
	return rulesImage(arch, true, types.OCILayer, gzipLayer, gzipLayer, gzipLayer)
}

// RulesWithoutQuirk is Rules without layer 3's rewrite of a hard-linked
// path (go-containerregistry #2002): crane exports it correctly.
func RulesWithoutQuirk(arch string) (v1.Image, error) {
	return rulesImage(arch, false, types.OCILayer, gzipLayer, gzipLayer, gzipLayer)
}

// RulesSchema2 is Rules with Docker schema 2 media types: manifest,
// config and layers.
func RulesSchema2(arch string) (v1.Image, error) {
	img, err := rulesImage(arch, true, types.DockerLayer, gzipLayer, gzipLayer, gzipLayer)
	if err != nil {
		return nil, err
	}
	return mutate.ConfigMediaType(mutate.MediaType(img, types.DockerManifestSchema2), types.DockerConfigJSON), nil
}

// RulesMixed is Rules with one layer of each compression: gzip, zstd,
// none.
func RulesMixed(arch string) (v1.Image, error) {
	return rulesImage(arch, true, types.OCILayer, gzipLayer, zstdLayer, plainLayer)
}

// RulesIndex is an OCI index of Rules for linux/amd64 and linux/arm64/v8,
// whose /etc/arch tells them apart.
func RulesIndex() (v1.ImageIndex, error) {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64", Variant: "v8"}} {
		img, err := Rules(p.Architecture)
		if err != nil {
			return nil, err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	return idx, nil
}

// rulesImage is the rules image for linux/arch, its three layers made by
// makers (the gzip ones of media type mt).
func rulesImage(arch string, quirk bool, mt types.MediaType, makers ...layerMaker) (v1.Image, error) {
	tars := [][]node{rulesLayer1(), rulesLayer2(), rulesLayer3(arch, quirk)}
	times := []time.Time{rulesT1, rulesT2, rulesT3}
	var layers []v1.Layer
	for i, nodes := range tars {
		b, err := layerTar(nodes, times[i])
		if err != nil {
			return nil, err
		}
		l, err := makers[i](b, mt)
		if err != nil {
			return nil, err
		}
		layers = append(layers, l)
	}
	cfg := &v1.ConfigFile{Architecture: arch, OS: "linux", Config: RulesConfig}
	if arch == "arm64" {
		cfg.Variant = "v8"
	}
	img, err := mutate.ConfigFile(ociBase(), cfg)
	if err != nil {
		return nil, err
	}
	if img, err = mutate.AppendLayers(img, layers...); err != nil {
		return nil, err
	}
	return mutate.CreatedAt(img, v1.Time{Time: rulesT3})
}

// ociBase is the empty image with OCI media types.
func ociBase() v1.Image {
	return mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
}

// Bulk is a one-layer image, uncompressed, holding /data/bulk: size bytes
// that do not compress, so that a test can stall or corrupt its blob in
// the middle of a file's content.
func Bulk(size int) (v1.Image, error) {
	b, err := layerTar([]node{dir("data", 0o755), file("data/bulk", randomContent(size), 0o644)}, rulesT1)
	if err != nil {
		return nil, err
	}
	img, err := mutate.ConfigFile(ociBase(), &v1.ConfigFile{Architecture: runtime.GOARCH, OS: "linux", Config: v1.Config{Cmd: []string{"/data/bulk"}}})
	if err != nil {
		return nil, err
	}
	return mutate.AppendLayers(img, static.NewLayer(b, types.OCIUncompressedLayer))
}
