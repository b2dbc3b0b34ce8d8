package registry

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/ocix/ocix/core"
)

func TestListTagsAsksWithoutN(t *testing.T) {
	reqs := &requestLog{}
	srv := realRegistry(t, "team/app", tagNames(120), reqs.wrap)
	c := newTestClient(t, Options{})
	pushed := len(reqs.all())

	tags, err := c.ListTags(context.Background(), endpoint(srv), "team/app")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tags, tagNames(120)) {
		t.Errorf("got %d tags, want all 120 in order", len(tags))
	}
	// One request, without n: a registry that pages only when asked
	// answers everything at once. No /v2/ ping either.
	var asked []string
	for _, r := range reqs.all()[pushed:] {
		asked = append(asked, r.URL.String())
	}
	if want := []string{"/v2/team/app/tags/list"}; !slices.Equal(asked, want) {
		t.Errorf("requests: got %q, want %q", asked, want)
	}
}

func TestListTagsFollowsLinks(t *testing.T) {
	for name, link := range map[string]func(*http.Request, string, int) string{
		"relative": relativeLink,
		"absolute": absoluteLink,
	} {
		t.Run(name, func(t *testing.T) {
			reqs := &requestLog{}
			srv := realRegistry(t, "team/app", tagNames(260), func(h http.Handler) http.Handler {
				return reqs.wrap(paginate(50, link)(h))
			})
			c := newTestClient(t, Options{})

			tags, err := c.ListTags(context.Background(), endpoint(srv), "team/app")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(tags, tagNames(260)) {
				t.Fatalf("got %d tags, want all 260 in order", len(tags))
			}
			var queries []string
			for _, r := range reqs.all() {
				if strings.HasSuffix(r.URL.Path, "/tags/list") {
					queries = append(queries, r.URL.Query().Encode())
				}
			}
			want := []string{""}
			for i := 49; i < 260-1; i += 50 {
				want = append(want, fmt.Sprintf("last=v%05d&n=50", i))
			}
			if !slices.Equal(queries, want) {
				t.Errorf("page queries:\n got %q\nwant %q", queries, want)
			}
		})
	}
}

func TestListTagsKeepsTheLinksQuery(t *testing.T) {
	var queries []string
	srv, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.RawQuery)
		switch r.URL.RawQuery {
		case "":
			w.Header().Add("Link", `</v2/team/app/tags/list?n=2&last=b&extra=keep%2Fme>; rel="next"`)
			tagsAnswer(w, "a", "b")
		case "n=2&last=b&extra=keep%2Fme":
			// A reference that is only a query resolves against the page.
			w.Header().Add("Link", `<?last=d&n=2>; rel="next"`)
			tagsAnswer(w, "c", "d")
		default:
			tagsAnswer(w, "e")
		}
	}))
	c := newTestClient(t, Options{})

	tags, err := c.ListTags(context.Background(), endpoint(srv), "team/app")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b", "c", "d", "e"}; !slices.Equal(tags, want) {
		t.Errorf("got %q, want %q", tags, want)
	}
	if want := []string{"", "n=2&last=b&extra=keep%2Fme", "last=d&n=2"}; !slices.Equal(queries, want) {
		t.Errorf("queries: got %q, want %q", queries, want)
	}
}

