package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/credentials"
)

// tokenRegistry is a registry that wants a bearer token for everything
// under /v2/, from its own /token endpoint. It pages team/app's tags two
// at a time.
type tokenRegistry struct {
	srv  *httptest.Server
	reqs *requestLog

	mu sync.Mutex
	// generation numbers the tokens: only tok-<generation> is accepted.
	generation int
	// challenge is the WWW-Authenticate value; $URL is the server's URL.
	challenge string
	// issue answers /token, given the token to hand out.
	issue func(w http.ResponseWriter, r *http.Request, token string)
	// refuse makes the registry refuse every token.
	refuse bool
	// expireEvery, if set, makes a token expire after that many pages.
	expireEvery int
	served      int
}

// newTokenRegistry starts a tokenRegistry after configure has set it up.
func newTokenRegistry(t *testing.T, configure ...func(*tokenRegistry)) *tokenRegistry {
	tr := &tokenRegistry{
		generation: 1,
		challenge:  `Bearer realm="$URL/token",service="test-registry",scope="repository:team/app:pull"`,
		issue: func(w http.ResponseWriter, r *http.Request, token string) {
			_ = json.NewEncoder(w).Encode(map[string]any{"token": token, "expires_in": 300})
		},
		reqs: &requestLog{},
	}
	for _, f := range configure {
		f(tr)
	}
	tr.srv = httptest.NewServer(tr.reqs.wrap(tr))
	t.Cleanup(tr.srv.Close)
	return tr
}

func (tr *tokenRegistry) token() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return "tok-" + strconv.Itoa(tr.generation)
}

var pages = map[string][]string{"": {"a", "b"}, "b": {"c", "d"}, "d": {"e", "f"}, "f": {"g"}}

func (tr *tokenRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/token" {
		tr.issue(w, r, tr.token())
		return
	}
	if tr.refuse || r.Header.Get("Authorization") != "Bearer "+tr.token() {
		w.Header().Set("WWW-Authenticate", strings.ReplaceAll(tr.challenge, "$URL", tr.srv.URL))
		registryError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
		return
	}
	tr.mu.Lock()
	if tr.served++; tr.expireEvery > 0 && tr.served%tr.expireEvery == 0 {
		tr.generation++
	}
	tr.mu.Unlock()
	last := r.URL.Query().Get("last")
	if next := pages[last]; len(next) == 2 {
		w.Header().Set("Link", fmt.Sprintf(`</v2/team/app/tags/list?n=2&last=%s>; rel="next"`, next[1]))
	}
	tagsAnswer(w, pages[last]...)
}

func (tr *tokenRegistry) endpoint() core.Endpoint { return endpoint(tr.srv) }

func (tr *tokenRegistry) name() string { return tr.srv.Listener.Addr().String() + "/team/app" }

// tokenRequests are the requests for a token.
func (tr *tokenRegistry) tokenRequests() []*http.Request {
	var out []*http.Request
	for _, r := range tr.reqs.all() {
		if r.URL.Path == "/token" {
			out = append(out, r)
		}
	}
	return out
}

// pageAuths are the Authorization headers of the tag list requests.
func (tr *tokenRegistry) pageAuths() []string {
	var out []string
	for _, r := range tr.reqs.all() {
		if r.URL.Path != "/token" {
			out = append(out, r.Header.Get("Authorization"))
		}
	}
	return out
}

var allTags = []string{"a", "b", "c", "d", "e", "f", "g"}

func TestBearerTokenServesEveryPage(t *testing.T) {
	tr := newTokenRegistry(t)
	c := newTestClient(t, Options{})

	for range 2 {
		tags, err := c.ListTags(context.Background(), tr.endpoint(), "team/app")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(tags, allTags) {
			t.Fatalf("got %q, want %q", tags, allTags)
		}
	}
	// One token for two listings of four pages each: one 401, one token.
	toks := tr.tokenRequests()
	if len(toks) != 1 {
		t.Fatalf("%d token requests, want 1", len(toks))
	}
	want := []string{"", "Bearer tok-1", "Bearer tok-1", "Bearer tok-1", "Bearer tok-1", "Bearer tok-1", "Bearer tok-1", "Bearer tok-1", "Bearer tok-1"}
	if got := tr.pageAuths(); !slices.Equal(got, want) {
		t.Errorf("page requests' Authorization:\n got %q\nwant %q", got, want)
	}
	q := toks[0].URL.Query()
	if q.Get("service") != "test-registry" || !slices.Equal(q["scope"], []string{"repository:team/app:pull"}) {
		t.Errorf("token request query %q", toks[0].URL.RawQuery)
	}
	if h := toks[0].Header.Get("Authorization"); h != "" {
		t.Errorf("anonymous token request sent Authorization %q", h)
	}
}

