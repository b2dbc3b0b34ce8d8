package front

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// start runs a front before upstream for the test.
func start(t *testing.T, upstream http.Handler, opts Options) (front *Front, host string) {
	t.Helper()
	up := httptest.NewServer(upstream)
	t.Cleanup(up.Close)
	opts.Upstream = strings.TrimPrefix(up.URL, "http://")
	f, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, strings.TrimPrefix(srv.URL, "http://")
}

func quietRegistry() http.Handler { return registry.New(registry.Logger(log.New(io.Discard, "", 0))) }

// get does a GET with an optional bearer token.
func get(t *testing.T, rawURL, token string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, rawURL, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// token gets a token for scope, logging in when user is set.
func token(t *testing.T, host, scope, user, password string) (string, int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+host+"/token?service="+Service+"&scope="+url.QueryEscape(scope), nil)
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		if body.Token == "" || body.AccessToken != body.Token || body.ExpiresIn != 300 {
			t.Fatalf("token response: %+v", body)
		}
	}
	return body.Token, resp.StatusCode
}

func TestChallenge(t *testing.T) {
	_, host := start(t, quietRegistry(), Options{})
	for path, want := range map[string]string{
		"/v2/":                                 `Bearer realm="http://` + host + `/token",service="ocix-front"`,
		"/v2/library/busybox/manifests/latest": `Bearer realm="http://` + host + `/token",service="ocix-front",scope="repository:library/busybox:pull"`,
	} {
		for _, tok := range []string{"", "not-a-token-we-issued"} {
			resp := get(t, "http://"+host+path, tok)
			if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != want {
				t.Errorf("GET %s with %q: %s %q, want 401 %q", path, tok, resp.Status, resp.Header.Get("WWW-Authenticate"), want)
			}
		}
	}
	tok, _ := token(t, host, "", "", "")
	if resp := get(t, "http://"+host+"/v2/", tok); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /v2/ with a token: %s", resp.Status)
	}
}

// TestCrane pushes, pulls and lists through the front with crane's own
// bearer-token dance, and checks the front hands out tokens but the
// upstream never sees one.
func TestCrane(t *testing.T) {
	var mu sync.Mutex
	var sawAuth []string
	reg := quietRegistry()
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("Authorization"); a != "" {
			mu.Lock()
			sawAuth = append(sawAuth, a)
			mu.Unlock()
		}
		reg.ServeHTTP(w, r)
	})
	f, host := start(t, upstream, Options{NoThrottle: true})

	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref := host + "/team/app:1.0.0"
	if err := crane.Push(img, ref, crane.Insecure); err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"1.0.1", "latest"} {
		if err := crane.Tag(ref, tag, crane.Insecure); err != nil {
			t.Fatal(err)
		}
	}
	got, err := crane.Pull(ref, crane.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if d, _ := got.Digest(); d != want {
		t.Errorf("pulled %s, pushed %s", d, want)
	}
	tags, err := crane.ListTags(host+"/team/app", crane.Insecure)
	if err != nil || !slices.Equal(tags, []string{"1.0.0", "1.0.1", "latest"}) {
		t.Errorf("tags %q, %v", tags, err)
	}
	if len(f.Tokens()) == 0 {
		t.Error("crane got no token")
	}
	if len(sawAuth) > 0 {
		t.Errorf("the upstream saw credentials: %q", sawAuth)
	}
}

func TestPrivate(t *testing.T) {
	_, host := start(t, quietRegistry(), Options{
		Users:   map[string]string{"alice": "s3cret"},
		Private: []string{"team/secret"},
	})
	img, _ := random.Image(64, 1)
	alice := crane.WithAuth(&authn.Basic{Username: "alice", Password: "s3cret"})
	if err := crane.Push(img, host+"/team/secret:1", crane.Insecure, alice); err != nil {
		t.Fatal(err)
	}
	if _, err := crane.Digest(host+"/team/secret:1", crane.Insecure); err == nil || !strings.Contains(err.Error(), "UNAUTHORIZED") {
		t.Errorf("anonymous pull of a private repository: %v", err)
	}
	if _, err := crane.Digest(host+"/team/secret:1", crane.Insecure, alice); err != nil {
		t.Errorf("alice's pull: %v", err)
	}
	if _, status := token(t, host, "repository:team/secret:pull", "alice", "wrong"); status != http.StatusUnauthorized {
		t.Errorf("token with a wrong password: %d", status)
	}

	// An anonymous token is valid, but not for the private repository.
	tok, _ := token(t, host, "repository:team/secret:pull", "", "")
	resp := get(t, "http://"+host+"/v2/team/secret/manifests/1", tok)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
		t.Errorf("anonymous token on a private repository: %s %q", resp.Status, resp.Header.Get("WWW-Authenticate"))
	}
}

// pagingUpstream records the n it is asked for and answers with a Link
// to a next page, absolute (as some registries send it) or relative.
type pagingUpstream struct {
	mu       sync.Mutex
	n        []string
	absolute bool
	host     string // its own host:port, for absolute links
}

func (p *pagingUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.n = append(p.n, r.URL.Query().Get("n"))
	p.mu.Unlock()
	next := "/v2/app/tags/list?last=b&n=" + r.URL.Query().Get("n")
	if p.absolute {
		next = "http://" + r.Host + next
	}
	w.Header().Set("Link", "<"+next+`>; rel="next"`)
	fmt.Fprint(w, `{"name":"app","tags":["a","b"]}`)
}

