package credentials

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// helperScript is a real credential helper: it answers by server, and
// records every server it is asked about in $HELPER_LOG.
const helperScript = `#!/bin/sh
[ "$1" = get ] || { echo "unexpected command $1" >&2; exit 2; }
server=$(cat)
echo "$server" >> "$HELPER_LOG"
case "$server" in
https://index.docker.io/v1/) echo '{"ServerURL":"https://index.docker.io/v1/","Username":"hub","Secret":"hub-secret"}' ;;
token.example) echo '{"ServerURL":"token.example","Username":"<token>","Secret":"refresh-token"}' ;;
empty.example) echo '{"ServerURL":"empty.example","Username":"","Secret":""}' ;;
garbage.example) echo 'not json' ;;
broken.example) echo 'error: the keychain is locked' >&2; echo 'usage: ...' >&2; exit 1 ;;
slow.example) sleep 10 ;;
*) echo 'credentials not found in native keychain'; exit 1 ;;
esac
`

// installHelper puts docker-credential-NAME on PATH and returns the file
// that logs what it was asked.
func installHelper(t *testing.T, name string) (log string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "docker-credential-"+name), []byte(helperScript), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	log = filepath.Join(dir, "asked")
	t.Setenv("HELPER_LOG", log)
	return log
}

func asked(t *testing.T, log string) []string {
	t.Helper()
	data, err := os.ReadFile(log)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(data))
}

func TestCredHelpers(t *testing.T) {
	home := isolate(t)
	log := installHelper(t, "ocixtest")
	writeFile(t, filepath.Join(home, ".docker", "config.json"), `{
		"credHelpers": {"docker.io": "ocixtest", "token.example": "ocixtest", "https://missing.example": "ocixtest"},
		"auths": {"missing.example": {"auth": "`+basic("from-auths", "x")+`"}}
	}`)

	// Docker Hub is asked for by the server docker files it under.
	if got, found := lookup(t, "registry-1.docker.io", "library/busybox"); !found || got != (Credential{Username: "hub", Password: "hub-secret"}) {
		t.Errorf("docker hub: got %+v, %v", got, found)
	}
	// Username <token> means the secret is an identity token.
	if got, found := lookup(t, "token.example", "app"); !found || got != (Credential{IdentityToken: "refresh-token"}) {
		t.Errorf("token: got %+v, %v", got, found)
	}
	// A registry's own helper is its only source in the file, as in
	// docker: its "not found" leaves the auths entry unread.
	if got, found := lookup(t, "missing.example", "app"); found {
		t.Errorf("missing: got %+v from auths; the helper named for it should be the only source", got)
	}
	want := []string{"https://index.docker.io/v1/", "token.example", "missing.example"}
	if got := asked(t, log); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("helper asked about %q, want %q", got, want)
	}
}

func TestCredsStore(t *testing.T) {
	home := isolate(t)
	log := installHelper(t, "ocixstore")
	writeFile(t, filepath.Join(home, ".docker", "config.json"), `{
		"credsStore": "ocixstore",
		"auths": {"https://index.docker.io/v1/": {}, "fallback.example": {"auth": "`+basic("from-auths", "x")+`"}}
	}`)

	if got, found := lookup(t, "docker.io", "library/busybox"); !found || got.Username != "hub" {
		t.Errorf("docker hub: got %+v, %v", got, found)
	}
	// What the store lacks may still be in auths.
	if got, found := lookup(t, "fallback.example", "app"); !found || got.Username != "from-auths" {
		t.Errorf("fallback: got %+v, %v", got, found)
	}
	if _, found := lookup(t, "nowhere.example", "app"); found {
		t.Error("nowhere: found credentials")
	}
	// An answer with nothing in it is no answer.
	if _, found := lookup(t, "empty.example", "app"); found {
		t.Error("empty: found credentials")
	}
	if got := asked(t, log); len(got) != 4 {
		t.Errorf("store asked %d times (%q), want 4", len(got), got)
	}
}

func TestHelperFailures(t *testing.T) {
	home := isolate(t)
	installHelper(t, "ocixfail")
	writeFile(t, filepath.Join(home, ".docker", "config.json"), `{"credsStore": "ocixfail"}`)

	for registry, want := range map[string]string{
		// The helper's own message, one line of it.
		"broken.example":  "credential helper docker-credential-ocixfail for broken.example: error: the keychain is locked",
		"garbage.example": "credential helper docker-credential-ocixfail for garbage.example: answer is not JSON: invalid character 'o' in literal null (expecting 'u')",
	} {
		_, found, err := Default().Lookup(context.Background(), registry, "app")
		if found || err == nil || err.Error() != want {
			t.Errorf("%s: got found=%v, err=%v; want %q", registry, found, err, want)
		}
	}
}

func TestHelperTimeout(t *testing.T) {
	home := isolate(t)
	installHelper(t, "ocixslow")
	writeFile(t, filepath.Join(home, ".docker", "config.json"), `{"credsStore": "ocixslow"}`)
	old := helperTimeout
	helperTimeout = 200 * time.Millisecond
	t.Cleanup(func() { helperTimeout = old })

	start := time.Now()
	_, _, err := Default().Lookup(context.Background(), "slow.example", "app")
	want := "credential helper docker-credential-ocixslow for slow.example: no answer after 200ms"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
	// The helper's sleeping child holds its pipes: WaitDelay must cut that.
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("lookup took %s; a stuck helper must not hang it", d)
	}

	// The caller's cancellation is reported as such, not as a timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	helperTimeout = time.Minute
	if _, _, err := Default().Lookup(ctx, "slow.example", "app"); err != context.DeadlineExceeded {
		t.Errorf("cancelled lookup: got %v, want %v", err, context.DeadlineExceeded)
	}
}
