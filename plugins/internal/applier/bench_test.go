package applier

import (
	"archive/tar"
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/ocix/ocix/e2e/testenv"
)

// benchDir is where the benchmarks extract: a tmpfs, so that they measure
// the applier and not a disk.
const benchDir = "/dev/shm"

// benchTarEnv names a tar to benchmark with instead of the synthetic one
// (e.g. `tar -cf /dev/shm/usr.tar -C / usr` for a real tree).
const benchTarEnv = "APPLIER_BENCH_TAR"

// benchLayer returns a layer tar in benchDir and its size: the one named
// by $APPLIER_BENCH_TAR, or a synthetic Debian-like tree of about 200 MB
// and 20k entries: 2,000 directories, 17,500 files (most a few KiB, one in
// ten 48 KiB, one in a hundred 512 KiB), 500 symlinks and 500 hard links.
func benchLayer(b *testing.B) (string, int64) {
	if p := os.Getenv(benchTarEnv); p != "" {
		fi, err := os.Stat(p)
		if err != nil {
			b.Fatal(err)
		}
		return p, fi.Size()
	}
	if fi, err := os.Stat(benchDir); err != nil || !fi.IsDir() {
		testenv.Missing(b, "%s (tmpfs) is not available", benchDir)
	}
	dst, err := os.CreateTemp(benchDir, "applier-bench-*.tar")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.Remove(dst.Name()) })
	bw := bufio.NewWriterSize(dst, 1<<20)
	writeSyntheticTree(b, bw)
	if err := bw.Flush(); err != nil {
		b.Fatal(err)
	}
	size, _ := dst.Seek(0, 1)
	dst.Close()
	return dst.Name(), size
}

func writeSyntheticTree(b *testing.B, w *bufio.Writer) {
	tw := tar.NewWriter(w)
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 512<<10)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	// Whole seconds and short names: plain USTAR headers, as in most
	// layers that docker builds.
	mtime := t0.Truncate(time.Second)
	hdr := func(h tar.Header) {
		h.ModTime = mtime
		if err := tw.WriteHeader(&h); err != nil {
			b.Fatal(err)
		}
	}
	hdr(tar.Header{Typeflag: tar.TypeDir, Name: "usr/", Mode: 0o755})
	file := 0
	for d := range 2000 {
		dir := fmt.Sprintf("usr/share/pkg%03d/sub%d", d/4, d%4)
		if d%4 == 0 {
			hdr(tar.Header{Typeflag: tar.TypeDir, Name: fmt.Sprintf("usr/share/pkg%03d/", d/4), Mode: 0o755})
		}
		hdr(tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755})
		for range 9 {
			size := 1024 + rng.IntN(3072)
			switch {
			case file%100 == 0:
				size = 512 << 10
			case file%10 == 0:
				size = 48 << 10
			}
			name := fmt.Sprintf("%s/file%d", dir, file)
			hdr(tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(size)})
			if _, err := tw.Write(data[:size]); err != nil {
				b.Fatal(err)
			}
			if file%35 == 1 {
				hdr(tar.Header{Typeflag: tar.TypeLink, Name: name + ".hl", Linkname: name})
			}
			if file%35 == 2 {
				hdr(tar.Header{Typeflag: tar.TypeSymlink, Name: name + ".sl", Linkname: fmt.Sprintf("file%d", file)})
			}
			file++
		}
	}
	if err := tw.Close(); err != nil {
		b.Fatal(err)
	}
}

func freshDir(b *testing.B) string {
	dir, err := os.MkdirTemp(benchDir, "applier-bench-root-*")
	if err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkApply applies the layer into a fresh directory on tmpfs.
func BenchmarkApply(b *testing.B) {
	p, size := benchLayer(b)
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		root := freshDir(b)
		b.StartTimer()
		applyFile(b, root, p)
		b.StopTimer()
		os.RemoveAll(root)
		b.StartTimer()
	}
}

func applyFile(b *testing.B, root, layerPath string) {
	f, err := os.Open(layerPath)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	a, err := New(root, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	if _, err := a.Apply(context.Background(), f); err != nil {
		b.Fatal(err)
	}
	if err := a.Finish(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkTarX is the yardstick: GNU tar extracting the same layer.
func BenchmarkTarX(b *testing.B) {
	tarBin, err := exec.LookPath("tar")
	if err != nil {
		testenv.Missing(b, "GNU tar is not installed: %v", err)
	}
	p, size := benchLayer(b)
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		root := freshDir(b)
		b.StartTimer()
		if out, err := exec.Command(tarBin, "-xf", p, "-C", root).CombinedOutput(); err != nil {
			b.Fatalf("tar: %v\n%s", err, out)
		}
		b.StopTimer()
		os.RemoveAll(root)
		b.StartTimer()
	}
}
