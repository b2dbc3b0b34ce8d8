package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// The export benchmark's image: a realistic multi-layer root filesystem —
// Debian bookworm minbase from Debian's archive, then layers of real files
// (sources, headers) that add, delete and replace thousands of files —
// about 490 MB and 30,000 entries uncompressed, gzip at the default level.
// Building it takes minutes (mmdebstrap downloads ~40 MB of packages), so
// it is kept as an OCI layout in the cache and built only once.
const benchImageVersion = "v3"

// layerSpec makes one layer's uncompressed tar at path.
type layerSpec struct {
	name string
	make func(path string) error
}

var benchLayers = []layerSpec{
	{"debian bookworm minbase (mmdebstrap)", func(p string) error {
		return run("mmdebstrap", "--quiet", "--variant=minbase", "--mode=root", "bookworm", p, "http://deb.debian.org/debian")
	}},
	{"Go sources as /usr/src/go", func(p string) error {
		return tarDir(p, filepath.Join(goroot(), "src"), "usr/src/go")
	}},
	{"C headers as /usr/include", func(p string) error {
		return tarDir(p, "/usr/include", "usr/include")
	}},
	{"deletions and replacements", changesLayer},
	{"Go tools' sources again, replacing", func(p string) error {
		return tarDir(p, filepath.Join(goroot(), "src", "cmd"), "usr/src/go/cmd")
	}},
}

// benchImage returns the benchmark image from the cache, building it first
// if needed, and the path of its layout (blobs for the gunzip floors).
func benchImage(cacheDir string) (v1.Image, string, error) {
	dir := filepath.Join(cacheDir, "export-image-"+benchImageVersion)
	if img, err := cachedImage(dir); err == nil {
		return img, dir, nil
	}
	if err := buildImage(cacheDir, dir); err != nil {
		return nil, "", err
	}
	img, err := cachedImage(dir)
	return img, dir, err
}

// cachedImage is the one image of the layout at dir.
func cachedImage(dir string) (v1.Image, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, err
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(m.Manifests) != 1 {
		return nil, fmt.Errorf("%s holds %d images, want 1", dir, len(m.Manifests))
	}
	return p.Image(m.Manifests[0].Digest)
}

// buildImage builds the image into a layout at dir.
func buildImage(cacheDir, dir string) error {
	if _, err := exec.LookPath("mmdebstrap"); err != nil {
		return fmt.Errorf("mmdebstrap not found: apt-get install mmdebstrap (the export benchmark builds a Debian root filesystem)")
	}
	work, err := os.MkdirTemp(cacheDir, "build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	var layers []v1.Layer
	for i, spec := range benchLayers {
		fmt.Printf("  building layer %d/%d: %s…\n", i+1, len(benchLayers), spec.name)
		tarPath := filepath.Join(work, fmt.Sprintf("layer%d.tar", i))
		if err := spec.make(tarPath); err != nil {
			return fmt.Errorf("layer %d (%s): %w", i+1, spec.name, err)
		}
		// gzip at the default level, as docker and buildkit push; pigz
		// for speed, its output is ordinary gzip.
		if err := run("pigz", "-6", "-n", tarPath); err != nil {
			return err
		}
		l, err := tarball.LayerFromFile(tarPath + ".gz")
		if err != nil {
			return err
		}
		layers = append(layers, l)
	}
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		return err
	}
	img, err = mutate.Config(img, v1.Config{Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, Cmd: []string{"bash"}})
	if err != nil {
		return err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf.OS, cf.Architecture = "linux", "amd64"
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return err
	}
	os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendImage(img)
}

// tarDir writes src's tree as a tar whose names start with prefix, owned
// by root, as a Dockerfile COPY would make it.
func tarDir(out, src, prefix string) error {
	parent, base := filepath.Split(strings.TrimSuffix(src, "/"))
	return run("tar", "-C", parent, "-cf", out, "--numeric-owner", "--owner=0", "--group=0",
		"--transform", "s,^"+base+","+prefix+",", base)
}

// changesLayer deletes a third of the Go sources' directories (whiteouts),
// makes /usr/src/go/cmd opaque with new files, and rewrites every fifth
// header of the /usr/include layer.
func changesLayer(out string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	add := func(name string, body []byte, mode int64) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	src := filepath.Join(goroot(), "src")
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for i, e := range entries {
		// cmd stays: it is made opaque below.
		if e.IsDir() && i%3 == 0 && e.Name() != "cmd" {
			if err := add("usr/src/go/.wh."+e.Name(), nil, 0o644); err != nil {
				return err
			}
		}
	}
	for _, dir := range []string{"usr/src/go/cmd/", "usr/src/go/cmd/new/"} {
		if err := tw.WriteHeader(&tar.Header{Name: dir, Mode: 0o755, Typeflag: tar.TypeDir}); err != nil {
			return err
		}
	}
	if err := add("usr/src/go/cmd/.wh..wh..opq", nil, 0o644); err != nil {
		return err
	}
	for i := range 2000 {
		body := bytes.Repeat([]byte(fmt.Sprintf("replaced file %d\n", i)), 64)
		if err := add(fmt.Sprintf("usr/src/go/cmd/new/f%04d.txt", i), body, 0o644); err != nil {
			return err
		}
	}
	n := 0
	err = filepath.WalkDir("/usr/include", func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		if n++; n%5 != 0 {
			return nil
		}
		return add(strings.TrimPrefix(path, "/"), []byte("/* rewritten by the benchmark's change layer */\n"), 0o644)
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

func goroot() string {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return "/usr/local/go"
	}
	return strings.TrimSpace(string(out))
}

func run(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %v: %s", name, err, firstLine(stderr.String()))
	}
	return nil
}
