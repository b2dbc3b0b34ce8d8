package front

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Target picks the requests a fault spoils: reads of one kind of route,
// of one reference or of any, the first First of them or every one. It
// is counted in the order requests reach the front, so that "the first
// two blob requests" is the same two whatever the client fetches at once.
type Target struct {
	// Kind is the route: KindTags, KindManifest, KindBlob…; "" for any.
	Kind Kind
	// Reference is one manifest reference or blob digest; "" for any.
	Reference string
	// First spoils only the first First requests picked; 0 spoils every
	// one (a registry that stays broken).
	First int
}

// Forever is a stall that lasts until the client goes away or the front
// is closed.
const Forever time.Duration = math.MaxInt64

// Fault is a Rule that spoils the requests its Target picks in one way,
// and passes every other on. Its Rule method is the Rule to give Options.
type Fault struct {
	target Target
	// reads picks GET and HEAD requests; otherwise only GETs, for the
	// faults that spoil a body a HEAD answer does not have.
	reads bool
	spoil func(w http.ResponseWriter, r *http.Request, next http.Handler)

	mu     sync.Mutex
	picked int // requests that matched the target
	hits   int // requests spoiled
	// stalled is closed when a stall first holds a request; made on
	// first use.
	stalled chan struct{}
	held    bool
}

// Rule spoils r if the fault's target picks it.
func (f *Fault) Rule(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if !f.pick(r) {
		next.ServeHTTP(w, r)
		return
	}
	f.spoil(w, r, next)
}

// Hits is how many requests the fault has spoiled so far.
func (f *Fault) Hits() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits
}

// Stalled is closed once the fault (Stall, StallBody) first holds a
// request: a test that acts while a transfer is under way waits on it.
// Other faults never close it.
func (f *Fault) Stalled() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stalledChan()
}

// holding marks the start of a hold, for Stalled.
func (f *Fault) holding() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.held {
		f.held = true
		close(f.stalledChan())
	}
}

// stalledChan is f.stalled, made on first use; f.mu is held.
func (f *Fault) stalledChan() chan struct{} {
	if f.stalled == nil {
		f.stalled = make(chan struct{})
	}
	return f.stalled
}

func (f *Fault) pick(r *http.Request) bool {
	if r.Method != http.MethodGet && !(f.reads && r.Method == http.MethodHead) {
		return false
	}
	route := RouteOf(r)
	if f.target.Kind != "" && route.Kind != f.target.Kind ||
		f.target.Reference != "" && route.Reference != f.target.Reference {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.picked++
	if f.target.First > 0 && f.picked > f.target.First {
		return false
	}
	f.hits++
	return true
}

// Throttle answers 429 Too Many Requests, with Retry-After in whole
// seconds (none when retryAfter is 0), as registries under load do.
func Throttle(t Target, retryAfter time.Duration) *Fault {
	return &Fault{target: t, reads: true, spoil: func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		if retryAfter > 0 {
			secs := int64(math.Ceil(retryAfter.Seconds()))
			w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		}
		writeError(w, http.StatusTooManyRequests, "TOOMANYREQUESTS", "too many requests")
	}}
}

// ServerError answers status (500, 502, 503…): a 500 with the registry's
// own error body, the others with the HTML page of the load balancer in
// front of it, as they come in real life.
func ServerError(t Target, status int) *Fault {
	return &Fault{target: t, reads: true, spoil: func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		if status == http.StatusInternalServerError {
			writeError(w, status, "UNKNOWN", "unknown error")
			return
		}
		text := http.StatusText(status)
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		fmt.Fprintf(w, "<html><head><title>%d %s</title></head><body><h1>%d %s</h1></body></html>\n", status, text, status, text)
	}}
}

// Stall holds a request for d before the registry answers it — no
// headers come meanwhile — then lets it through. A client that waits less
// than d for headers must give up on its own; d is Forever for a registry
// that never answers.
func Stall(t Target, d time.Duration) *Fault {
	f := &Fault{target: t, reads: true}
	f.spoil = func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		f.holding()
		if hold(r, d) {
			next.ServeHTTP(w, r)
		}
	}
	return f
}

// StallBody lets the headers and the first after bytes of a body through,
// then holds the rest for d (Forever: until the client goes away). A
// client must notice that nothing comes.
func StallBody(t Target, after int64, d time.Duration) *Fault {
	var f *Fault
	f = bodyFault(t, after, func(w http.ResponseWriter, r *http.Request) error {
		f.holding()
		if !hold(r, d) {
			return errSpoiled
		}
		return nil
	})
	return f
}

// ResetAfter resets the connection (TCP RST) after the first n bytes of
// a body, as a middlebox that drops a connection does.
func ResetAfter(t Target, n int64) *Fault {
	return bodyFault(t, n, func(w http.ResponseWriter, _ *http.Request) error { return hangUp(w, true) })
}

// Truncate ends a body after its first n bytes, closing the connection
// cleanly though the headers promised more.
func Truncate(t Target, n int64) *Fault {
	return bodyFault(t, n, func(w http.ResponseWriter, _ *http.Request) error { return hangUp(w, false) })
}

// WrongContentLength announces a body delta bytes longer (delta > 0) or
// shorter than it is. net/http then does what a server with the wrong
// length does: shorter, the body stops at the length announced; longer,
// the connection closes after the real body, short of what was promised.
func WrongContentLength(t Target, delta int64) *Fault {
	return &Fault{target: t, spoil: func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		next.ServeHTTP(&lengthWriter{ResponseWriter: w, delta: delta}, r)
	}}
}

// RedirectBlobs answers blob requests with 307 Temporary Redirect to s, a
// storage service on the other loopback name, as registries backed by S3
// or GCS send clients to a signed URL. The Target's Kind is KindBlob
// whatever it was given as.
func RedirectBlobs(t Target, s *Storage) *Fault {
	t.Kind = KindBlob
	return &Fault{target: t, reads: true, spoil: func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		route := RouteOf(r)
		http.Redirect(w, r, s.signedURL(r.Host, route.Repository, route.Reference), http.StatusTemporaryRedirect)
	}}
}

// hold waits d, and reports false when the client went away first.
func hold(r *http.Request, d time.Duration) bool {
	if d == Forever {
		<-r.Context().Done()
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.Context().Done():
		return false
	case <-t.C:
		return true
	}
}

// bodyFault passes the first n bytes of a GET's body, then calls then;
// an error from then ends the answer there.
func bodyFault(t Target, n int64, then func(w http.ResponseWriter, r *http.Request) error) *Fault {
	return &Fault{target: t, spoil: func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		next.ServeHTTP(&afterWriter{ResponseWriter: w, left: n, then: func() error { return then(w, r) }}, r)
	}}
}
