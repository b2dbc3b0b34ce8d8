package front

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// blobFront is a front with rules over a registry holding one image in
// "team/app": the host to reach it, a pull token, and the image's layer.
type blobFront struct {
	host, token, digest string
	blob                []byte
}

func newBlobFront(t *testing.T, rules ...Rule) *blobFront {
	t.Helper()
	up := httptest.NewServer(quietRegistry())
	t.Cleanup(up.Close)
	upstream := strings.TrimPrefix(up.URL, "http://")
	img, err := random.Image(64<<10, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Pushed to the upstream: the rules are for what clients pull.
	if err := crane.Push(img, upstream+"/team/app:1", crane.Insecure); err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	d, _ := layers[0].Digest()
	rc, _ := layers[0].Compressed()
	blob, _ := io.ReadAll(rc)
	f, err := New(Options{Upstream: upstream, NoThrottle: true, Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	tok, _ := token(t, host, "repository:team/app:pull", "", "")
	return &blobFront{host: host, token: tok, digest: d.String(), blob: blob}
}

func (b *blobFront) blobURL() string { return "http://" + b.host + "/v2/team/app/blobs/" + b.digest }

// do sends method to url with the front's token and a client that waits
// at most timeout for headers; it does not read the body.
func (b *blobFront) do(t *testing.T, method, url string, timeout time.Duration) (*http.Response, error) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	req.Header.Set("Authorization", "Bearer "+b.token)
	tr := &http.Transport{ResponseHeaderTimeout: timeout, DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err == nil {
		t.Cleanup(func() { resp.Body.Close() })
	}
	return resp, err
}

func TestTargetPicks(t *testing.T) {
	f := ServerError(Target{Kind: KindBlob, First: 2}, http.StatusServiceUnavailable)
	b := newBlobFront(t, f.Rule)
	manifest := "http://" + b.host + "/v2/team/app/manifests/1"
	for i, c := range []struct {
		method, url string
		want        int
	}{
		{http.MethodGet, manifest, 200}, // another kind: not picked
		{http.MethodHead, b.blobURL(), 503},
		{http.MethodGet, b.blobURL(), 503},
		{http.MethodGet, b.blobURL(), 200}, // past the first two
		{http.MethodGet, b.blobURL(), 200},
	} {
		resp, err := b.do(t, c.method, c.url, 5*time.Second)
		if err != nil || resp.StatusCode != c.want {
			t.Fatalf("request %d (%s %s): %v %v, want %d", i, c.method, c.url, resp.Status, err, c.want)
		}
	}
	if f.Hits() != 2 {
		t.Errorf("%d hits, want 2", f.Hits())
	}

	// One reference only, every time.
	other := Throttle(Target{Kind: KindBlob, Reference: "sha256:" + strings.Repeat("0", 64)}, 0)
	b = newBlobFront(t, other.Rule)
	if resp, _ := b.do(t, http.MethodGet, b.blobURL(), 5*time.Second); resp.StatusCode != 200 || other.Hits() != 0 {
		t.Errorf("another blob: %s, %d hits", resp.Status, other.Hits())
	}
}

func TestThrottleAndServerErrors(t *testing.T) {
	for _, c := range []struct {
		fault      *Fault
		status     int
		retryAfter string
		body       string
	}{
		{Throttle(Target{Kind: KindBlob}, 1500*time.Millisecond), 429, "2", `"code":"TOOMANYREQUESTS"`},
		{Throttle(Target{Kind: KindBlob}, 0), 429, "", `"code":"TOOMANYREQUESTS"`},
		{ServerError(Target{Kind: KindBlob}, 500), 500, "", `"code":"UNKNOWN"`},
		{ServerError(Target{Kind: KindBlob}, 502), 502, "", "<h1>502 Bad Gateway</h1>"},
	} {
		b := newBlobFront(t, c.fault.Rule)
		for range 2 { // every time: no First
			resp, err := b.do(t, http.MethodGet, b.blobURL(), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.status || resp.Header.Get("Retry-After") != c.retryAfter || !strings.Contains(string(body), c.body) {
				t.Errorf("%s, Retry-After %q, %q; want %d, %q, %q", resp.Status, resp.Header.Get("Retry-After"), body, c.status, c.retryAfter, c.body)
			}
		}
	}
}

func TestStall(t *testing.T) {
	f := Stall(Target{Kind: KindBlob, First: 1}, Forever)
	b := newBlobFront(t, f.Rule)
	start := time.Now()
	if _, err := b.do(t, http.MethodGet, b.blobURL(), 200*time.Millisecond); err == nil || !strings.Contains(err.Error(), "timeout awaiting response headers") {
		t.Fatalf("a stalled request: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the client's timeout took %s", d)
	}
	select {
	case <-f.Stalled():
	default:
		t.Error("Stalled is open after a request was held")
	}
	// The next request is not picked.
	if resp, err := b.do(t, http.MethodGet, b.blobURL(), 5*time.Second); err != nil || resp.StatusCode != 200 {
		t.Fatalf("the second request: %v", err)
	}

	// A stall that ends lets the answer through, late.
	b = newBlobFront(t, Stall(Target{Kind: KindBlob}, 300*time.Millisecond).Rule)
	start = time.Now()
	resp, err := b.do(t, http.MethodGet, b.blobURL(), 5*time.Second)
	if err != nil || resp.StatusCode != 200 || time.Since(start) < 300*time.Millisecond {
		t.Fatalf("after %s: %v", time.Since(start), err)
	}
	if got, _ := io.ReadAll(resp.Body); !bytes.Equal(got, b.blob) {
		t.Error("not the blob")
	}
}

// readTimed reads r in a goroutine and reports what it read when it
// ended, or by the deadline.
func readTimed(r io.Reader, d time.Duration) (got []byte, err error, ended bool) {
	type result struct {
		b   []byte
		err error
	}
	var buf bytes.Buffer
	done := make(chan result, 1)
	go func() {
		_, err := io.Copy(&buf, r)
		done <- result{buf.Bytes(), err}
	}()
	select {
	case res := <-done:
		return res.b, res.err, true
	case <-time.After(d):
		return nil, nil, false
	}
}

func TestStallBody(t *testing.T) {
	f := StallBody(Target{Kind: KindBlob}, 1000, Forever)
	b := newBlobFront(t, f.Rule)
	select {
	case <-f.Stalled():
		t.Fatal("Stalled is closed before any request")
	default:
	}
	resp, err := b.do(t, http.MethodGet, b.blobURL(), 5*time.Second)
	if err != nil || resp.StatusCode != 200 {
		t.Fatal(err)
	}
	first := make([]byte, 1000)
	if _, err := io.ReadFull(resp.Body, first); err != nil || !bytes.Equal(first, b.blob[:1000]) {
		t.Fatalf("the first 1000 bytes: %v", err)
	}
	select {
	case <-f.Stalled():
	case <-time.After(5 * time.Second):
		t.Fatal("Stalled is still open while the body is held")
	}
	if _, _, ended := readTimed(resp.Body, 300*time.Millisecond); ended {
		t.Fatal("the body went on")
	}

	b = newBlobFront(t, StallBody(Target{Kind: KindBlob}, 1000, 200*time.Millisecond).Rule)
	resp, err = b.do(t, http.MethodGet, b.blobURL(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	got, err, ended := readTimed(resp.Body, 5*time.Second)
	if !ended || err != nil || !bytes.Equal(got, b.blob) || time.Since(start) < 200*time.Millisecond {
		t.Fatalf("a stall that ends: %d bytes, %v after %s", len(got), err, time.Since(start))
	}
}

func TestResetAndTruncate(t *testing.T) {
	for _, c := range []struct {
		name  string
		fault *Fault
		want  func(error) bool
	}{
		{"reset", ResetAfter(Target{Kind: KindBlob}, 5000), func(err error) bool { return errors.Is(err, syscall.ECONNRESET) }},
		{"truncate", Truncate(Target{Kind: KindBlob}, 5000), func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBlobFront(t, c.fault.Rule)
			resp, err := b.do(t, http.MethodGet, b.blobURL(), 5*time.Second)
			if err != nil || resp.ContentLength != int64(len(b.blob)) {
				t.Fatalf("%v, Content-Length %d", err, resp.ContentLength)
			}
			got, err, _ := readTimed(resp.Body, 5*time.Second)
			if !bytes.Equal(got, b.blob[:5000]) || !c.want(err) {
				t.Errorf("read %d bytes, then %v", len(got), err)
			}
		})
	}
}

func TestWrongContentLength(t *testing.T) {
	b := newBlobFront(t, WrongContentLength(Target{Kind: KindBlob}, 100).Rule)
	resp, err := b.do(t, http.MethodGet, b.blobURL(), 5*time.Second)
	if err != nil || resp.ContentLength != int64(len(b.blob)+100) {
		t.Fatalf("%v, Content-Length %d", err, resp.ContentLength)
	}
	got, err, _ := readTimed(resp.Body, 5*time.Second)
	if !bytes.Equal(got, b.blob) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("longer: read %d bytes, then %v", len(got), err)
	}

	b = newBlobFront(t, WrongContentLength(Target{Kind: KindBlob}, -100).Rule)
	resp, err = b.do(t, http.MethodGet, b.blobURL(), 5*time.Second)
	if err != nil || resp.ContentLength != int64(len(b.blob)-100) {
		t.Fatalf("%v, Content-Length %d", err, resp.ContentLength)
	}
	got, err, _ = readTimed(resp.Body, 5*time.Second)
	if !bytes.Equal(got, b.blob[:len(b.blob)-100]) || err != nil {
		t.Errorf("shorter: read %d bytes, then %v", len(got), err)
	}
}

// TestRedirectBlobs: a redirected blob is served by the storage on the
// other loopback name, which Go's client and crane reach without the
// registry's Authorization.
func TestRedirectBlobs(t *testing.T) {
	up := httptest.NewServer(quietRegistry())
	t.Cleanup(up.Close)
	upstream := strings.TrimPrefix(up.URL, "http://")
	s, err := ListenStorage(upstream)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	redirect := RedirectBlobs(Target{}, s)
	f, err := Listen("127.0.0.1:0", Options{Upstream: upstream, NoThrottle: true, Rules: []Rule{redirect.Rule}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })

	img, _ := random.Image(64<<10, 2)
	if err := crane.Push(img, upstream+"/team/app:1", crane.Insecure); err != nil {
		t.Fatal(err)
	}
	// crane refuses a redirect to a loopback IP literal: the front is
	// named 127.0.0.1, the storage localhost.
	got, err := crane.Pull(f.Addr+"/team/app:1", crane.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	// crane.Pull is lazy: reading the layers fetches them.
	layers, _ := got.Layers()
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			t.Fatal(err)
		}
		rc.Close()
	}
	if s.Requests() != len(layers) {
		t.Errorf("the storage served %d requests, want %d", s.Requests(), len(layers))
	}
	if redirect.Hits() == 0 {
		t.Error("nothing was redirected")
	}
	if a := s.Authorizations(); len(a) > 0 {
		t.Errorf("the storage got Authorization: %q", a)
	}

	// The Location names the other loopback name, either way round; Go's
	// client drops Authorization on the way; a wrong signature is refused.
	_, port, _ := strings.Cut(f.Addr, ":")
	tok, _ := token(t, f.Addr, "repository:team/app:pull", "", "")
	layers, _ = img.Layers()
	d, _ := layers[0].Digest()
	for host, want := range map[string]string{f.Addr: "http://localhost:", "localhost:" + port: "http://127.0.0.1:"} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+host+"/v2/team/app/blobs/"+d.String(), nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusTemporaryRedirect || !strings.HasPrefix(loc, want) {
			t.Fatalf("through %s: %s, Location %q", host, resp.Status, loc)
		}
		before := len(s.Authorizations())
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
			t.Fatalf("through %s: %v", host, err)
		} else {
			resp.Body.Close()
		}
		if len(s.Authorizations()) != before {
			t.Errorf("through %s: Go's client sent Authorization to the storage", host)
		}
		forged := strings.Replace(loc, "X-Amz-Signature=", "X-Amz-Signature=0", 1)
		if resp := get(t, forged, ""); resp.StatusCode != http.StatusForbidden {
			t.Errorf("a forged URL: %s", resp.Status)
		}
		// A client that did send it would be caught.
		if resp := get(t, loc, "leaked"); resp.StatusCode != 200 || !slices.Contains(s.Authorizations(), "Bearer leaked") {
			t.Errorf("a leak went unrecorded: %s %q", resp.Status, s.Authorizations())
		}
	}
}

// TestStorageRules: the storage's own rules spoil its answers, as the
// front's do.
func TestStorageRules(t *testing.T) {
	up := httptest.NewServer(quietRegistry())
	t.Cleanup(up.Close)
	upstream := strings.TrimPrefix(up.URL, "http://")
	cut := Truncate(Target{Kind: KindBlob, First: 1}, 100)
	s, err := ListenStorage(upstream, cut.Rule)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	img, _ := random.Image(4096, 1)
	if err := crane.Push(img, upstream+"/team/app:1", crane.Insecure); err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	d, _ := layers[0].Digest()
	url := s.signedURL(s.Addr, "team/app", d.String())
	for i, want := range []int{100, 0} {
		resp := get(t, url, "")
		got, err := io.ReadAll(resp.Body)
		if i == 0 && (len(got) != want || !errors.Is(err, io.ErrUnexpectedEOF)) || i == 1 && err != nil {
			t.Errorf("request %d: %d bytes, %v", i, len(got), err)
		}
	}
	if cut.Hits() != 1 {
		t.Errorf("%d hits", cut.Hits())
	}
}

// TestCloseEndsStalls: closing a front ends the requests it holds at once.
func TestCloseEndsStalls(t *testing.T) {
	up := httptest.NewServer(quietRegistry())
	t.Cleanup(up.Close)
	f, err := Listen("127.0.0.1:0", Options{Upstream: strings.TrimPrefix(up.URL, "http://"), NoThrottle: true,
		Rules: []Rule{Stall(Target{}, Forever).Rule}})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := token(t, f.Addr, "", "", "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+f.Addr+"/v2/", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	f.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %s", d)
	}
	<-errc
}
