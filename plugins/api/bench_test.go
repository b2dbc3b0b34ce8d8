package api

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"

	"github.com/ocix/ocix/e2e/testenv"
)

// benchLayers are the benchmark image's layers, made of this machine's
// files: about 500 MB and 30,000 entries, 150 MB gzipped, shaped like a
// language runtime's image (a source tree, locales, compilers, a
// scripting language's library, small files).
var benchLayers = [][]string{
	{filepath.Join(runtime.GOROOT(), "src")},
	{"/usr/share/locale/[a-k]*"},
	{"/usr/lib/gcc"},
	{"/usr/lib/python3.[0-9]*", "/usr/share/perl", "/usr/share/i18n", "/usr/share/vim"},
	{"/usr/share/icons", "/etc", "/usr/share/mime"},
}

var benchImage = sync.OnceValues(func() ([]v1.Layer, error) {
	layers := make([]v1.Layer, len(benchLayers))
	errs := make([]error, len(benchLayers))
	var wg sync.WaitGroup
	for i, globs := range benchLayers {
		wg.Go(func() {
			var b []byte
			b, errs[i] = gzipTree(globs)
			layers[i] = static.NewLayer(b, types.DockerLayer)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return layers, nil
})

// BenchmarkExport exports the image of benchLayers from an in-process
// registry into a directory, or a tar file, under $OCIX_BENCH_DIR (make it
// a tmpfs: the disk's speed is not what is measured) or the test's
// temporary directory.
//
//	go test -run '^$' -bench Export -benchtime 5x ./plugins/api/
func BenchmarkExport(b *testing.B) {
	layers, err := benchImage()
	if err != nil {
		testenv.Missing(b, "cannot build the benchmark image from this machine's files: %v", err)
	}
	img := imageOf(b, amd64, layers...)
	_, ep := testRegistry(b, nil)
	digest := push(b, ep, "bench/app:1", img)
	var size int64
	for _, l := range layers {
		r, _ := l.Compressed()
		zr, err := gzip.NewReader(r)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, zr)
		size += n
	}
	parent := os.Getenv("OCIX_BENCH_DIR")
	if parent == "" {
		parent = b.TempDir()
	}
	be := testBackend(nil)
	for _, dest := range []string{"dir", "tar"} {
		b.Run(dest, func(b *testing.B) {
			b.SetBytes(size)
			for range b.N {
				b.StopTimer()
				work, err := os.MkdirTemp(parent, "bench-")
				if err != nil {
					b.Fatal(err)
				}
				req := exportReq(b, ep, "bench/app", "1")
				req.Dir, req.ScratchDir = filepath.Join(work, "rootfs"), filepath.Join(work, "scratch")
				os.Mkdir(req.Dir, 0o755)
				os.Mkdir(req.ScratchDir, 0o700)
				if dest == "tar" {
					f, err := os.Create(filepath.Join(work, "out.tar"))
					if err != nil {
						b.Fatal(err)
					}
					defer f.Close()
					req.Dir, req.Tar = "", f
				}
				b.StartTimer()
				res, err := be.Export(context.Background(), req)
				if err != nil || res.Digest != digest.String() {
					b.Fatalf("export: %v (digest %s)", err, res.Digest)
				}
				b.StopTimer()
				os.RemoveAll(work)
				b.StartTimer()
			}
		})
	}
}

// gzipTree is a gzipped tar of the trees the globs match, named relative
// to /, as `tar -C / -cz` makes it.
func gzipTree(globs []string) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, g := range globs {
		roots, err := filepath.Glob(g)
		if err != nil || len(roots) == 0 {
			return nil, fs.ErrNotExist
		}
		for _, root := range roots {
			if err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				return addFile(tw, path)
			}); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func addFile(tw *tar.Writer, path string) error {
	info, err := os.Lstat(path)
	if err != nil {
		return err
	}
	var link string
	if info.Mode()&fs.ModeSymlink != 0 {
		if link, err = os.Readlink(path); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return err
	}
	hdr.Name = strings.TrimPrefix(path, "/")
	if info.IsDir() {
		hdr.Name += "/"
	}
	if !info.Mode().IsRegular() && !info.IsDir() && link == "" {
		return nil // sockets, devices: not in an image's files
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(tw, f)
	return err
}