func TestListTagsRefusesLinksElsewhere(t *testing.T) {
	for _, raw := range []string{
		"http://other.example:5000/v2/team/app/tags/list?last=a&n=1",
		"//other.example/v2/team/app/tags/list?last=a&n=1",
		"https://HOST/v2/team/app/tags/list?last=a&n=1", // same host, other scheme
		"http://127.0.0.2:PORT/v2/team/app/tags/list?last=a&n=1",
	} {
		t.Run(raw, func(t *testing.T) {
			var link string
			reqs := &requestLog{}
			srv := httptest.NewUnstartedServer(reqs.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Link", "<"+link+`>; rel="next"`)
				tagsAnswer(w, "a")
			})))
			host := srv.Listener.Addr().String()
			_, port, _ := net.SplitHostPort(host)
			link = strings.NewReplacer("HOST", host, "PORT", port).Replace(raw)
			srv.Start()
			t.Cleanup(srv.Close)
			c := newTestClient(t, Options{})

			_, err := c.ListTags(context.Background(), endpoint(srv), "team/app")
			resolved, _ := url.Parse(srv.URL)
			ref, _ := url.Parse(link)
			wantError(t, err, fmt.Sprintf("%s/team/app: refusing the registry's next-page link %s: it leaves http://%s",
				host, resolved.ResolveReference(ref), host))
			if n := len(reqs.all()); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

func TestListTagsRefusesLinkLoops(t *testing.T) {
	srv, reqs := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", `</v2/team/app/tags/list?last=a&n=1>; rel="next"`)
		tagsAnswer(w, "a")
	}))
	c := newTestClient(t, Options{})

	_, err := c.ListTags(context.Background(), endpoint(srv), "team/app")
	wantError(t, err, fmt.Sprintf("%[1]s/team/app: the registry's next-page link goes back to a page already read (http://%[1]s/v2/team/app/tags/list?last=a&n=1)", srv.Listener.Addr()))
	if n := len(reqs.all()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestListTagsPageLimit(t *testing.T) {
	reqs := &requestLog{}
	srv := realRegistry(t, "team/app", tagNames(10), func(h http.Handler) http.Handler {
		return reqs.wrap(paginate(2, relativeLink)(h))
	})

	// Five pages: a limit of five reads them all.
	tags, err := newTestClient(t, Options{MaxPages: 5}).ListTags(context.Background(), endpoint(srv), "team/app")
	if err != nil || len(tags) != 10 {
		t.Fatalf("MaxPages 5: got %d tags, %v; want 10", len(tags), err)
	}

	before := reqs.count("/tags/list")
	_, err = newTestClient(t, Options{MaxPages: 4}).ListTags(context.Background(), endpoint(srv), "team/app")
	wantError(t, err, fmt.Sprintf("%s/team/app: the tag list has more than 4 pages (api.max-pages)", srv.Listener.Addr()))
	if n := reqs.count("/tags/list") - before; n != 4 {
		t.Errorf("MaxPages 4: %d requests, want 4", n)
	}
}

func TestListTagsNameUnknown(t *testing.T) {
	srv := realRegistry(t, "team/app", tagNames(1), nil)
	ep := endpoint(srv)
	// Errors name the registry as the user knows it, not the host dialled.
	ep.Registry = "docker.io"
	c := newTestClient(t, Options{Retries: 3})

	_, err := c.ListTags(context.Background(), ep, "library/nope")
	wantError(t, err, "docker.io/library/nope: repository not found (NAME_UNKNOWN: Unknown name)")
	if w := c.recordedWaits(); len(w) != 0 {
		t.Errorf("retried a 404: waits %v", w)
	}
}

func TestListTagsUnreachable(t *testing.T) {
	host := closedAddress(t)
	c := newTestClient(t, Options{Retries: 3})

	_, err := c.ListTags(context.Background(), core.Endpoint{Registry: host, Host: host}, "team/app")
	wantError(t, err, "cannot reach registry "+host+": connection refused")
	if w := c.recordedWaits(); len(w) != 0 {
		t.Errorf("retried a refused connection: waits %v", w)
	}
}

func TestListTagsOddAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
	}{
		{"null tags", `{"name":"team/app","tags":null}`, ""},
		{"not JSON", `not json`, "%s/team/app: unexpected answer from %[1]s: invalid character 'o' in literal null (expecting 'u')"},
		{"empty", ``, "%s/team/app: unexpected answer from %[1]s: empty body"},
		{"tags not a list", `{"tags":"a"}`, "%s/team/app: unexpected answer from %[1]s: json: cannot unmarshal string into Go struct field .tags of type []string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, tc.body)
			}))
			c := newTestClient(t, Options{Retries: 3})
			tags, err := c.ListTags(context.Background(), endpoint(srv), "team/app")
			if tc.want == "" {
				if err != nil || len(tags) != 0 {
					t.Fatalf("got %q, %v; want no tags", tags, err)
				}
				return
			}
			wantError(t, err, fmt.Sprintf(tc.want, srv.Listener.Addr()))
			if w := c.recordedWaits(); len(w) != 0 {
				t.Errorf("retried a malformed answer: waits %v", w)
			}
		})
	}
}
