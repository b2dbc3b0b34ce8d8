// Package registry is the api backend's client of the OCI distribution
// API. Its request core picks the scheme, answers auth challenges (caching
// tokens per host and scope), retries what may pass and tells every
// failure in one line; the calls (ListTags, …) are built on it.
package registry

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/credentials"
	"github.com/ocix/ocix/plugins/internal/registries"
)

// Options configure a Client. A field left zero takes the default its
// comment states.
type Options struct {
	// Log gets one Debug line per request and per answer, and never a
	// credential or token. Default: nothing is logged.
	Log hclog.Logger
	// UserAgent is sent with every request. Default: "ocix".
	UserAgent string
	// Credentials answer the registries' auth challenges. Default: none,
	// every request is anonymous.
	Credentials credentials.Store
	// Retries is how many times a request answered 429 or 5xx, or cut off,
	// is sent again. Default: 0, none.
	Retries int
	// RequestTimeout bounds the wait for one answer's headers; the whole
	// operation's limit is its context's. Default: 30s.
	RequestTimeout time.Duration
	// IdleTimeout bounds any wait for the next bytes of an answer's body:
	// a registry that stops sending midway fails the attempt, which is
	// retried (a blob resumed) like a connection cut off. Default:
	// RequestTimeout.
	IdleTimeout time.Duration
	// MaxPages bounds the pages of one tag list. Default: 10000.
	MaxPages int
}

// Client speaks to registries. It is safe for concurrent use, and the
// tokens it gets serve all its calls.
type Client struct {
	log       hclog.Logger
	userAgent string
	creds     credentials.Store
	retries   int
	maxPages  int
	idle      time.Duration
	// secure verifies TLS; insecure, for registries marked so, does not.
	secure, insecure *http.Client
	// sleep waits between retries; tests make it instant.
	sleep func(context.Context, time.Duration) error

	mu    sync.Mutex
	auths map[authKey]authorization
	// plain holds insecure hosts found to answer plain HTTP only, so that
	// only their first request tries HTTPS.
	plain map[string]bool
}

const (
	dialTimeout  = 10 * time.Second
	maxRedirects = 10
)

// New returns a Client with its own connection pool.
func New(opts Options) *Client {
	if opts.Log == nil {
		opts.Log = hclog.NewNullLogger()
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 30 * time.Second
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = opts.RequestTimeout
	}
	if opts.MaxPages <= 0 {
		opts.MaxPages = 10000
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "ocix"
	}
	secure := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: opts.RequestTimeout,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		// Later calls fetch blobs in parallel from one host.
		MaxIdleConnsPerHost: 16,
	}
	insecure := secure.Clone()
	insecure.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	return &Client{
		log:       opts.Log,
		userAgent: opts.UserAgent,
		creds:     opts.Credentials,
		retries:   max(opts.Retries, 0),
		maxPages:  opts.MaxPages,
		idle:      opts.IdleTimeout,
		secure:    &http.Client{Transport: secure, CheckRedirect: checkRedirect},
		insecure:  &http.Client{Transport: insecure, CheckRedirect: checkRedirect},
		sleep:     sleep,
		auths:     map[authKey]authorization{},
		plain:     map[string]bool{},
	}
}

// checkRedirect follows up to maxRedirects redirects and keeps the
// Authorization header for the origin it was meant for. Go's own rule
// would also forward it to a subdomain, and to the same host on another
// port or scheme (a downgrade to plain HTTP included).
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > maxRedirects {
		return fmt.Errorf("more than %d redirects", maxRedirects)
	}
	if !sameOrigin(req.URL, via[0].URL) {
		req.Header.Del("Authorization")
	}
	return nil
}

// request is one call of the registry API about one repository.
type request struct {
	ep         core.Endpoint
	repository string
	method     string
	// url is absolute. send turns it to plain HTTP when an insecure
	// registry turns out not to speak HTTPS.
	url    *url.URL
	header http.Header
}

// newRequest addresses path on ep: in plain HTTP for a loopback registry,
// as docker and crane do, or an insecure one known not to speak HTTPS; in
// HTTPS for every other.
func (c *Client) newRequest(ep core.Endpoint, repository, method, path string) *request {
	scheme := "https"
	c.mu.Lock()
	if registries.PlainHTTP(ep) || c.plain[ep.Host] {
		scheme = "http"
	}
	c.mu.Unlock()
	return &request{
		ep:         ep,
		repository: repository,
		method:     method,
		url:        &url.URL{Scheme: scheme, Host: ep.Host, Path: path},
		header:     http.Header{},
	}
}

