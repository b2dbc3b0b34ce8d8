package docker

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/client"
)

// fakeContext writes a docker context as the docker CLI stores it, with TLS
// files when tls is set.
func fakeContext(t *testing.T, dir, name, host string, tls bool) {
	t.Helper()
	sum := sha256.Sum256([]byte(name))
	id := hex.EncodeToString(sum[:])
	meta := filepath.Join(dir, "contexts", "meta", id)
	if err := os.MkdirAll(meta, 0o755); err != nil {
		t.Fatal(err)
	}
	body := `{"Name":"` + name + `","Metadata":{},"Endpoints":{"docker":{"Host":"` + host + `","SkipTLSVerify":false}}}`
	if err := os.WriteFile(filepath.Join(meta, "meta.json"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if tls {
		certs := filepath.Join(dir, "contexts", "tls", id, "docker")
		if err := os.MkdirAll(certs, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"ca.pem", "cert.pem", "key.pem"} {
			if err := os.WriteFile(filepath.Join(certs, f), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestHostPrecedence(t *testing.T) {
	dir := t.TempDir()
	fakeContext(t, dir, "remote", "tcp://10.0.0.1:2376", true)
	fakeContext(t, dir, "other", "unix:///run/other.sock", false)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"currentContext":"remote"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		configured string
		env        map[string]string
		host, from string
	}{
		{"setting first", "unix:///setting.sock", map[string]string{"DOCKER_HOST": "unix:///env.sock", "DOCKER_CONFIG": dir},
			"unix:///setting.sock", "docker.host"},
		{"then DOCKER_HOST", "", map[string]string{"DOCKER_HOST": "unix:///env.sock", "DOCKER_CONFIG": dir},
			"unix:///env.sock", "DOCKER_HOST"},
		{"then DOCKER_CONTEXT", "", map[string]string{"DOCKER_CONTEXT": "other", "DOCKER_CONFIG": dir},
			"unix:///run/other.sock", `docker context "other"`},
		{"then currentContext", "", map[string]string{"DOCKER_CONFIG": dir},
			"tcp://10.0.0.1:2376", `docker context "remote"`},
		{"the default context", "", map[string]string{"DOCKER_CONTEXT": "default", "DOCKER_CONFIG": dir},
			client.DefaultDockerHost, "the default"},
		{"no config at all", "", map[string]string{"HOME": t.TempDir()},
			client.DefaultDockerHost, "the default"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ep, err := resolveHost(tc.configured, func(k string) string { return tc.env[k] })
			if err != nil || ep.Host != tc.host || ep.From != tc.from {
				t.Fatalf("got %+v, %v; want %s from %s", ep, err, tc.host, tc.from)
			}
		})
	}
}

func TestContextTLSFiles(t *testing.T) {
	dir := t.TempDir()
	fakeContext(t, dir, "remote", "tcp://10.0.0.1:2376", true)
	fakeContext(t, dir, "plain", "tcp://10.0.0.1:2375", false)
	ep, err := contextEndpoint(dir, "remote")
	if err != nil || ep.TLS == nil || filepath.Base(ep.TLS.CA) != "ca.pem" || filepath.Base(ep.TLS.Key) != "key.pem" {
		t.Fatalf("remote: %+v, %v", ep, err)
	}
	if ep, err := contextEndpoint(dir, "plain"); err != nil || ep.TLS != nil {
		t.Fatalf("plain: %+v, %v", ep, err)
	}
}

func TestUnknownContextIsOneLine(t *testing.T) {
	dir := t.TempDir()
	_, err := resolveHost("", func(k string) string { return map[string]string{"DOCKER_CONTEXT": "gone", "DOCKER_CONFIG": dir}[k] })
	if err == nil || !strings.HasPrefix(err.Error(), `docker context "gone" not found`) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v", err)
	}
}
