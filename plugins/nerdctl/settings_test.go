package nerdctl

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/ocix/ocix/core"
)

// configure builds a backend as the plugin does: defaults from env, then
// the section core hands over.
func configure(t *testing.T, env map[string]string, section string) (*backend, error) {
	t.Helper()
	b := &backend{log: hclog.NewNullLogger(), settings: defaultSettings(func(k string) string { return env[k] })}
	return b, b.Configure(context.Background(), json.RawMessage(section))
}

func TestSettingsPrecedence(t *testing.T) {
	for _, tc := range []struct {
		name          string
		env           map[string]string
		section       string
		addr, ns      string
		wantGlobalEnd []string
	}{
		{name: "nerdctl's defaults", section: `{}`, addr: "/run/containerd/containerd.sock", ns: "default"},
		{
			name: "containerd's environment",
			env:  map[string]string{"CONTAINERD_ADDRESS": "/env/c.sock", "CONTAINERD_NAMESPACE": "envns"},
			addr: "/env/c.sock", ns: "envns",
		},
		{
			name:    "ocix's config over containerd's environment",
			env:     map[string]string{"CONTAINERD_ADDRESS": "/env/c.sock", "CONTAINERD_NAMESPACE": "envns"},
			section: `{"address": "unix:///cfg/c.sock", "namespace": "cfgns"}`,
			addr:    "/cfg/c.sock", ns: "cfgns",
		},
		{
			name:    "data root and cgroup manager only when set",
			section: `{"data-root": "/d", "cgroup-manager": "cgroupfs"}`,
			addr:    "/run/containerd/containerd.sock", ns: "default",
			wantGlobalEnd: []string{"--data-root", "/d", "--cgroup-manager", "cgroupfs"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := configure(t, tc.env, tc.section)
			if err != nil {
				t.Fatal(err)
			}
			want := append([]string{"--address", tc.addr, "--namespace", tc.ns}, tc.wantGlobalEnd...)
			if got := b.settings.globalFlags(); !slices.Equal(got, want) {
				t.Errorf("global flags %q, want %q", got, want)
			}
		})
	}
}

// The schema's defaults are the effective ones, so `ocix config` shows
// what nerdctl will be given.
func TestSchemaShowsTheEnvironment(t *testing.T) {
	b := &backend{settings: defaultSettings(func(k string) string {
		return map[string]string{"CONTAINERD_ADDRESS": "/env/c.sock"}[k]
	})}
	fields, _ := b.ConfigSchema(context.Background())
	got := map[string]string{}
	for _, f := range fields {
		got[f.Key] = string(f.Default)
	}
	if got["address"] != `"/env/c.sock"` || got["namespace"] != `"default"` || got["path"] != `"nerdctl"` {
		t.Errorf("defaults %v", got)
	}
}

func TestSettingsRefused(t *testing.T) {
	for section, want := range map[string]string{
		`{"adress": "/x"}`:                "config nerdctl.adress: unknown key (nerdctl knows: path, address, namespace, data-root, cgroup-manager)",
		`{"cgroup-manager": "cgroupsv3"}`: `config nerdctl.cgroup-manager: want cgroupfs, systemd or none, got "cgroupsv3"`,
		`{"address": "tcp://1.2.3.4:1"}`:  `config nerdctl.address: want a unix socket path, got "tcp://1.2.3.4:1"`,
		`{"path": ""}`:                    "config nerdctl.path: empty",
		`{"namespace": 3}`:                "config nerdctl.namespace: want string, got number",
	} {
		_, err := configure(t, nil, section)
		var usage *core.UsageError
		if !errors.As(err, &usage) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want a usage error with %q", section, err, want)
		}
	}
}