func TestBearerTokenRenewedWhenRefused(t *testing.T) {
	// The token expires every two pages: the third page is refused.
	tr := newTokenRegistry(t, func(tr *tokenRegistry) { tr.expireEvery = 2 })
	c := newTestClient(t, Options{})

	tags, err := c.ListTags(context.Background(), tr.endpoint(), "team/app")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tags, allTags) {
		t.Fatalf("got %q, want %q", tags, allTags)
	}
	want := []string{"", "Bearer tok-1", "Bearer tok-1", "Bearer tok-1", "Bearer tok-2", "Bearer tok-2"}
	if got := tr.pageAuths(); !slices.Equal(got, want) {
		t.Errorf("page requests' Authorization:\n got %q\nwant %q", got, want)
	}
}

func TestBearerTokenStillRefused(t *testing.T) {
	tr := newTokenRegistry(t, func(tr *tokenRegistry) { tr.refuse = true })
	c := newTestClient(t, Options{Retries: 3})

	_, err := c.ListTags(context.Background(), tr.endpoint(), "team/app")
	wantError(t, err, tr.name()+": authentication required (UNAUTHORIZED: authentication required)")
	// Asked, challenged, token, asked again, refused: no loop.
	if n, m := len(tr.tokenRequests()), len(tr.pageAuths()); n != 1 || m != 2 {
		t.Errorf("%d token requests and %d page requests, want 1 and 2", n, m)
	}
}

func TestBearerWithPassword(t *testing.T) {
	tr := newTokenRegistry(t, func(tr *tokenRegistry) {
		tr.issue = func(w http.ResponseWriter, r *http.Request, token string) {
			user, pass, ok := r.BasicAuth()
			if !ok || user != "alice" || pass != "s3cret" || r.URL.Query().Get("account") != "alice" {
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprint(w, `{"details":"incorrect username or password"}`)
				return
			}
			// The OAuth2 field name, which some token servers use alone.
			_ = json.NewEncoder(w).Encode(map[string]any{"access_token": token})
		}
	})
	host := tr.srv.Listener.Addr().String()

	store := &staticStore{creds: map[string]credentials.Credential{host: {Username: "alice", Password: "s3cret"}}}
	tags, err := newTestClient(t, Options{Credentials: store}).ListTags(context.Background(), tr.endpoint(), "team/app")
	if err != nil || !slices.Equal(tags, allTags) {
		t.Fatalf("got %q, %v; want %q", tags, err, allTags)
	}

	// A token server's refusal is told in one line, and not retried.
	store = &staticStore{creds: map[string]credentials.Credential{host: {Username: "alice", Password: "wrong"}}}
	c := newTestClient(t, Options{Credentials: store, Retries: 3})
	_, err = c.ListTags(context.Background(), tr.endpoint(), "team/app")
	wantError(t, err, tr.name()+": authentication required (UNAUTHORIZED: incorrect username or password)")
	if w := c.recordedWaits(); len(w) != 0 {
		t.Errorf("retried a refused login: waits %v", w)
	}
}

func TestBearerWithIdentityToken(t *testing.T) {
	var form map[string][]string
	tr := newTokenRegistry(t, func(tr *tokenRegistry) {
		tr.issue = func(w http.ResponseWriter, r *http.Request, token string) {
			if r.Method != http.MethodPost {
				w.WriteHeader(http.StatusMethodNotAllowed)
				return
			}
			if err := r.ParseForm(); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			form = r.PostForm
			_ = json.NewEncoder(w).Encode(map[string]any{"access_token": token, "refresh_token": "ignored", "expires_in": 600})
		}
	})
	store := &staticStore{creds: map[string]credentials.Credential{
		tr.srv.Listener.Addr().String(): {Username: "00000000-0000-0000-0000-000000000000", IdentityToken: "refresh-xyz"},
	}}

	tags, err := newTestClient(t, Options{Credentials: store}).ListTags(context.Background(), tr.endpoint(), "team/app")
	if err != nil || !slices.Equal(tags, allTags) {
		t.Fatalf("got %q, %v; want %q", tags, err, allTags)
	}
	want := map[string][]string{
		"grant_type":    {"refresh_token"},
		"refresh_token": {"refresh-xyz"},
		"client_id":     {"ocix"},
		"service":       {"test-registry"},
		"scope":         {"repository:team/app:pull"},
	}
	if fmt.Sprint(form) != fmt.Sprint(want) {
		t.Errorf("token form:\n got %v\nwant %v", form, want)
	}
}

