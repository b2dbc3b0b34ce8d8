package registry

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/ocix/ocix/plugins/internal/credentials"
)

// TestLogsHoldNoSecrets runs every way of authenticating, and a redirect
// to a signed URL, with the log at Trace: no password, token, identity
// token or signature may show, while every request and answer does.
func TestLogsHoldNoSecrets(t *testing.T) {
	const token = "SECRET-token"
	closed := closedAddress(t)
	var srvURL string
	srv, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/token":
			_ = r.ParseForm()
			_, pass, _ := r.BasicAuth()
			if pass != "SECRET-password" && r.PostForm.Get("refresh_token") != "SECRET-refresh" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]string{"token": token})
		case "/v2/bearer/tags/list", "/v2/redirect/tags/list", "/v2/gone/tags/list":
			if r.Header.Get("Authorization") != "Bearer "+token {
				w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s/token?sig=SECRET-sig",service="s"`, srvURL))
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			if r.URL.Path == "/v2/redirect/tags/list" {
				http.Redirect(w, r, "/store/tags?X-Amz-Signature=SECRET-sig&n=5", http.StatusTemporaryRedirect)
				return
			}
			if r.URL.Path == "/v2/gone/tags/list" {
				http.Redirect(w, r, "http://"+closed+"/store?X-Amz-Signature=SECRET-sig", http.StatusTemporaryRedirect)
				return
			}
			tagsAnswer(w, "a")
		case "/v2/basic/tags/list":
			if _, pass, _ := r.BasicAuth(); pass != "SECRET-password" {
				w.Header().Set("WWW-Authenticate", `Basic realm="r"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			tagsAnswer(w, "a")
		case "/store/tags":
			tagsAnswer(w, "a")
		default:
			http.NotFound(w, r)
		}
	}))
	srvURL = srv.URL
	host := srv.Listener.Addr().String()

	password := &staticStore{creds: map[string]credentials.Credential{host: {Username: "alice", Password: "SECRET-password"}}}
	refresh := &staticStore{creds: map[string]credentials.Credential{host: {Username: "alice", IdentityToken: "SECRET-refresh"}}}
	var logs strings.Builder
	for _, run := range []struct {
		store *staticStore
		repo  string
	}{{password, "bearer"}, {password, "basic"}, {password, "redirect"}, {refresh, "bearer"}} {
		c := newTestClient(t, Options{Credentials: run.store})
		if _, err := c.ListTags(context.Background(), endpoint(srv), run.repo); err != nil {
			t.Fatalf("%s: %v", run.repo, err)
		}
		logs.WriteString(c.log.String())
	}
	// A failed request's error holds its URL; the log must not.
	c := newTestClient(t, Options{Credentials: password})
	_, err := c.ListTags(context.Background(), endpoint(srv), "gone")
	wantError(t, err, "cannot reach registry "+closed+": connection refused")
	logs.WriteString(c.log.String())

	log := logs.String()
	for _, leak := range []string{"SECRET", base64.StdEncoding.EncodeToString([]byte("alice:SECRET-password")), "Authorization", "Bearer", "Basic"} {
		if strings.Contains(log, leak) {
			t.Errorf("the log holds %q:\n%s", leak, log)
		}
	}
	for _, want := range []string{
		"request: method=GET url=http://" + host + "/v2/bearer/tags/list\n",
		"status=401",
		"request: method=GET url=\"http://" + host + "/token?account=redacted&scope=repository%3Abearer%3Apull&service=s&sig=redacted\"",
		"request: method=POST url=http://" + host + "/token?sig=redacted\n",
		"url=\"http://" + host + "/store/tags?X-Amz-Signature=redacted&n=5\" status=200",
		"request failed: method=GET url=http://" + host + "/v2/gone/tags/list error=\"cannot reach registry " + closed + ": connection refused\"",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}
}
