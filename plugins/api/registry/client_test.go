package registry

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/credentials"
)

func TestRedirectKeepsAuthorizationHome(t *testing.T) {
	// Another origin: same IP, other port. Go itself would forward the
	// header there, since it compares host names only.
	elsewhere, elsewhereReqs := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tagsAnswer(w, "from-elsewhere")
	}))
	srv, reqs := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, _, ok := r.BasicAuth(); !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="r"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/v2/away/tags/list":
			http.Redirect(w, r, elsewhere.URL+"/tags", http.StatusTemporaryRedirect)
		case "/v2/home/tags/list":
			http.Redirect(w, r, "/v2/home/moved/tags/list", http.StatusMovedPermanently)
		default:
			tagsAnswer(w, "from-home")
		}
	}))
	host := srv.Listener.Addr().String()
	store := &staticStore{creds: map[string]credentials.Credential{host: {Username: "u", Password: "p"}}}
	c := newTestClient(t, Options{Credentials: store})

	if tags, err := c.ListTags(context.Background(), endpoint(srv), "away"); err != nil || !slices.Equal(tags, []string{"from-elsewhere"}) {
		t.Fatalf("away: got %q, %v", tags, err)
	}
	if auth := elsewhereReqs.all()[0].Header.Get("Authorization"); auth != "" {
		t.Errorf("the other origin got Authorization %q", auth)
	}
	// The same origin keeps it.
	if tags, err := c.ListTags(context.Background(), endpoint(srv), "home"); err != nil || !slices.Equal(tags, []string{"from-home"}) {
		t.Fatalf("home: got %q, %v", tags, err)
	}
	all := reqs.all()
	if last := all[len(all)-1]; last.URL.Path != "/v2/home/moved/tags/list" || last.Header.Get("Authorization") == "" {
		t.Errorf("same-origin redirect: %s with Authorization %q", last.URL.Path, last.Header.Get("Authorization"))
	}
}

func TestRedirectLimit(t *testing.T) {
	srv, reqs := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Path+"x", http.StatusFound)
	}))
	_, err := newTestClient(t, Options{}).ListTags(context.Background(), endpoint(srv), "team/app")
	wantError(t, err, "registry "+srv.Listener.Addr().String()+": more than 10 redirects")
	if n := len(reqs.all()); n != 11 {
		t.Errorf("%d requests, want 11", n)
	}
}

func TestInsecureRegistryTLS(t *testing.T) {
	// A self-signed certificate, under a name that is not loopback.
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tagsAnswer(w, "a")
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ep := core.Endpoint{Registry: "registry.example", Host: "registry.example"}

	c := newTestClient(t, Options{})
	dialTo(c.Client, srv.Listener.Addr().String())
	_, err := c.ListTags(context.Background(), ep, "team/app")
	wantError(t, err, "cannot reach registry registry.example: TLS certificate not trusted (use --insecure or registries.insecure to skip verification)")

	ep.Insecure = true
	if tags, err := c.ListTags(context.Background(), ep, "team/app"); err != nil || !slices.Equal(tags, []string{"a"}) {
		t.Fatalf("insecure: got %q, %v", tags, err)
	}
	if strings.Contains(c.log.String(), "plain HTTP") {
		t.Error("fell back to plain HTTP although HTTPS answered")
	}
}

func TestInsecureRegistryPlainHTTP(t *testing.T) {
	srv, reqs := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", `</v2/team/app/tags/list?last=a&n=1>; rel="next"`)
		if r.URL.Query().Get("last") == "a" {
			w.Header().Del("Link")
		}
		tagsAnswer(w, "a")
	}))
	ep := core.Endpoint{Registry: "registry.example", Host: "registry.example:5000", Insecure: true}
	c := newTestClient(t, Options{})
	dialTo(c.Client, srv.Listener.Addr().String())

	for range 2 {
		if tags, err := c.ListTags(context.Background(), ep, "team/app"); err != nil || len(tags) != 2 {
			t.Fatalf("got %q, %v", tags, err)
		}
	}
	// HTTPS is tried once; the next page and the next listing know better.
	if n := strings.Count(c.log.String(), "trying plain HTTP"); n != 1 {
		t.Errorf("fell back %d times, want once:\n%s", n, c.log)
	}
	if n := len(reqs.all()); n != 4 {
		t.Errorf("%d plain HTTP requests, want 4", n)
	}
}

func TestUserAgent(t *testing.T) {
	srv, reqs := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { tagsAnswer(w) }))
	for _, tc := range []struct{ set, want string }{{"", "ocix"}, {"ocix/1.2.3", "ocix/1.2.3"}} {
		if _, err := newTestClient(t, Options{UserAgent: tc.set}).ListTags(context.Background(), endpoint(srv), "team/app"); err != nil {
			t.Fatal(err)
		}
		all := reqs.all()
		if got := all[len(all)-1].UserAgent(); got != tc.want {
			t.Errorf("User-Agent %q, want %q", got, tc.want)
		}
	}
}

func TestSafeURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://r.example/v2/a/tags/list":                                                    "https://r.example/v2/a/tags/list",
		"https://r.example/v2/a/tags/list?last=x&n=50":                                        "https://r.example/v2/a/tags/list?last=x&n=50",
		"https://auth.example/token?scope=s&service=r&account=bob":                            "https://auth.example/token?account=redacted&scope=s&service=r",
		"https://cdn.example/blob?X-Amz-Signature=abc&X-Amz-Credential=k&X-Amz-Credential=k2": "https://cdn.example/blob?X-Amz-Credential=redacted&X-Amz-Credential=redacted&X-Amz-Signature=redacted",
		"https://user:pass@r.example/v2/":                                                     "https://r.example/v2/",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := safeURL(u); got != want {
			t.Errorf("safeURL(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestSameOrigin(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"https://r.example/a", "https://r.example/b?x", true},
		{"https://r.example", "https://R.EXAMPLE:443", true},
		{"http://r.example:80", "HTTP://r.example", true},
		{"http://127.0.0.1:5000", "http://127.0.0.1:5000/v2/", true},
		{"https://r.example", "http://r.example", false},
		{"https://r.example", "https://r.example:5000", false},
		{"https://r.example", "https://cdn.r.example", false},
		{"http://127.0.0.1:5000", "http://localhost:5000", false},
	} {
		a, _ := url.Parse(tc.a)
		b, _ := url.Parse(tc.b)
		if got := sameOrigin(a, b); got != tc.want {
			t.Errorf("sameOrigin(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