func TestBearerScopes(t *testing.T) {
	for name, tc := range map[string]struct{ challenge, want string }{
		// Several scopes, space-separated, are asked for one by one.
		"several": {`Bearer realm="$URL/token",service="s",scope="repository:team/app:pull repository:team/base:pull"`,
			"scope=repository%3Ateam%2Fapp%3Apull&scope=repository%3Ateam%2Fbase%3Apull&service=s"},
		// Without a scope, the one the request needs.
		"none": {`Bearer realm="$URL/token?via=test"`, "scope=repository%3Ateam%2Fapp%3Apull&via=test"},
	} {
		t.Run(name, func(t *testing.T) {
			tr := newTokenRegistry(t, func(tr *tokenRegistry) { tr.challenge = tc.challenge })
			if _, err := newTestClient(t, Options{}).ListTags(context.Background(), tr.endpoint(), "team/app"); err != nil {
				t.Fatal(err)
			}
			if got := tr.tokenRequests()[0].URL.RawQuery; got != tc.want {
				t.Errorf("token query:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestBearerRealmRefused(t *testing.T) {
	for realm, want := range map[string]string{
		// Credentials would cross the network in the clear.
		"http://auth.example.invalid/token": `%s: refusing the registry's token server http://auth.example.invalid/token: credentials and tokens would cross the network in plain HTTP (mark the registry insecure to allow it)`,
		"ftp://auth.example/token":          `%s: the registry's token server "ftp://auth.example/token" is not an HTTP(S) URL`,
		"/token":                            `%s: the registry's token server "/token" is not an HTTP(S) URL`,
		"":                                  `%s: the registry's token server "" is not an HTTP(S) URL`,
	} {
		t.Run(realm, func(t *testing.T) {
			tr := newTokenRegistry(t, func(tr *tokenRegistry) { tr.challenge = `Bearer realm="` + realm + `",service="s"` })
			store := &staticStore{creds: map[string]credentials.Credential{}}
			_, err := newTestClient(t, Options{Credentials: store}).ListTags(context.Background(), tr.endpoint(), "team/app")
			wantError(t, err, fmt.Sprintf(want, tr.name()))
			if store.lookups != 0 {
				t.Errorf("credentials looked up %d times for a refused realm", store.lookups)
			}
		})
	}
}

func TestBearerRealmInsecureRegistry(t *testing.T) {
	// registry.example is no loopback name; marked insecure, it may send
	// us to a token server in plain HTTP. Every name dials the test server.
	tr := newTokenRegistry(t, func(tr *tokenRegistry) {
		tr.challenge = `Bearer realm="http://auth.example/token",service="s"`
	})
	ep := core.Endpoint{Registry: "registry.example", Host: "registry.example:5000", Insecure: true}

	c := newTestClient(t, Options{})
	dialTo(c.Client, tr.srv.Listener.Addr().String())
	tags, err := c.ListTags(context.Background(), ep, "team/app")
	if err != nil || !slices.Equal(tags, allTags) {
		t.Fatalf("got %q, %v; want %q", tags, err, allTags)
	}
	if toks := tr.tokenRequests(); len(toks) != 1 || toks[0].Host != "auth.example" {
		t.Errorf("token requests %v, want one to auth.example", toks)
	}

	// Not marked insecure, it is refused before any token is asked for.
	ep.Insecure = false
	c = newTestClient(t, Options{})
	dialTo(c.Client, tr.srv.Listener.Addr().String())
	_, err = c.ListTags(context.Background(), ep, "team/app")
	wantError(t, err, "cannot reach registry registry.example:5000: the registry does not speak TLS (use --insecure or registries.insecure for plain HTTP)")
}

func TestBasicChallenge(t *testing.T) {
	srv, reqs := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user, pass, ok := r.BasicAuth(); !ok || user != "bob" || pass != "pw:with:colons" {
			w.Header().Set("WWW-Authenticate", `Basic realm="Registry Realm"`)
			registryError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
			return
		}
		last := r.URL.Query().Get("last")
		if next := pages[last]; len(next) == 2 {
			w.Header().Set("Link", fmt.Sprintf(`</v2/team/app/tags/list?n=2&last=%s>; rel="next"`, next[1]))
		}
		tagsAnswer(w, pages[last]...)
	}))
	host := srv.Listener.Addr().String()

	store := &staticStore{creds: map[string]credentials.Credential{host: {Username: "bob", Password: "pw:with:colons"}}}
	tags, err := newTestClient(t, Options{Credentials: store}).ListTags(context.Background(), endpoint(srv), "team/app")
	if err != nil || !slices.Equal(tags, allTags) {
		t.Fatalf("got %q, %v; want %q", tags, err, allTags)
	}
	// Challenged once, looked up once: the header serves every page.
	if n := len(reqs.all()); n != 5 || store.lookups != 1 {
		t.Errorf("%d requests and %d lookups, want 5 and 1", n, store.lookups)
	}

	// Without credentials the 401 is the answer.
	_, err = newTestClient(t, Options{Credentials: &staticStore{}}).ListTags(context.Background(), endpoint(srv), "team/app")
	wantError(t, err, host+"/team/app: authentication required (UNAUTHORIZED: authentication required)")
}

func TestCredentialErrorsStop(t *testing.T) {
	tr := newTokenRegistry(t)
	store := &staticStore{err: errors.New("credential helper docker-credential-desktop for 127.0.0.1: not found on PATH")}
	_, err := newTestClient(t, Options{Credentials: store}).ListTags(context.Background(), tr.endpoint(), "team/app")
	wantError(t, err, tr.name()+": credential helper docker-credential-desktop for 127.0.0.1: not found on PATH")
	if n := len(tr.tokenRequests()); n != 0 {
		t.Errorf("%d token requests after a failed lookup", n)
	}
}
