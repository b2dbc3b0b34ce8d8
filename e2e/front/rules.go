package front

import (
	"net/http"
	"sync"
)

// A Rule sees a registry request after the token check and before the
// upstream does. It may answer it itself (an error, a redirect), call next
// late (a stall), or call next with a wrapped ResponseWriter (a reset or a
// truncation after some bytes, a wrong Content-Length). Rules run in the
// order given; next is the rest of them, then the upstream.
type Rule func(w http.ResponseWriter, r *http.Request, next http.Handler)

// chain makes rules, then h, one handler.
func chain(rules []Rule, h http.Handler) http.Handler {
	for i := len(rules) - 1; i >= 0; i-- {
		rule, next := rules[i], h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { rule(w, r, next) })
	}
	return h
}

// ThrottleFirstTagList answers the first tag list asked of each
// repository with 429 Too Many Requests and Retry-After: 1, as public
// registries do under load; every later one passes. Each call makes a rule
// with its own memory.
func ThrottleFirstTagList() Rule {
	var mu sync.Mutex
	seen := map[string]bool{}
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		route := RouteOf(r)
		if route.Kind == KindTags && r.Method == http.MethodGet {
			mu.Lock()
			first := !seen[route.Repository]
			seen[route.Repository] = true
			mu.Unlock()
			if first {
				w.Header().Set("Retry-After", "1")
				writeError(w, http.StatusTooManyRequests, "TOOMANYREQUESTS", "too many requests: retry after 1 second")
				return
			}
		}
		next.ServeHTTP(w, r)
	}
}
