//go:build e2e

package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ocix/ocix/e2e/front"
)

// sorted returns the tags of an ocix tags run, sorted, to compare sets.
func sorted(out string) []string {
	tags := lines(out)
	slices.Sort(tags)
	return tags
}

func sameTags(t *testing.T, backend string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		var missing, extra []string
		for _, w := range want {
			if !slices.Contains(got, w) {
				missing = append(missing, w)
			}
		}
		for _, g := range got {
			if !slices.Contains(want, g) {
				extra = append(extra, g)
			}
		}
		t.Fatalf("%s: %d tags, want %d; missing %v; extra %v", backend, len(got), len(want), missing, extra)
	}
}

// The done-when case: a public-registry-like front (bearer tokens, pages of
// 50 with Link, one 429) over 2,001 tags; both backends list them all.
func TestTagsThroughAPublicLikeRegistry(t *testing.T) {
	w := need(t)
	var listed [][]string
	for _, b := range backendsFor("tags") {
		backend := b.name
		// A front of its own, so each backend meets the first-request 429.
		f, err := front.Listen("127.0.0.1:0", front.Options{Upstream: w.v3.Host})
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		r := b.sandbox(t).ocix(t, "--backend", backend, "tags", f.Addr+"/"+manyRepo)
		if r.code != 0 {
			t.Fatalf("%s: %s", backend, r)
		}
		got := sorted(r.stdout)
		sameTags(t, backend, got, w.manyTags)
		if len(f.Tokens()) == 0 {
			t.Fatalf("%s listed without the front issuing a token", backend)
		}
		listed = append(listed, got)
	}
	for i := 1; i < len(listed); i++ {
		if !slices.Equal(listed[0], listed[i]) {
			t.Fatalf("%s and %s listed different tags", backendsFor("tags")[0].name, backendsFor("tags")[i].name)
		}
	}
}

func TestTagsFromRegistriesThatDoNotForcePages(t *testing.T) {
	w := need(t)
	for _, b := range backendsFor("tags") {
		backend := b.name
		// distribution v3 answers an unpaged request in one response.
		r := b.sandbox(t).ocix(t, "--backend", backend, "tags", w.v3.Host+"/"+manyRepo)
		if r.code != 0 {
			t.Fatalf("%s on v3: %s", backend, r)
		}
		sameTags(t, backend, sorted(r.stdout), w.manyTags)
		// Debian's registry 2.8 never pages.
		r = b.sandbox(t).ocix(t, "--backend", backend, "tags", w.v2.Host+"/library/busybox")
		if r.code != 0 || r.stdout != busyboxTag+"\n" {
			t.Fatalf("%s on 2.8: %s", backend, r)
		}
	}
}

