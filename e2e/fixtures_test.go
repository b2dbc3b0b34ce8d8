//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/ocix/ocix/core/tree"
	"github.com/ocix/ocix/e2e/front"
	"github.com/ocix/ocix/e2e/images"
)

// hostArch is the architecture an export picks from an index by default.
const hostArch = runtime.GOARCH

// bulkSize is the size of the bulk image's one file: large enough that a
// stalled or corrupted blob is cut in the middle of its content.
const bulkSize = 8 << 20

// rulesSet is where the rules images are, in the shared v3 registry.
type rulesSet struct {
	index, single, schema2, mixed, noQuirk, bulk string // references
	// digests are the index's manifest digests by architecture.
	digests map[string]string
	// bulkRepo is the bulk image's repository, to reach it through a front.
	bulkRepo string
	// bulkLayer is the digest of the bulk image's one layer.
	bulkLayer v1.Hash
}

var (
	rulesOnce   sync.Once
	rulesPushed *rulesSet
	rulesErr    error
)

// rulesImages pushes the rules images once, for every test that needs them.
func rulesImages(t *testing.T) (*world, *rulesSet) {
	t.Helper()
	w := need(t)
	rulesOnce.Do(func() { rulesPushed, rulesErr = pushRules(w) })
	if rulesErr != nil {
		t.Fatal(rulesErr)
	}
	return w, rulesPushed
}

func pushRules(w *world) (*rulesSet, error) {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	repo := func(name string) images.Repository { return images.Repository{Host: w.v3.Host, Name: "rules/" + name} }
	set := &rulesSet{digests: map[string]string{}, bulkRepo: repo("bulk").Name}

	idx, err := images.RulesIndex()
	if err != nil {
		return nil, err
	}
	if err := images.PushIndex(ctx, repo("index"), "latest", idx); err != nil {
		return nil, err
	}
	set.index = repo("index").Ref("latest")
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, m := range im.Manifests {
		set.digests[m.Platform.Architecture] = m.Digest.String()
	}

	bulk, err := images.Bulk(bulkSize)
	if err != nil {
		return nil, err
	}
	layers, err := bulk.Layers()
	if err != nil {
		return nil, err
	}
	if set.bulkLayer, err = layers[0].Digest(); err != nil {
		return nil, err
	}
	for _, p := range []struct {
		ref   *string
		name  string
		image func(string) (v1.Image, error)
	}{
		{&set.single, "single", images.Rules},
		{&set.schema2, "schema2", images.RulesSchema2},
		{&set.mixed, "mixed", images.RulesMixed},
		{&set.noQuirk, "noquirk", images.RulesWithoutQuirk},
		{&set.bulk, "bulk", func(string) (v1.Image, error) { return bulk, nil }},
	} {
		img, err := p.image(hostArch)
		if err != nil {
			return nil, err
		}
		if err := images.Push(ctx, repo(p.name), "latest", img); err != nil {
			return nil, err
		}
		*p.ref = repo(p.name).Ref("latest")
	}
	return set, nil
}

// pushRandom pushes to the shared registry, as name:1, an image for this
// platform with one layer of size random bytes, and returns its
// repository and the layer's digest.
func pushRandom(t *testing.T, w *world, name string, size int64) (string, v1.Hash) {
	t.Helper()
	img, err := random.Image(size, 1)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf.OS, cf.Architecture = "linux", hostArch
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	layer, err := layers[0].Digest()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := images.Push(ctx, images.Repository{Host: w.v3.Host, Name: name}, "1", img); err != nil {
		t.Fatal(err)
	}
	return name, layer
}

// listenFront is runFront, closed when the test ends.
func listenFront(t *testing.T, w *world, rules ...front.Rule) *front.Server {
	t.Helper()
	f := runFront(t, w, rules...)
	t.Cleanup(func() { f.Close() })
	return f
}