func TestTagPages(t *testing.T) {
	for _, absolute := range []bool{false, true} {
		up := &pagingUpstream{absolute: absolute}
		_, host := start(t, up, Options{NoThrottle: true})
		tok, _ := token(t, host, "repository:app:pull", "", "")
		for _, n := range []string{"", "n=1000", "n=50", "n=10"} {
			resp := get(t, "http://"+host+"/v2/app/tags/list?"+n, tok)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%q: %s", n, resp.Status)
			}
			link := resp.Header.Get("Link")
			wantLink := "</v2/app/tags/list?last=b&n="
			if absolute {
				wantLink = "<http://" + host + "/v2/app/tags/list?last=b&n="
			}
			if !strings.HasPrefix(link, wantLink) {
				t.Errorf("absolute %v, %q: Link %q, want it to start %q", absolute, n, link, wantLink)
			}
		}
		if want := []string{"50", "50", "50", "10"}; !slices.Equal(up.n, want) {
			t.Errorf("upstream asked for n=%q, want %q", up.n, want)
		}
	}
}

func TestThrottle(t *testing.T) {
	_, host := start(t, &pagingUpstream{}, Options{})
	tok, _ := token(t, host, "repository:app:pull repository:other:pull", "", "")
	for i, want := range []int{429, 200, 200} {
		resp := get(t, "http://"+host+"/v2/app/tags/list", tok)
		if resp.StatusCode != want {
			t.Errorf("request %d: %s, want %d", i, resp.Status, want)
		}
		if want == 429 && resp.Header.Get("Retry-After") != "1" {
			t.Errorf("429 with Retry-After %q", resp.Header.Get("Retry-After"))
		}
	}
	if resp := get(t, "http://"+host+"/v2/other/tags/list", tok); resp.StatusCode != 429 {
		t.Errorf("another repository's first tag list: %s", resp.Status)
	}
}

// TestRules checks the seam later faults use: rules run in order after
// the token check, and may answer or pass on.
func TestRules(t *testing.T) {
	var order []string
	rule := func(name string, answer int) Rule {
		return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
			order = append(order, name)
			if answer != 0 && RouteOf(r).Kind == KindManifest {
				w.WriteHeader(answer)
				return
			}
			next.ServeHTTP(w, r)
		}
	}
	_, host := start(t, quietRegistry(), Options{Rules: []Rule{rule("first", 0), rule("second", 503)}})
	if resp := get(t, "http://"+host+"/v2/app/manifests/latest", ""); resp.StatusCode != 401 || len(order) != 0 {
		t.Errorf("without a token: %s, rules ran: %q", resp.Status, order)
	}
	tok, _ := token(t, host, "repository:app:pull", "", "")
	if resp := get(t, "http://"+host+"/v2/app/manifests/latest", tok); resp.StatusCode != 503 {
		t.Errorf("manifest: %s", resp.Status)
	}
	if resp := get(t, "http://"+host+"/v2/", tok); resp.StatusCode != 200 {
		t.Errorf("/v2/: %s", resp.Status)
	}
	if want := []string{"first", "second", "first", "second"}; !slices.Equal(order, want) {
		t.Errorf("rules ran %q, want %q", order, want)
	}
}

func TestRouteOf(t *testing.T) {
	for path, want := range map[string]Route{
		"/v2/":                              {Kind: KindBase},
		"/v2/_catalog":                      {Kind: KindCatalog},
		"/v2/library/busybox/tags/list":     {KindTags, "library/busybox", ""},
		"/v2/a/manifests/latest":            {KindManifest, "a", "latest"},
		"/v2/a/blobs/sha256:abc":            {KindBlob, "a", "sha256:abc"},
		"/v2/a/blobs/uploads/":              {KindUpload, "a", ""},
		"/v2/a/blobs/uploads/123-456":       {KindUpload, "a", "123-456"},
		"/v2/x/blobs/y/manifests/1.0":       {KindManifest, "x/blobs/y", "1.0"},
		"/v2/x/manifests/y/blobs/uploads/u": {KindUpload, "x/manifests/y", "u"},
		"/v2/a/tags/list/extra":             {},
		"/v2/nothing":                       {},
	} {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		if got := RouteOf(r); got != want {
			t.Errorf("%s: %+v, want %+v", path, got, want)
		}
	}
}

func TestToFront(t *testing.T) {
	f, err := New(Options{Upstream: "127.0.0.1:5000"})
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"http://127.0.0.1:5000/v2/a/blobs/uploads/u?_state=x":            "http://127.0.0.1:9/v2/a/blobs/uploads/u?_state=x",
		"/v2/a/blobs/uploads/u":                                          "/v2/a/blobs/uploads/u",
		"https://elsewhere.example/blob":                                 "https://elsewhere.example/blob",
		`<http://127.0.0.1:5000/v2/a/tags/list?last=b&n=50>; rel="next"`: `<http://127.0.0.1:9/v2/a/tags/list?last=b&n=50>; rel="next"`,
	} {
		if got := f.toFront(in, "127.0.0.1:9"); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}