func TestTagsOptionsAndJSON(t *testing.T) {
	w := need(t)
	for _, b := range backendsFor("tags") {
		backend, s := b.name, b.sandbox(t)
		r := s.ocix(t, "--backend", backend, "--format", "json", "tags", "--omit-digest-tags", "--sort", "semver", "--filter", `^v?1\.`, w.v3.Host+"/"+manyRepo)
		var got struct {
			Repository string   `json:"repository"`
			Tags       []string `json:"tags"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &got); r.code != 0 || err != nil {
			t.Fatalf("%s: %v\n%s", backend, err, r)
		}
		if got.Repository != w.v3.Host+"/"+manyRepo || len(got.Tags) < 10 {
			t.Fatalf("%s: %+v", backend, got)
		}
		for _, tag := range got.Tags {
			if strings.HasPrefix(tag, "sha256-") || !strings.HasPrefix(strings.TrimPrefix(tag, "v"), "1.") {
				t.Fatalf("%s: tag %q passed the filters", backend, tag)
			}
		}
	}
}

func TestTagsErrorsAreOneLine(t *testing.T) {
	w := need(t)
	for _, b := range backendsFor("tags") {
		backend, s := b.name, b.sandbox(t)
		for _, tc := range []struct {
			repo, want string
		}{
			{w.v3.Host + "/no/such/repo", w.v3.Host + "/no/such/repo: repository not found (NAME_UNKNOWN"},
			{"127.0.0.1:1/app", "cannot reach registry 127.0.0.1:1: connection refused"},
		} {
			r := s.ocix(t, "--backend", backend, "tags", tc.repo)
			if r.code != 1 || len(lines(r.stderr)) != 1 || !strings.HasPrefix(r.stderr, "ocix: ") || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("%s tags %s: want exit 1 and one line with %q\n%s", backend, tc.repo, tc.want, r)
			}
		}
	}
}

func TestBasicAuthFromDockerAndContainersConfig(t *testing.T) {
	w := need(t)
	repo := w.basic.Host + "/private/app"
	auth := base64.StdEncoding.EncodeToString([]byte(basicUser + ":" + basicPass))
	for _, b := range backendsFor("tags") {
		backend := b.name
		r := b.sandbox(t).ocix(t, "--backend", backend, "tags", repo)
		if r.code != 1 || !strings.Contains(r.stderr, "authentication required") || len(lines(r.stderr)) != 1 {
			t.Errorf("%s without credentials: %s", backend, r)
		}

		docker := b.sandbox(t)
		docker.write(t, "docker/config.json", fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, w.basic.Host, auth), 0o600)
		if r := docker.ocix(t, "--backend", backend, "tags", repo); r.code != 0 || r.stdout != busyboxTag+"\n" {
			t.Errorf("%s with ~/.docker/config.json: %s", backend, r)
		}

		containers := b.sandbox(t)
		file := containers.write(t, "containers-auth.json", fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, w.basic.Host, auth), 0o600)
		containers.set("REGISTRY_AUTH_FILE=" + file)
		if r := containers.ocix(t, "--backend", backend, "tags", repo); r.code != 0 || r.stdout != busyboxTag+"\n" {
			t.Errorf("%s with containers auth.json: %s", backend, r)
		}
	}
}

func TestCredentialHelperOnPath(t *testing.T) {
	w := need(t)
	repo := w.basic.Host + "/private/app"
	for _, b := range backendsFor("tags") {
		backend, s := b.name, b.sandbox(t)
		calls := s.dir + "/helper-calls"
		// A real docker-credential-NAME executable, as docker runs them:
		// `get` with the server URL on stdin, JSON on stdout.
		s.write(t, "helpers/docker-credential-ocixtest", fmt.Sprintf(`#!/bin/sh
read server
echo "$1 $server" >> %s
[ "$1" = get ] || exit 1
printf '{"ServerURL":"%%s","Username":%q,"Secret":%q}\n' "$server"
`, calls, basicUser, basicPass), 0o755)
		s.set("PATH=" + s.dir + "/helpers:" + strings.TrimPrefix(s.env[0], "PATH="))
		s.write(t, "docker/config.json", fmt.Sprintf(`{"credHelpers":{%q:"ocixtest"}}`, w.basic.Host), 0o600)
		r := s.ocix(t, "--backend", backend, "tags", repo)
		if r.code != 0 || r.stdout != busyboxTag+"\n" {
			t.Fatalf("%s: %s", backend, r)
		}
		if got := readFile(t, calls); !strings.Contains(got, "get "+w.basic.Host) {
			t.Fatalf("%s: the helper was not asked for %s: %q", backend, w.basic.Host, got)
		}
	}
}

// --debug logs every request, and never a token or a password.
func TestDebugOutputHoldsNoSecret(t *testing.T) {
	w := need(t)
	f, err := front.Listen("127.0.0.1:0", front.Options{
		Upstream: w.v3.Host, Users: map[string]string{basicUser: basicPass}, Private: []string{manyRepo},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := newSandbox(t)
	auth := base64.StdEncoding.EncodeToString([]byte(basicUser + ":" + basicPass))
	s.write(t, "docker/config.json", fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, f.Addr, auth), 0o600)
	r := s.ocix(t, "--debug", "--backend", "api", "tags", f.Addr+"/"+manyRepo)
	if r.code != 0 || len(lines(r.stdout)) != len(w.manyTags) {
		t.Fatalf("%s", r)
	}
	tokens := f.Tokens()
	if len(tokens) == 0 {
		t.Fatal("the front issued no token")
	}
	if !strings.Contains(r.stderr, "/tags/list") {
		t.Fatalf("--debug logged no request:\n%s", r.stderr)
	}
	for _, secret := range append(tokens, basicPass, auth) {
		if strings.Contains(r.stderr, secret) {
			t.Fatalf("--debug output holds a secret (%.12s…)", secret)
		}
	}
}

type backendRow struct {
	Name         string   `json:"name"`
	Capabilities []string `json:"capabilities"`
	Available    bool     `json:"available"`
}

func TestBackendsTable(t *testing.T) {
	s := newSandbox(t)
	for _, b := range backends {
		s.set(b.environment(t)...)
	}
	r := s.ocix(t, "--format", "json", "backends")
	var rows []backendRow
	if err := json.Unmarshal([]byte(r.stdout), &rows); r.code != 0 || err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	for _, b := range backends {
		want := b.name
		i := slices.IndexFunc(rows, func(row backendRow) bool { return row.Name == want })
		if i < 0 || !rows[i].Available || !slices.Equal(rows[i].Capabilities, b.jobs) {
			t.Errorf("backend %s (%v): %+v", want, b.jobs, rows)
		}
	}
}