// name is how errors name the repository: registry/path.
func (r *request) name() string { return r.ep.Registry + "/" + r.repository }

// scope is the token scope r needs.
func (r *request) scope() string { return "repository:" + r.repository + ":pull" }

// do sends r until it has a final answer and hands a successful one to
// read, closing the body after. A 401 is answered once with credentials
// and r sent again at once; answers 429 and 5xx, and exchanges cut off,
// are retried after a wait. read may mark its own error retryable (an
// answer cut off midway). Every error is one line.
func (c *Client) do(ctx context.Context, r *request, read func(*http.Response) error) error {
	authenticated := false
	return c.retry(ctx, func() error {
		resp, err := c.send(ctx, r)
		if err != nil {
			return err
		}
		// A cached token may have expired: one challenge per call is
		// answered; a second 401 is the answer.
		if resp.StatusCode == http.StatusUnauthorized && !authenticated {
			authenticated = true
			if resp, err = c.answerChallenge(ctx, r, resp); err != nil {
				return err
			}
		}
		defer closeBody(resp)
		if resp.StatusCode/100 == 2 {
			return read(resp)
		}
		e := answerError(r.name(), resp)
		if retryableStatus(resp.StatusCode) {
			return retryLater(e, resp.Header)
		}
		return e
	})
}

// send makes one exchange for r with the authorization cached for its
// scope. An insecure registry that fails in HTTPS is tried in plain HTTP
// (for "host" without a port: port 80, not 443, as docker does), and
// remembered as plain once that answers.
func (c *Client) send(ctx context.Context, r *request) (*http.Response, error) {
	resp, err := c.roundTrip(c.build(ctx, r, r.url), r.ep.Insecure)
	if err == nil || !r.ep.Insecure || r.url.Scheme != "https" || ctx.Err() != nil {
		return resp, err
	}
	plain := *r.url
	plain.Scheme = "http"
	c.log.Debug("no answer in HTTPS, trying plain HTTP", "host", r.ep.Host, "error", err)
	resp, perr := c.roundTrip(c.build(ctx, r, &plain), true)
	if perr != nil {
		return nil, err // the HTTPS failure says more: it is what was tried first
	}
	c.mu.Lock()
	c.plain[r.ep.Host] = true
	c.mu.Unlock()
	r.url = &plain
	return resp, nil
}

func (c *Client) build(ctx context.Context, r *request, u *url.URL) *http.Request {
	req := (&http.Request{Method: r.method, URL: u, Header: r.header.Clone()}).WithContext(ctx)
	if auth := c.cachedAuth(r); auth != "" {
		req.Header.Set("Authorization", auth)
	}
	return req
}

// roundTrip is one HTTP exchange, logged without its secrets. insecure
// skips TLS verification. The answer's body ends with a StallError when
// it brings nothing for the client's idle timeout (see registries.WatchIdle).
func (c *Client) roundTrip(req *http.Request, insecure bool) (*http.Response, error) {
	hc := c.secure
	if insecure {
		hc = c.insecure
	}
	req.Header.Set("User-Agent", c.userAgent)
	debug := c.log.IsDebug()
	if debug {
		c.log.Debug("request", "method", req.Method, "url", safeURL(req.URL))
	}
	start := time.Now()
	caller := req.Context()
	ctx, cancel := context.WithCancel(caller)
	resp, err := hc.Do(req.WithContext(ctx))
	if err != nil {
		cancel()
		if ctxErr := caller.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		// Logged as told, not raw: Go's error holds the URL, query and all.
		err = transportError(req.URL.Host, err)
		if debug {
			c.log.Debug("request failed", "method", req.Method, "url", safeURL(req.URL), "error", err)
		}
		return nil, err
	}
	if debug {
		c.log.Debug("answer", "method", req.Method, "url", safeURL(resp.Request.URL), "status", resp.StatusCode, "took", time.Since(start).Round(time.Microsecond).String())
	}
	registries.WatchIdle(resp, c.idle, cancel)
	return resp, nil
}

// loggable are the query parameters the registry API itself uses. Others
// are hidden from the log: a redirect's signed URL carries its credentials
// in the query.
var loggable = map[string]bool{"n": true, "last": true, "service": true, "scope": true}

// safeURL is u as the log may show it.
func safeURL(u *url.URL) string {
	s := *u
	s.User = nil
	if s.RawQuery != "" {
		q := s.Query()
		for k, vs := range q {
			if !loggable[k] {
				for i := range vs {
					vs[i] = "redacted"
				}
			}
		}
		s.RawQuery = q.Encode()
	}
	return s.String()
}

// sameOrigin reports whether two URLs name the same scheme, host and port.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}
