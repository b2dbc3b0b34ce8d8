package api

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/hashicorp/go-hclog"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/api/registry"
	"github.com/ocix/ocix/plugins/internal/credentials"
)

// testBackend is the api backend with a few quick retries and the given
// credentials.
func testBackend(creds credentials.Store) *backend {
	return &backend{
		log:    hclog.NewNullLogger(),
		client: registry.New(registry.Options{Retries: 3, Credentials: creds}),
	}
}

// testRegistry is go-containerregistry's in-process registry, its
// handler wrapped by wrap when given; it names itself by its address.
func testRegistry(t testing.TB, wrap func(http.Handler) http.Handler) (*httptest.Server, core.Endpoint) {
	t.Helper()
	var h http.Handler = ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	host := srv.Listener.Addr().String()
	return srv, core.Endpoint{Registry: host, Host: host}
}

// staticCreds is a credentials.Store over a map from registry names.
type staticCreds map[string]credentials.Credential

func (s staticCreds) Lookup(_ context.Context, registry, _ string) (credentials.Credential, bool, error) {
	c, ok := s[registry]
	return c, ok, nil
}

func ref(t testing.TB, ep core.Endpoint, repoTag string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(ep.Host + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// push writes img to ep, foreign layers too, which the registry then
// serves like any other.
func push(t testing.TB, ep core.Endpoint, repoTag string, img v1.Image, opts ...remote.Option) v1.Hash {
	t.Helper()
	if err := remote.Write(ref(t, ep, repoTag), img, append(opts, remote.WithNondistributable)...); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// entry is one tar entry of a test layer: a file (content), a directory
// (name ending in "/"), or a symlink (link).
type entry struct {
	name, content, link string
}

func file(name, content string) entry { return entry{name: name, content: content} }
func dir(name string) entry           { return entry{name: name + "/"} }
func symlink(name, to string) entry   { return entry{name: name, link: to} }

func tarOf(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(e.content))}
		switch {
		case strings.HasSuffix(e.name, "/"):
			hdr.Typeflag, hdr.Mode = tar.TypeDir, 0o755
		case e.link != "":
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, e.link
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, e.content); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zstded(t testing.TB, b []byte) []byte {
	t.Helper()
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	return zw.EncodeAll(b, nil)
}

// gzipLayer is an OCI gzip layer of entries.
func gzipLayer(t testing.TB, entries ...entry) v1.Layer {
	return static.NewLayer(gzipped(t, tarOf(t, entries...)), types.OCILayer)
}

// imageOf is an OCI image of layers for platform p.
func imageOf(t testing.TB, p v1.Platform, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Config.Cmd = []string{"/bin/sh"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img
}

var amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}

// exportReq asks for repoTag from ep into a new directory.
func exportReq(t testing.TB, ep core.Endpoint, repo, reference string) core.ExportRequest {
	t.Helper()
	return core.ExportRequest{
		Repository: repo,
		Reference:  reference,
		Endpoints:  []core.Endpoint{ep},
		Platform:   core.Platform{OS: "linux", Architecture: "amd64"},
		Dir:        t.TempDir(),
		ScratchDir: t.TempDir(),
	}
}

// tree describes every entry under root, one line a path: type, mode
// and content or target. Hard links show as the file they share.
func tree(t testing.TB, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == root {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case info.IsDir():
			out[rel] = fmt.Sprintf("dir %o", info.Mode().Perm())
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			out[rel] = "symlink " + target
		default:
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			out[rel] = fmt.Sprintf("file %o %s", info.Mode().Perm(), b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// tarTree describes a tar stream as tree describes a directory.
func tarTree(t testing.TB, r io.Reader) map[string]string {
	t.Helper()
	out := map[string]string{}
	contents := map[string]string{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(hdr.Name, "/")
		switch hdr.Typeflag {
		case tar.TypeDir:
			out[name] = fmt.Sprintf("dir %o", hdr.Mode&0o777)
		case tar.TypeSymlink:
			out[name] = "symlink " + hdr.Linkname
		case tar.TypeLink:
			out[name] = contents[hdr.Linkname]
		case tar.TypeReg:
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			out[name] = fmt.Sprintf("file %o %s", hdr.Mode&0o777, b)
			contents[name] = out[name]
		default:
			t.Fatalf("unexpected entry %s of type %c", hdr.Name, hdr.Typeflag)
		}
	}
}

func wantTree(t *testing.T, got, want map[string]string) {
	t.Helper()
	for _, p := range sortedKeys(want) {
		if got[p] != want[p] {
			t.Errorf("%s: got %q, want %q", p, got[p], want[p])
		}
	}
	for _, p := range sortedKeys(got) {
		if _, ok := want[p]; !ok {
			t.Errorf("%s: unexpected %q", p, got[p])
		}
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func wantError(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %q", want)
	}
	if got := err.Error(); got != want {
		t.Fatalf("error:\n got %q\nwant %q", got, want)
	}
}

// noise is n bytes that do not compress, the same every time.
func noise(n int) string {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return string(b)
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// requests records the requests a test registry was asked.
type requests struct {
	mu   sync.Mutex
	list []*http.Request
}

func (l *requests) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.list = append(l.list, r.Clone(context.Background()))
		l.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// to is the requests for paths ending in suffix.
func (l *requests) to(suffix string) []*http.Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*http.Request
	for _, r := range l.list {
		if strings.HasSuffix(r.URL.Path, suffix) {
			out = append(out, r)
		}
	}
	return out
}
