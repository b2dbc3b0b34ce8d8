package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/hashicorp/go-hclog"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/credentials"
)

// testClient is a Client whose waits between retries are recorded, not
// slept, and whose log is kept at Trace level.
type testClient struct {
	*Client
	log *bytes.Buffer

	mu    sync.Mutex
	waits []time.Duration
}

func newTestClient(t *testing.T, opts Options) *testClient {
	t.Helper()
	tc := &testClient{log: &bytes.Buffer{}}
	opts.Log = hclog.New(&hclog.LoggerOptions{Level: hclog.Trace, Output: tc.log})
	tc.Client = New(opts)
	tc.sleep = func(ctx context.Context, d time.Duration) error {
		tc.mu.Lock()
		defer tc.mu.Unlock()
		tc.waits = append(tc.waits, d)
		return ctx.Err()
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("client log:\n%s", tc.log)
		}
	})
	return tc
}

func (tc *testClient) recordedWaits() []time.Duration {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return slices.Clone(tc.waits)
}

// dialTo makes c connect to addr whatever host a URL names, so that tests
// can give registries names that are not loopback.
func dialTo(c *Client, addr string) {
	for _, hc := range []*http.Client{c.secure, c.insecure} {
		tr := hc.Transport.(*http.Transport)
		tr.Proxy = nil
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}
	}
}

// endpoint addresses a test server, named by its loopback address.
func endpoint(srv *httptest.Server) core.Endpoint {
	host := srv.Listener.Addr().String()
	return core.Endpoint{Registry: host, Host: host}
}

// closedAddress is a loopback host:port where nothing listens.
func closedAddress(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// staticStore is a credentials.Store over a map, counting its lookups.
type staticStore struct {
	mu      sync.Mutex
	creds   map[string]credentials.Credential
	err     error
	lookups int
}

func (s *staticStore) Lookup(_ context.Context, registry, _ string) (credentials.Credential, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lookups++
	c, ok := s.creds[registry]
	return c, ok, s.err
}

// requestLog records what a test server was asked.
type requestLog struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (l *requestLog) add(r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = append(l.reqs, r.Clone(context.Background()))
}

func (l *requestLog) all() []*http.Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.reqs)
}

// count is how many requests had a path ending in suffix.
func (l *requestLog) count(suffix string) int {
	n := 0
	for _, r := range l.all() {
		if strings.HasSuffix(r.URL.Path, suffix) {
			n++
		}
	}
	return n
}

func (l *requestLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.add(r)
		h.ServeHTTP(w, r)
	})
}

// serve starts a test server that records its requests.
func serve(t testing.TB, h http.Handler) (*httptest.Server, *requestLog) {
	t.Helper()
	reqs := &requestLog{}
	srv := httptest.NewServer(reqs.wrap(h))
	t.Cleanup(srv.Close)
	return srv, reqs
}

// tagNames are n tag names in the order a registry sorts them.
func tagNames(n int) []string {
	tags := make([]string, n)
	for i := range tags {
		tags[i] = fmt.Sprintf("v%05d", i)
	}
	return tags
}

// realRegistry is go-containerregistry's in-process registry holding one
// random image in repo under every tag given.
func realRegistry(t testing.TB, repo string, tags []string, wrap func(http.Handler) http.Handler) *httptest.Server {
	t.Helper()
	var h http.Handler = ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	host := srv.Listener.Addr().String()

	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host + "/" + repo + ":" + tags[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	// Tag by PUTting the manifest straight away: remote.Tag pings and
	// checks first, which is slow for thousands of tags.
	manifest, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	mt, err := img.MediaType()
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range tags[1:] {
		req, _ := http.NewRequest(http.MethodPut, srv.URL+"/v2/"+repo+"/manifests/"+tag, bytes.NewReader(manifest))
		req.Header.Set("Content-Type", string(mt))
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("tagging %s: HTTP %d", tag, resp.StatusCode)
		}
	}
	return srv
}

// paginate makes a registry page its tag lists as distribution v3 does —
// sorted, from after `last`, `n` at a time, with a Link to the next page
// while there is one — and forces pages of size when `n` is not given,
// as some registries do. link writes the Link target.
func paginate(size int, link func(r *http.Request, last string, n int) string) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/tags/list") {
				h.ServeHTTP(w, r)
				return
			}
			// The whole list, to page here: go-containerregistry's own
			// paging does not end after the last tag.
			whole := r.Clone(r.Context())
			whole.URL.RawQuery = ""
			all := httptest.NewRecorder()
			h.ServeHTTP(all, whole)
			if all.Code != http.StatusOK {
				w.WriteHeader(all.Code)
				_, _ = w.Write(all.Body.Bytes())
				return
			}
			var list struct {
				Name string   `json:"name"`
				Tags []string `json:"tags"`
			}
			if err := json.Unmarshal(all.Body.Bytes(), &list); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			q := r.URL.Query()
			n := size
			if v := q.Get("n"); v != "" {
				n, _ = strconv.Atoi(v)
			}
			tags := list.Tags
			if last := q.Get("last"); last != "" {
				i, _ := slices.BinarySearch(tags, last)
				for i < len(tags) && tags[i] <= last {
					i++
				}
				tags = tags[i:]
			}
			if n < len(tags) {
				tags = tags[:n]
				w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next"`, link(r, tags[n-1], n)))
			}
			list.Tags = tags
			_ = json.NewEncoder(w).Encode(list)
		})
	}
}

// relativeLink is the Link distribution writes.
func relativeLink(r *http.Request, last string, n int) string {
	return fmt.Sprintf("%s?last=%s&n=%d", r.URL.Path, last, n)
}

// absoluteLink names the registry's own scheme and host.
func absoluteLink(r *http.Request, last string, n int) string {
	return fmt.Sprintf("http://%s%s?n=%d&last=%s", r.Host, r.URL.Path, n, last)
}

// registryError writes a distribution-spec error answer.
func registryError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"errors":[{"code":%q,"message":%q,"detail":null}]}`, code, message)
}

// tagsAnswer writes a tag list page.
func tagsAnswer(w http.ResponseWriter, tags ...string) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"name": "team/app", "tags": tags})
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
