package front

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Storage stands for the object store behind a registry that redirects
// blob downloads (S3, GCS): a second listener serving the upstream's
// blobs at signed URLs, which RedirectBlobs sends clients to. Its URLs
// name it by the other loopback name than the one the client gave the
// front — localhost for 127.0.0.1 and the other way round — so that it is
// another host to every client: Go's client compares host names, not
// ports, when it decides which headers follow a redirect, and crane
// refuses a redirect to another loopback IP literal.
//
// It records the Authorization headers that reach it: the registry's
// credentials must not follow a client there.
type Storage struct {
	Addr      string // "127.0.0.1:PORT", where it listens
	signature string // the signed URLs' X-Amz-Signature
	handler   http.Handler
	l         *listener

	mu       sync.Mutex
	requests int
	auths    []string
}

// ListenStorage starts a storage for the registry at upstream (host:port)
// on a free port of 127.0.0.1. Its rules spoil its own answers, as the
// front's do; they see each request as the registry's blob request it
// stands for.
func ListenStorage(upstream string, rules ...Rule) (*Storage, error) {
	u, err := url.Parse("http://" + upstream)
	if err != nil || u.Host != upstream {
		return nil, fmt.Errorf("storage: upstream %q is not a host:port", upstream)
	}
	sig := make([]byte, 16)
	_, _ = rand.Read(sig) // never fails on Linux
	s := &Storage{signature: hex.EncodeToString(sig)}
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(u) }}
	s.handler = chain(rules, proxy)
	if s.l, err = listen("127.0.0.1:0", s); err != nil {
		return nil, err
	}
	s.Addr = s.l.addr
	return s, nil
}

// Close stops the storage as Server.Close stops a front.
func (s *Storage) Close() error { return s.l.close() }

// Requests is how many requests reached the storage.
func (s *Storage) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Authorizations are the Authorization headers that reached the storage,
// in order: any is a leak.
func (s *Storage) Authorizations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.auths)
}

// ServeHTTP serves GET and HEAD /storage/REPOSITORY/DIGEST?X-Amz-…, the
// signature checked, from the upstream's blob.
func (s *Storage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	if a := r.Header.Get("Authorization"); a != "" {
		s.auths = append(s.auths, a)
	}
	s.mu.Unlock()
	rest, ok := strings.CutPrefix(r.URL.Path, "/storage/")
	i := strings.LastIndexByte(rest, '/')
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	case !ok || i <= 0:
		http.NotFound(w, r)
		return
	case r.URL.Query().Get("X-Amz-Signature") != s.signature:
		// What S3 answers a URL whose signature does not match.
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code></Error>`)
		return
	}
	r.URL.Path = "/v2/" + rest[:i] + "/blobs/" + rest[i+1:]
	r.URL.RawQuery = ""
	r.Header.Del("Authorization") // the upstream has no auth of its own
	s.handler.ServeHTTP(w, r)
}

// signedURL is where the storage serves blob dgst of repository, named by
// the other loopback name than frontHost's.
func (s *Storage) signedURL(frontHost, repository, dgst string) string {
	name := "localhost"
	if h, _, err := net.SplitHostPort(frontHost); err == nil && strings.EqualFold(h, "localhost") {
		name = "127.0.0.1"
	}
	_, port, _ := net.SplitHostPort(s.Addr)
	q := url.Values{
		"X-Amz-Algorithm": {"AWS4-HMAC-SHA256"},
		"X-Amz-Expires":   {"300"},
		"X-Amz-Signature": {s.signature},
	}
	return "http://" + net.JoinHostPort(name, port) + "/storage/" + repository + "/" + dgst + "?" + q.Encode()
}
