package tarout

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocix/ocix/e2e/testenv"
)

func sampleTar(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, f := range []struct{ name, body string }{{"a", "hello"}, {"b", "world"}} {
		tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(f.body))
	}
	tw.Close()
	return b.Bytes()
}

// readAll reads a tar stream to its end and returns the error tar readers
// meet, and the names read.
func readAll(data []byte) ([]string, error) {
	tr := tar.NewReader(bytes.NewReader(data))
	var names []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names, nil
		}
		if err != nil {
			return names, err
		}
		names = append(names, h.Name)
	}
}

func TestFinishedStreamIsComplete(t *testing.T) {
	var out bytes.Buffer
	w := New(&out)
	if err := w.Copy(context.Background(), bytes.NewReader(sampleTar(t))); err != nil {
		t.Fatal(err)
	}
	res, err := w.Finish()
	if err != nil || res.Entries != 2 || res.Bytes != int64(out.Len()) || !strings.HasPrefix(res.Digest, "sha256:") {
		t.Fatalf("result %+v, %v", res, err)
	}
	if names, err := readAll(out.Bytes()); err != nil || strings.Join(names, ",") != "a,b" {
		t.Fatalf("read back %v, %v", names, err)
	}
}

func TestAbortedStreamFailsTar(t *testing.T) {
	var out bytes.Buffer
	w := New(&out)
	if err := w.Copy(context.Background(), bytes.NewReader(sampleTar(t))); err != nil {
		t.Fatal(err)
	}
	w.Abort()
	if _, err := readAll(out.Bytes()); err == nil {
		t.Fatal("Go's tar reader read an aborted stream without error")
	}
}

// TestAbortedStreamFailsGNUTar: GNU tar accepts a stream that stops
// between entries; the poison block is what makes it fail.
func TestAbortedStreamFailsGNUTar(t *testing.T) {
	tarBin, err := exec.LookPath("tar")
	if err != nil {
		testenv.Missing(t, "GNU tar is not installed: %v", err)
	}
	var out bytes.Buffer
	w := New(&out)
	if err := w.Copy(context.Background(), bytes.NewReader(sampleTar(t))); err != nil {
		t.Fatal(err)
	}
	w.Abort()
	path := filepath.Join(t.TempDir(), "x.tar")
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command(tarBin, "-xf", path, "-C", t.TempDir()).Run(); err == nil {
		t.Fatal("GNU tar extracted an aborted stream without error")
	}
}

func TestAbortMidEntryLeavesItTruncated(t *testing.T) {
	var out bytes.Buffer
	w := New(&out)
	// A content reader that fails half-way through the entry.
	err := w.add(&tar.Header{Name: "big", Mode: 0o644, Size: 4096, Typeflag: tar.TypeReg}, io.MultiReader(strings.NewReader("part"), failing{}))
	if err == nil {
		t.Fatal("a failing reader did not fail the entry")
	}
	n := out.Len()
	w.Abort()
	if out.Len() != n {
		t.Fatal("Abort wrote into an entry cut midway")
	}
}

type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, errors.New("cut") }
