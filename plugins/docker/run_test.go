package docker

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"

	"github.com/ocix/ocix/core"
)

func TestRunFlagsMapToDockersCreate(t *testing.T) {
	cfg, host := runConfig(core.RunRequest{
		Args: []string{"sh", "-c", "exit 3"}, Env: []string{"A=1", "B=2"}, Workdir: "/tmp", User: "0:0",
		Hostname: "box", ReadOnly: true, Network: "none", Interactive: true, TTY: true,
		Size: core.TerminalSize{Rows: 24, Cols: 80}, Invocation: "inv",
		Mounts: []core.Mount{{Source: "/src", Target: "/dst"}, {Source: "/ro", Target: "/mnt/ro", ReadOnly: true}},
	})
	want := &container.Config{
		Cmd: []string{"sh", "-c", "exit 3"}, Env: []string{"A=1", "B=2"}, WorkingDir: "/tmp", User: "0:0",
		Hostname: "box", Tty: true, OpenStdin: true, StdinOnce: true, AttachStdin: true,
		AttachStdout: true, AttachStderr: true, Labels: map[string]string{core.InvocationLabel: "inv"},
	}
	if got, _ := json.Marshal(cfg); string(got) != string(must(json.Marshal(want))) {
		t.Errorf("config\n got %s\nwant %s", got, must(json.Marshal(want)))
	}
	if host.NetworkMode != "none" || !host.ReadonlyRootfs || host.AutoRemove || host.ConsoleSize != [2]uint{24, 80} ||
		!slices.Equal(host.Binds, []string{"/src:/dst", "/ro:/mnt/ro:ro"}) {
		t.Errorf("host config %+v", host)
	}
}

// The image's defaults stay unless a flag replaces them: no Cmd for no
// arguments, no Entrypoint without --entrypoint, nothing for stdin without
// -i, the daemon's network.
func TestRunDefaultsAreTheImages(t *testing.T) {
	cfg, host := runConfig(core.RunRequest{Args: []string{}})
	if cfg.Cmd != nil || cfg.Entrypoint != nil || cfg.OpenStdin || cfg.AttachStdin || cfg.Tty {
		t.Errorf("config %+v", cfg)
	}
	if host.NetworkMode != "" || host.ConsoleSize != [2]uint{} || host.Binds != nil {
		t.Errorf("host config %+v", host)
	}
}

// --entrypoint "" clears the image's entrypoint: docker keeps it only when
// none is sent, so an empty one must reach it as [], not null.
func TestEntrypoint(t *testing.T) {
	for _, tc := range []struct {
		entrypoint []string
		json       string
	}{
		{nil, `"Entrypoint":null`},
		{[]string{}, `"Entrypoint":[]`},
		{[]string{"echo"}, `"Entrypoint":["echo"]`},
	} {
		cfg, _ := runConfig(core.RunRequest{Entrypoint: tc.entrypoint})
		if got := string(must(json.Marshal(cfg))); !strings.Contains(got, tc.json) {
			t.Errorf("entrypoint %#v: %s", tc.entrypoint, got)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
