// Package front is a registry "front": an HTTP server on 127.0.0.1 that
// behaves like a busy public registry in front of a real one. Clients
// must get bearer tokens from it, tag lists come in pages of 50 whatever
// n they ask for, and each repository's first tag list is answered 429.
// Everything else is proxied to the upstream registry as is.
//
// Rules are the seam for fault injection: each sees every request that
// passed the token check and may answer it, delay it, or wrap the
// response on its way back.
package front

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Service is the service name in the front's challenges and tokens.
const Service = "ocix-front"

// DefaultPageSize is the largest tag-list page the front lets through.
const DefaultPageSize = 50

// Options configures New.
type Options struct {
	// Upstream is the host:port of the registry behind the front, spoken
	// to in plain HTTP. It must paginate tags/list (distribution v3).
	Upstream string
	// Users, name to password, may log in to the token endpoint with
	// HTTP basic auth. Anyone may get a token without logging in.
	Users map[string]string
	// Private repositories are only granted to Users; others are granted
	// to anyone.
	Private []string
	// PageSize caps tags/list's n; DefaultPageSize when zero.
	PageSize int
	// NoThrottle turns off the 429 on each repository's first tag list.
	NoThrottle bool
	// Rules run in order on every request that passed the token check,
	// after the front's own throttle.
	Rules []Rule
}

// Front is the front's http.Handler.
type Front struct {
	upstream *url.URL
	users    map[string]string
	private  map[string]bool
	pageSize int
	tokens   tokens
	handler  http.Handler // the rules, then the proxy
}

// New makes a front for opts.Upstream.
func New(opts Options) (*Front, error) {
	if opts.Upstream == "" {
		return nil, fmt.Errorf("front: no upstream registry")
	}
	upstream, err := url.Parse("http://" + opts.Upstream)
	if err != nil || upstream.Host != opts.Upstream {
		return nil, fmt.Errorf("front: upstream %q is not a host:port", opts.Upstream)
	}
	f := &Front{
		upstream: upstream,
		users:    opts.Users,
		private:  map[string]bool{},
		pageSize: opts.PageSize,
		tokens:   newTokens(),
	}
	if f.pageSize == 0 {
		f.pageSize = DefaultPageSize
	}
	for _, repo := range opts.Private {
		f.private[repo] = true
	}
	rules := opts.Rules
	if !opts.NoThrottle {
		rules = append([]Rule{ThrottleFirstTagList()}, rules...)
	}
	f.handler = chain(rules, f.proxy())
	return f, nil
}

// Tokens returns every token the front has issued, oldest first, so that
// a test can check that none of them reached a log.
func (f *Front) Tokens() []string { return f.tokens.issued() }

// ServeHTTP serves the token endpoint (/token) and the registry API (/v2/).
func (f *Front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/token":
		f.serveToken(w, r)
	case r.URL.Path == "/v2" || strings.HasPrefix(r.URL.Path, "/v2/"):
		f.serveRegistry(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (f *Front) serveRegistry(w http.ResponseWriter, r *http.Request) {
	route := RouteOf(r)
	action := "pull"
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		action = "push"
	}
	if ok, insufficient := f.tokens.allows(bearer(r), route.Repository, action); !ok {
		f.challenge(w, r, route.Repository, action, insufficient)
		return
	}
	// The upstream has no auth of its own, and the token is ours.
	r.Header.Del("Authorization")
	if route.Kind == KindTags && r.Method == http.MethodGet {
		r.URL.RawQuery = clampN(r.URL.Query(), f.pageSize).Encode()
	}
	f.handler.ServeHTTP(w, r)
}

// challenge answers 401 the way registries behind a token service do:
// the realm is on the front's own host:port, since crane refuses a token
// realm on another loopback host:port.
func (f *Front) challenge(w http.ResponseWriter, r *http.Request, repo, action string, insufficient bool) {
	c := fmt.Sprintf(`Bearer realm="http://%s/token",service="%s"`, r.Host, Service)
	if repo != "" {
		scope := "pull"
		if action == "push" {
			scope = "pull,push"
		}
		c += fmt.Sprintf(`,scope="repository:%s:%s"`, repo, scope)
	}
	if insufficient {
		c += `,error="insufficient_scope"`
	}
	w.Header().Set("WWW-Authenticate", c)
	writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
}

// clampN makes a tag list's n at most size: the default when n is absent
// or larger, as registries that cap their pages do.
func clampN(q url.Values, size int) url.Values {
	if n, err := strconv.Atoi(q.Get("n")); q.Get("n") == "" || (err == nil && n > size) {
		q.Set("n", strconv.Itoa(size))
	}
	return q
}

// proxy forwards to the upstream. X-Forwarded-Host tells distribution to
// build the URLs it returns (upload Locations) on the front's host; any
// absolute URL still naming the upstream is rewritten on the way back.
func (f *Front) proxy() http.Handler {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 32 // clients pull several blobs at once
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(f.upstream)
			pr.SetXForwarded()
		},
		Transport: transport,
		ModifyResponse: func(resp *http.Response) error {
			front := resp.Request.Header.Get("X-Forwarded-Host")
			for _, h := range []string{"Link", "Location"} {
				for i, v := range resp.Header[h] {
					resp.Header[h][i] = f.toFront(v, front)
				}
			}
			return nil
		},
	}
}

// linkURL is a URL in a Link header: `<URL>; rel="next"`.
var linkURL = regexp.MustCompile(`<[^>]*>`)

// toFront rewrites the absolute upstream URLs in a Link or Location
// header value to the front's host; relative ones stay as they are.
func (f *Front) toFront(value, front string) string {
	rewrite := func(raw string) string {
		u, err := url.Parse(raw)
		if err != nil || u.Host != f.upstream.Host {
			return raw
		}
		u.Scheme, u.Host = "http", front
		return u.String()
	}
	if !strings.Contains(value, "<") { // Location: a bare URL
		return rewrite(value)
	}
	return linkURL.ReplaceAllStringFunc(value, func(m string) string {
		return "<" + rewrite(m[1:len(m)-1]) + ">"
	})
}

// writeError writes a registry error body, as distribution does.
func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]string{{"code": code, "message": message}},
	})
}
