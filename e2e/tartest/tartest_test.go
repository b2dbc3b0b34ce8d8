package tartest

import (
	"archive/tar"
	"bytes"
	"io"
	"testing"
	"time"
)

// archive/tar reads what GNUSparse writes: the name, the logical size,
// the data where the fragments put it and zeros elsewhere.
func TestGNUSparseReadsBack(t *testing.T) {
	b, err := GNUSparse("sparse", 0o644, time.Unix(1e9, 0), 64, []Fragment{{8, 5}, {60, 4}}, "helloTAIL")
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(bytes.NewReader(b))
	hdr, err := tr.Next()
	if err != nil || hdr.Name != "sparse" || hdr.Size != 64 || hdr.Typeflag != tar.TypeGNUSparse {
		t.Fatalf("header %+v, %v", hdr, err)
	}
	got, err := io.ReadAll(tr)
	want := make([]byte, 64)
	copy(want[8:], "hello")
	copy(want[60:], "TAIL")
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("content %q, %v; want %q", got, err, want)
	}
	if _, err := tr.Next(); err != io.EOF {
		t.Fatalf("after the entry: %v, want the end", err)
	}
}
