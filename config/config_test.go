package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocix/ocix/core"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDefaultsWithoutAFile(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if c.File != "" || c.Backends[core.CapTags] != "api" || c.Backends[core.CapExport] != "api" || c.Backends[core.CapRun] != "runc" {
		t.Fatalf("defaults %+v", c)
	}
}

func TestDefaultFileIsRead(t *testing.T) {
	home := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", home)
	os.MkdirAll(filepath.Join(home, "ocix"), 0o755)
	os.WriteFile(filepath.Join(home, "ocix", "config.yaml"), []byte("backends:\n  tags: crane\n"), 0o644)
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if c.Backends[core.CapTags] != "crane" || !strings.HasSuffix(c.File, "ocix/config.yaml") {
		t.Fatalf("got %+v", c)
	}
}

func TestPrecedenceEnvOverFileOverDefault(t *testing.T) {
	path := writeConfig(t, `
plugin-dir: /from/file
backends:
  tags: crane
  export: crane
registries:
  insecure: [reg.lan:5000]
  mirrors:
    docker.io: [127.0.0.1:5000, mirror.lan]
`)
	t.Setenv("OCIX_BACKENDS_TAGS", "api")
	t.Setenv("OCIX_PLUGIN_DIR", "/from/env")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Backends[core.CapTags] != "api" {
		t.Errorf("backends.tags = %q, want the environment's api", c.Backends[core.CapTags])
	}
	if c.Backends[core.CapExport] != "crane" || c.Backends[core.CapRun] != "runc" {
		t.Errorf("backends %v, want export from the file and run by default", c.Backends)
	}
	if c.PluginDir != "/from/env" {
		t.Errorf("plugin-dir = %q", c.PluginDir)
	}
	if m := c.Registries.Mirrors["docker.io"]; len(m) != 2 || m[0] != "127.0.0.1:5000" {
		t.Errorf("mirrors %v", c.Registries.Mirrors)
	}
	if len(c.Registries.Insecure) != 1 || c.Registries.Insecure[0] != "reg.lan:5000" {
		t.Errorf("insecure %v", c.Registries.Insecure)
	}
}

func TestInsecureFromEnvironment(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("OCIX_REGISTRIES_INSECURE", "a.lan:5000,b.lan")
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Registries.Insecure, " ") != "a.lan:5000 b.lan" {
		t.Fatalf("insecure %v", c.Registries.Insecure)
	}
}

func TestBadFilesAreUsageErrors(t *testing.T) {
	for body, want := range map[string]string{
		"colour: blue\n":                  `unknown key "colour"`,
		"backends:\n  build: api\n":       "backends.build: unknown job",
		"backends:\n  tags: [a]\n":        "backends.tags: want a backend name",
		"registries:\n  mirror: {a: b}\n": "registries.mirror: unknown key",
		"registries:\n  insecure: 3\n":    "registries.insecure: want a list",
		"plugin-dir: [a]\n":               "plugin-dir: want a directory path",
		"backends: [\n":                   "config file",
		"registries:\n  mirrors: [a]\n":   "registries.mirrors: want a map",
	} {
		_, err := Load(writeConfig(t, body))
		if err == nil || !strings.Contains(err.Error(), want) || core.ExitCode(err) != core.ExitUsage || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: err = %v, want one line containing %q", body, err, want)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || core.ExitCode(err) != core.ExitUsage {
		t.Errorf("a missing --config file: %v", err)
	}
}

func TestSectionGathersFileEnvAndUnknownKeys(t *testing.T) {
	path := writeConfig(t, `
docker:
  host: unix:///from/file.sock
  timeout: 5s
  hots: typo
`)
	t.Setenv("OCIX_DOCKER_RETRIES", "3")
	t.Setenv("OCIX_DOCKER_TIMEOUT", "90")
	t.Setenv("OCIX_DOCKER_TLS_VERIFY", "true")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	schema := []core.ConfigField{
		{Key: "host", Type: "string"}, {Key: "retries", Type: "int"},
		{Key: "timeout", Type: "duration"}, {Key: "tls-verify", Type: "bool"}, {Key: "unset", Type: "string"},
	}
	raw, err := c.Section("docker", schema)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"host":"unix:///from/file.sock","hots":"typo","retries":3,"timeout":"1m30s","tls-verify":true}`
	if string(raw) != want {
		t.Fatalf("section %s\nwant    %s", raw, want)
	}
	if got := c.UnknownSections([]string{"api"}); len(got) != 1 || got[0] != "docker" {
		t.Fatalf("unknown sections %v", got)
	}
}

func TestEffectiveShowsGlobalsAndSections(t *testing.T) {
	c, err := Load(writeConfig(t, "api:\n  retries: 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	eff, err := c.Effective(map[string][]core.ConfigField{"api": {{Key: "retries", Type: "int"}}, "crane": nil})
	if err != nil {
		t.Fatal(err)
	}
	if eff["api"].(map[string]any)["retries"] != float64(2) {
		t.Errorf("api section %v", eff["api"])
	}
	if _, ok := eff["crane"]; !ok {
		t.Error("crane's empty section missing")
	}
	if eff["backends"].(map[string]any)["run"] != "runc" {
		t.Errorf("backends %v", eff["backends"])
	}
}