// runFront starts a front over the v3 registry with rules and without the
// tag-list throttle, for one run: the caller closes it, which ends what
// its rules still hold.
func runFront(t *testing.T, w *world, rules ...front.Rule) *front.Server {
	t.Helper()
	f, err := front.Listen("127.0.0.1:0", front.Options{Upstream: w.v3.Host, NoThrottle: true, Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// stallTagPage lets the first page-1 tag-list requests through and holds
// every later one until its client goes away; stalled is closed at the
// first held.
func stallTagPage(page int, stalled chan<- struct{}) front.Rule {
	var (
		mu   sync.Mutex
		seen int
		once sync.Once
	)
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if r.Method != http.MethodGet || front.RouteOf(r).Kind != front.KindTags {
			next.ServeHTTP(w, r)
			return
		}
		mu.Lock()
		seen++
		n := seen
		mu.Unlock()
		if n < page {
			next.ServeHTTP(w, r)
			return
		}
		once.Do(func() { close(stalled) })
		<-r.Context().Done()
	}
}

// isBlobGet reports whether r fetches the blob digest.
func isBlobGet(r *http.Request, digest string) bool {
	route := front.RouteOf(r)
	return r.Method == http.MethodGet && route.Kind == front.KindBlob && route.Reference == digest
}

// corruptBlob inverts the byte at offset at of blob digest in flight: the
// registry serves the right number of bytes, which do not match their
// digest.
func corruptBlob(digest string, at int64) front.Rule {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if !isBlobGet(r, digest) {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(&flipWriter{ResponseWriter: w, off: rangeStart(r), at: at}, r)
	}
}

// rangeStart is where a "Range: bytes=N-" request starts; 0 for none.
func rangeStart(r *http.Request) int64 {
	spec, ok := strings.CutPrefix(r.Header.Get("Range"), "bytes=")
	if !ok {
		return 0
	}
	first, _, _ := strings.Cut(spec, "-")
	n, _ := strconv.ParseInt(first, 10, 64)
	return n
}

// flipWriter inverts the byte at offset at of a body starting at off.
type flipWriter struct {
	http.ResponseWriter
	off, at int64
}

func (f *flipWriter) Write(p []byte) (int, error) {
	if f.at >= f.off && f.at < f.off+int64(len(p)) {
		p = bytes.Clone(p)
		p[f.at-f.off] ^= 0xff
	}
	f.off += int64(len(p))
	return f.ResponseWriter.Write(p)
}

func (f *flipWriter) Unwrap() http.ResponseWriter { return f.ResponseWriter }

// faultImage is the image the export runs fetch: the rules image without
// the hard-link quirk (which every backend exports exactly), with a 4 MiB
// layer on top.
type faultImage struct {
	ref  string
	bulk string
	want tree.Manifest
}

func pushFaultImage(w *world) (*faultImage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	base, err := images.RulesWithoutQuirk(hostArch)
	if err != nil {
		return nil, err
	}
	bulk, err := images.Bulk(faultBulkSize)
	if err != nil {
		return nil, err
	}
	layers, err := bulk.Layers()
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(base, layers[0])
	if err != nil {
		return nil, err
	}
	repo := images.Repository{Host: w.v3.Host, Name: "faults/multi"}
	if err := images.Push(ctx, repo, "latest", img); err != nil {
		return nil, err
	}
	d, err := layers[0].Digest()
	if err != nil {
		return nil, err
	}
	want := images.RulesExpected(hostArch, false)
	if err := addLayerEntries(want, layers[0]); err != nil {
		return nil, err
	}
	return &faultImage{ref: "faults/multi:latest", bulk: d.String(), want: want}, nil
}

// addLayerEntries adds the directories and files of an uncompressed
// layer, applied on top, to want.
func addLayerEntries(want tree.Manifest, l v1.Layer) error {
	rc, err := l.Uncompressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		p := "/" + strings.Trim(h.Name, "/")
		e := tree.Entry{Path: p, Mode: fs.FileMode(h.Mode) & fs.ModePerm, UID: h.Uid, GID: h.Gid}
		switch h.Typeflag {
		case tar.TypeDir:
			e.Type = "dir"
		case tar.TypeReg:
			sum := sha256.New()
			n, err := io.Copy(sum, tr)
			if err != nil {
				return err
			}
			e.Type, e.Size, e.Digest = "file", n, "sha256:"+hex.EncodeToString(sum.Sum(nil))
		default:
			return fmt.Errorf("the bulk layer holds %s of type %c", h.Name, h.Typeflag)
		}
		want[p] = e
	}
}
