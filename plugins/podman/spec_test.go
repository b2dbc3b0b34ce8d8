package podman

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/containers/podman/v5/pkg/domain/entities/types"
	"github.com/containers/podman/v5/pkg/inspect"
	"github.com/containers/podman/v5/pkg/specgen"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ocix/ocix/core"
)

// wire is a spec as the service receives it: what is not on the wire
// does not exist for it (a 4.3 service ignores fields it does not know).
func wire(t *testing.T, s *specgen.SpecGenerator) map[string]any {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRunSpecEveryFlag(t *testing.T) {
	req := core.RunRequest{
		Image: "127.0.0.1:5000/app:1", Invocation: "abc",
		Entrypoint: []string{"/bin/sh", "-c"}, Args: []string{"echo $A"},
		Env:     []string{"A=1", "B=x=y", "EMPTY="},
		Workdir: "/w", User: "1000:1000", Hostname: "box", ReadOnly: true,
		Mounts:      []core.Mount{{Source: "/h", Target: "/c"}, {Source: "/r", Target: "/ro", ReadOnly: true}},
		Network:     "none",
		Interactive: true, TTY: true,
	}
	s, err := runSpec(req, "sha256id")
	if err != nil {
		t.Fatal(err)
	}
	m := wire(t, s)
	for key, want := range map[string]any{
		"image":                "sha256id",
		"raw_image_name":       "127.0.0.1:5000/app:1",
		"labels":               map[string]any{"ocix.invocation": "abc"},
		"entrypoint":           []any{"/bin/sh", "-c"},
		"command":              []any{"echo $A"},
		"env":                  map[string]any{"A": "1", "B": "x=y", "EMPTY": ""},
		"work_dir":             "/w",
		"user":                 "1000:1000",
		"hostname":             "box",
		"read_only_filesystem": true,
		"read_write_tmpfs":     false,
		"netns":                map[string]any{"nsmode": "none"},
		"terminal":             true,
		"stdin":                true,
		"mounts": []any{
			map[string]any{"type": "bind", "source": "/h", "destination": "/c", "options": []any{"rbind"}},
			map[string]any{"type": "bind", "source": "/r", "destination": "/ro", "options": []any{"rbind", "ro"}},
		},
	} {
		got, _ := json.Marshal(m[key])
		w, _ := json.Marshal(want)
		if string(got) != string(w) {
			t.Errorf("%s: got %s, want %s", key, got, w)
		}
	}
}

func TestRunSpecDefaultsStayTheImages(t *testing.T) {
	s, err := runSpec(core.RunRequest{Image: "x", Invocation: "i"}, "id")
	if err != nil {
		t.Fatal(err)
	}
	m := wire(t, s)
	for _, key := range []string{"entrypoint", "command", "env", "work_dir", "user", "hostname", "read_only_filesystem", "mounts", "r_limits", "oci_runtime"} {
		if v, ok := m[key]; ok {
			t.Errorf("%s is set (%v): the image's or the service's own must apply", key, v)
		}
	}
	if ns, _ := m["netns"].(map[string]any); ns["nsmode"] != nil {
		t.Errorf("netns %v without --network: the service's default must apply", ns)
	}
	if m["terminal"] != false || m["stdin"] != false {
		t.Errorf("terminal %v stdin %v", m["terminal"], m["stdin"])
	}
}

// `--entrypoint ""` clears the image's: podman's [""], since an empty
// list would not reach the service.
func TestRunSpecClearedEntrypoint(t *testing.T) {
	s, _ := runSpec(core.RunRequest{Entrypoint: []string{}, Args: []string{"ls"}}, "id")
	if got := wire(t, s)["entrypoint"]; !slices.Equal(toStrings(got), []string{""}) {
		t.Fatalf("entrypoint %v", got)
	}
}

func TestRunSpecNetworks(t *testing.T) {
	for network, mode := range map[string]string{"host": "host", "bridge": "bridge", "private": "private", "container:abc": "container"} {
		s, err := runSpec(core.RunRequest{Network: network}, "id")
		if err != nil || string(s.NetNS.NSMode) != mode {
			t.Errorf("--network %s: %+v, %v", network, s.NetNS, err)
		}
	}
	_, err := runSpec(core.RunRequest{Network: "bridge:ip=nonsense"}, "id")
	var usage *core.UsageError
	if !errors.As(err, &usage) || !strings.Contains(err.Error(), "--network") {
		t.Errorf("a bad --network: %v", err)
	}
}

func TestExportSpec(t *testing.T) {
	img := pulled{Name: "r/x:1", Data: &types.ImageInspectReport{ImageData: &inspect.ImageData{ID: "id",
		Config: &ocispec.ImageConfig{Cmd: []string{"sh"}}}}}
	m := wire(t, exportSpec(img, core.ExportRequest{Invocation: "inv1"}))
	label, _ := m["labels"].(map[string]any)["ocix.invocation"].(string)
	if m["image"] != "id" || m["image_volume_mode"] != "ignore" || m["command"] != nil ||
		label != "inv1" || m["netns"].(map[string]any)["nsmode"] != "none" {
		t.Errorf("%v", m)
	}
	img.Data.Config = &ocispec.ImageConfig{}
	if m := wire(t, exportSpec(img, core.ExportRequest{})); m["command"] == nil {
		t.Error("an image with nothing to run gets no placeholder: podman refuses to create it")
	}
}

func toStrings(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}
