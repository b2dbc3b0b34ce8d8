package export

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/applier"
)

// layer is a tar of regular files (name → content) and whiteouts (content
// "").
func layer(t *testing.T, files ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := 0; i < len(files); i += 2 {
		hdr := &tar.Header{Name: files[i], Mode: 0o644, Size: int64(len(files[i+1])), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(files[i+1]))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// names lists a tar's entries; complete is whether it ends as a tar does.
func names(t *testing.T, b []byte) (names []string, complete bool) {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return names, true
		}
		if err != nil {
			return names, false
		}
		names = append(names, hdr.Name)
	}
}

// tarRequest is a request for a tar destination, written to a file.
func tarRequest(t *testing.T) (core.ExportRequest, func() []byte) {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "out.tar"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return core.ExportRequest{Tar: f, ScratchDir: t.TempDir()}, func() []byte {
		b, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}

func stream(b []byte, perr error) Stream {
	return Pipe(func(w io.Writer) error {
		if _, err := w.Write(b); err != nil {
			return err
		}
		return perr
	})
}

// A stream goes to a directory through the applier, and to a tar as it
// is, its digest the digest of what was written.
func TestDeliverStream(t *testing.T) {
	l := layer(t, "a", "one", "b", "two")

	dir := t.TempDir()
	d, err := Deliver(context.Background(), core.ExportRequest{Dir: dir}, stream(l, nil))
	if err != nil || d.Entries != 2 {
		t.Fatalf("to a directory: %+v, %v", d, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "b")); err != nil || string(b) != "two" {
		t.Fatalf("b: %q, %v", b, err)
	}

	req, written := tarRequest(t)
	var progress int64
	req.Events = func(ev core.Event) {
		if ev.Progress != nil {
			progress = ev.Progress.Done
		}
	}
	d, err = Deliver(context.Background(), req, stream(l, nil))
	if err != nil {
		t.Fatal(err)
	}
	out := written()
	sum := sha256.Sum256(out)
	if got, complete := names(t, out); !slices.Equal(got, []string{"a", "b"}) || !complete ||
		d.TarDigest != "sha256:"+hex.EncodeToString(sum[:]) || d.Bytes != int64(len(out)) {
		t.Fatalf("to a tar: %v (complete %v), %+v", got, complete, d)
	}
	if progress != int64(len(l)) {
		t.Fatalf("progress %d, want the stream's %d bytes", progress, len(l))
	}
}

// A stream that ends cleanly before its producer finds it bad fails with
// the producer's error, and the tar does not end as one; so does a
// stream that carries its producer's failure.
func TestDeliverStreamProducerFails(t *testing.T) {
	bad := errors.New("digest mismatch")
	req, written := tarRequest(t)
	clean := Stream{R: io.NopCloser(bytes.NewReader(layer(t, "a", "one"))), Wait: func() error { return bad }}
	_, err := Deliver(context.Background(), req, clean)
	if !errors.Is(err, bad) {
		t.Fatalf("error %v, want the producer's", err)
	}
	if _, complete := names(t, written()); complete {
		t.Fatal("a failed stream ends as a complete tar")
	}
	req, written = tarRequest(t)
	if _, err := Deliver(context.Background(), req, stream(layer(t, "a", "one"), bad)); !errors.Is(err, bad) {
		t.Fatalf("error %v, want the producer's", err)
	}
	if _, complete := names(t, written()); complete {
		t.Fatal("a failed stream ends as a complete tar")
	}
}

// Layers are applied in order — a later one's whiteout removes what an
// earlier one made — and a tar destination is written from the tree.
func TestDeliverLayers(t *testing.T) {
	layers := [][]byte{layer(t, "a", "one", "b", "two"), layer(t, ".wh.a", "", "c", "three")}
	produce := Layers(func(ctx context.Context, to Target) (applier.Stats, error) {
		var total applier.Stats
		for _, l := range layers {
			st, err := to.Apply(ctx, bytes.NewReader(l))
			total.Entries += st.Entries
			if err != nil {
				return total, err
			}
		}
		return total, to.Finish()
	})
	req, written := tarRequest(t)
	d, err := Deliver(context.Background(), req, produce)
	if err != nil {
		t.Fatal(err)
	}
	if got, complete := names(t, written()); !slices.Equal(got, []string{"b", "c"}) || !complete || d.Entries != 2 {
		t.Fatalf("tar holds %v (complete %v), %+v", got, complete, d)
	}

	dir := t.TempDir()
	if _, err := Deliver(context.Background(), core.ExportRequest{Dir: dir}, produce); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "a")); !os.IsNotExist(err) {
		t.Fatalf("a survived its whiteout: %v", err)
	}

	// A failed producer writes nothing to the tar, and its error is the
	// one returned.
	bad := errors.New("layer 2: digest mismatch")
	req, written = tarRequest(t)
	_, err = Deliver(context.Background(), req, Layers(func(context.Context, Target) (applier.Stats, error) {
		return applier.Stats{}, bad
	}))
	if err != bad || len(written()) != 0 {
		t.Fatalf("error %v, %d bytes written", err, len(written()))
	}
}

// A request without a destination is refused before anything is
// produced.
func TestDeliverNoDestination(t *testing.T) {
	_, err := Deliver(context.Background(), core.ExportRequest{}, Layers(func(context.Context, Target) (applier.Stats, error) {
		t.Fatal("produced for no destination")
		return applier.Stats{}, nil
	}))
	if err == nil {
		t.Fatal("no error")
	}
}
