package front

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// tokenLifetime is what the token endpoint promises (expires_in) and
// keeps.
const tokenLifetime = 300 * time.Second

// tokens are the bearer tokens the front has issued: opaque random
// strings, each granting "REPOSITORY:ACTION"s until it expires.
type tokens struct {
	mu     sync.Mutex
	grants map[string]grant
	order  []string // issue order, for Front.Tokens
}

type grant struct {
	expires time.Time
	access  map[string]bool // "library/busybox:pull"
}

func newTokens() tokens { return tokens{grants: map[string]grant{}} }

func (t *tokens) issue(access map[string]bool) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // never fails on Linux
	token := hex.EncodeToString(b)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.grants[token] = grant{expires: time.Now().Add(tokenLifetime), access: access}
	t.order = append(t.order, token)
	return token
}

func (t *tokens) issued() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.order)
}

// allows says whether token may do action on repo; any valid token may
// reach the endpoints of no repository (/v2/, the catalog).
// insufficient says that the token is valid but lacks that grant.
func (t *tokens) allows(token, repo, action string) (ok, insufficient bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	g, found := t.grants[token]
	if !found || time.Now().After(g.expires) {
		return false, false
	}
	if repo == "" || g.access[repo+":"+action] {
		return true, false
	}
	return false, true
}

// bearer is the request's bearer token, or "".
func bearer(r *http.Request) string {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return token
}

// serveToken is the token endpoint (GET /token?service=…&scope=…), as
// the distribution token spec describes it. Anyone gets a token; it
// grants pull and push on the scopes asked for, except on private
// repositories, which only a user who logged in with basic auth gets.
// Wrong credentials are refused outright.
func (f *Front) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "the token endpoint takes GET only")
		return
	}
	user, password, loggedIn := r.BasicAuth()
	if loggedIn && !f.validUser(user, password) {
		writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "incorrect username or password")
		return
	}
	access := map[string]bool{}
	for _, scope := range r.URL.Query()["scope"] {
		// One scope parameter may hold several, space-separated.
		for _, s := range strings.Fields(scope) {
			kind, rest, _ := strings.Cut(s, ":")
			i := strings.LastIndex(rest, ":")
			if kind != "repository" || i < 0 {
				continue
			}
			repo := rest[:i]
			if f.private[repo] && !loggedIn {
				continue
			}
			for _, action := range strings.Split(rest[i+1:], ",") {
				access[repo+":"+action] = true
			}
		}
	}
	token := f.tokens.issue(access)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"token":        token,
		"access_token": token,
		"expires_in":   int(tokenLifetime.Seconds()),
		"issued_at":    time.Now().UTC().Format(time.RFC3339),
	})
}

func (f *Front) validUser(user, password string) bool {
	want, ok := f.users[user]
	return ok && subtle.ConstantTimeCompare([]byte(want), []byte(password)) == 1
}
