package credentials

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// isolate points every source at empty places under a temp dir, so the
// machine's own docker or podman logins never leak into a test.
func isolate(t *testing.T) (home string) {
	t.Helper()
	home = t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("DOCKER_CONFIG", "")
	t.Setenv("REGISTRY_AUTH_FILE", "")
	t.Setenv("XDG_RUNTIME_DIR", "")
	return home
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func basic(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}

func lookup(t *testing.T, registry, repository string) (Credential, bool) {
	t.Helper()
	c, found, err := Default().Lookup(context.Background(), registry, repository)
	if err != nil {
		t.Fatalf("Lookup(%s, %s): %v", registry, repository, err)
	}
	return c, found
}

func TestDockerConfigAuths(t *testing.T) {
	home := isolate(t)
	writeFile(t, filepath.Join(home, ".docker", "config.json"), `{"auths": {
		"https://index.docker.io/v1/": {"auth": "`+basic("hub", "hub:pass")+`"},
		"https://myreg.example:5000/v1/": {"username": "u", "password": "p"},
		"acr.example": {"username": "00000000-0000-0000-0000-000000000000", "identitytoken": "refresh"},
		"empty.example": {}
	}}`)

	for _, tc := range []struct {
		registry string
		want     Credential
		found    bool
	}{
		// Docker Hub is filed under its v1 URL whatever name it is asked by;
		// a password may hold a colon.
		{"docker.io", Credential{Username: "hub", Password: "hub:pass"}, true},
		{"index.docker.io", Credential{Username: "hub", Password: "hub:pass"}, true},
		{"registry-1.docker.io", Credential{Username: "hub", Password: "hub:pass"}, true},
		// A key written with a scheme and path names its host.
		{"myreg.example:5000", Credential{Username: "u", Password: "p"}, true},
		{"myreg.example", Credential{}, false},
		{"acr.example", Credential{Username: "00000000-0000-0000-0000-000000000000", IdentityToken: "refresh"}, true},
		// docker writes {} next to a credsStore: nothing there.
		{"empty.example", Credential{}, false},
		{"other.example", Credential{}, false},
	} {
		got, found := lookup(t, tc.registry, "team/app")
		if got != tc.want || found != tc.found {
			t.Errorf("%s: got %+v, %v; want %+v, %v", tc.registry, got, found, tc.want, tc.found)
		}
	}
}

func TestDockerConfigEnvOverridesHome(t *testing.T) {
	home := isolate(t)
	writeFile(t, filepath.Join(home, ".docker", "config.json"), `{"auths": {"r.example": {"auth": "`+basic("home", "x")+`"}}}`)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "config.json"), `{"auths": {"r.example": {"auth": "`+basic("env", "x")+`"}}}`)
	t.Setenv("DOCKER_CONFIG", dir)

	if got, _ := lookup(t, "r.example", "app"); got.Username != "env" {
		t.Errorf("got %q, want the $DOCKER_CONFIG file's user", got.Username)
	}
}

func TestContainersAuthFiles(t *testing.T) {
	home := isolate(t)
	runtime := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", runtime)
	writeFile(t, filepath.Join(home, ".config", "containers", "auth.json"), `{"auths": {
		"quay.example": {"auth": "`+basic("config-host", "x")+`"},
		"legacy.example": {"auth": "`+basic("legacy", "x")+`"}
	}}`)
	writeFile(t, filepath.Join(runtime, "containers", "auth.json"), `{"auths": {
		"quay.example": {"auth": "`+basic("runtime-host", "x")+`"},
		"quay.example/org": {"auth": "`+basic("runtime-org", "x")+`"},
		"quay.example/org/app": {"auth": "`+basic("runtime-app", "x")+`"}
	}}`)

	for _, tc := range []struct{ registry, repository, want string }{
		// The most specific key wins: repository, namespace, host.
		{"quay.example", "org/app", "runtime-app"},
		{"quay.example", "org/app/sub", "runtime-app"},
		{"quay.example", "org/other", "runtime-org"},
		{"quay.example", "elsewhere/app", "runtime-host"},
		// A registry the first file lacks comes from the next one.
		{"legacy.example", "app", "legacy"},
	} {
		got, found := lookup(t, tc.registry, tc.repository)
		if !found || got.Username != tc.want {
			t.Errorf("%s/%s: got %q (found %v), want %q", tc.registry, tc.repository, got.Username, found, tc.want)
		}
	}

	// $REGISTRY_AUTH_FILE comes before the runtime file, and docker's
	// config before both.
	t.Setenv("REGISTRY_AUTH_FILE", writeFile(t, filepath.Join(t.TempDir(), "auth.json"),
		`{"auths": {"quay.example": {"auth": "`+basic("env-file", "x")+`"}}}`))
	if got, _ := lookup(t, "quay.example", "org/app"); got.Username != "env-file" {
		t.Errorf("with $REGISTRY_AUTH_FILE: got %q, want env-file", got.Username)
	}
	writeFile(t, filepath.Join(home, ".docker", "config.json"), `{"auths": {"quay.example": {"auth": "`+basic("docker", "x")+`"}}}`)
	if got, _ := lookup(t, "quay.example", "org/app"); got.Username != "docker" {
		t.Errorf("with a docker config: got %q, want docker", got.Username)
	}
}

func TestNoFilesMeansNotFound(t *testing.T) {
	isolate(t)
	if _, found := lookup(t, "docker.io", "library/busybox"); found {
		t.Error("found credentials with no config file at all")
	}
}

func TestBrokenFilesAreErrors(t *testing.T) {
	for name, content := range map[string]string{
		"not JSON":       `{"auths": `,
		"not base64":     `{"auths": {"r.example": {"auth": "%%%"}}}`,
		"no colon":       `{"auths": {"r.example": {"auth": "` + base64.StdEncoding.EncodeToString([]byte("userpass")) + `"}}}`,
		"wrong type":     `{"auths": []}`,
		"helper missing": `{"credHelpers": {"r.example": "ocix-test-missing"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			home := isolate(t)
			path := writeFile(t, filepath.Join(home, ".docker", "config.json"), content)
			_, found, err := Default().Lookup(context.Background(), "r.example", "app")
			if err == nil || found {
				t.Fatalf("got found=%v, err=%v; want an error", found, err)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			if name == "helper missing" {
				if want := "credential helper docker-credential-ocix-test-missing for r.example: not found on PATH"; msg != want {
					t.Errorf("got %q, want %q", msg, want)
				}
			} else if !strings.Contains(msg, path) {
				t.Errorf("error %q does not name the file %s", msg, path)
			}
		})
	}
}

func TestNormalizeKey(t *testing.T) {
	for key, want := range map[string]string{
		"https://index.docker.io/v1/":   "docker.io",
		"index.docker.io":               "docker.io",
		"registry-1.docker.io":          "docker.io",
		"docker.io/library/busybox":     "docker.io/library/busybox",
		"http://myreg:5000":             "myreg:5000",
		"https://myreg:5000/v2/":        "myreg:5000",
		"myreg:5000/":                   "myreg:5000",
		"quay.io/org/app":               "quay.io/org/app",
		"https://quay.io/org/ignored/x": "quay.io",
	} {
		if got := normalizeKey(key); got != want {
			t.Errorf("normalizeKey(%q) = %q, want %q", key, got, want)
		}
	}
}
