package core_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/core/coretest"
)

func lister(name string, tags ...string) *coretest.TagLister {
	return &coretest.TagLister{
		Backend: coretest.Backend{Info: core.Info{Name: name, Available: true, Capabilities: []core.Capability{core.CapTags}}},
		ListTagsFunc: func(context.Context, core.TagsRequest) ([]string, error) {
			return tags, nil
		},
	}
}

func runOnly(name string) *coretest.Backend {
	return &coretest.Backend{Info: core.Info{Name: name, Available: true, Capabilities: []core.Capability{core.CapRun}}}
}

func TestListTagsDispatchesToTheNamedBackend(t *testing.T) {
	loader := &coretest.Loader{Backends: map[string]core.Backend{
		"api":   lister("api", "a", "b"),
		"crane": lister("crane", "c"),
	}}
	c := &core.Core{Loader: loader}
	tags, err := c.ListTags(context.Background(), "crane", core.TagsRequest{Repository: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(tags, ",") != "c" {
		t.Fatalf("tags = %v, want [c] from crane", tags)
	}
	if n := loader.Running(); n != 0 {
		t.Fatalf("%d backends left running after the job", n)
	}
}

func TestUnsupportedJobNamesTheBackendsThatCan(t *testing.T) {
	loader := &coretest.Loader{Backends: map[string]core.Backend{
		"api":   lister("api"),
		"crane": lister("crane"),
		"runc":  runOnly("runc"),
	}}
	c := &core.Core{Loader: loader}
	_, err := c.ListTags(context.Background(), "runc", core.TagsRequest{})
	want := `backend "runc" cannot list tags; backends that can: api, crane`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if core.ExitCode(err) != core.ExitUsage {
		t.Fatalf("exit code %d, want %d", core.ExitCode(err), core.ExitUsage)
	}
	if n := loader.Running(); n != 0 {
		t.Fatalf("%d backends left running", n)
	}
}

func TestUnsupportedJobWhenNoBackendCan(t *testing.T) {
	c := &core.Core{Loader: &coretest.Loader{Backends: map[string]core.Backend{"runc": runOnly("runc")}}}
	_, err := c.ListTags(context.Background(), "runc", core.TagsRequest{})
	if err == nil || !strings.Contains(err.Error(), "no installed backend can") || !errors.Is(err, core.ErrUnsupported) {
		t.Fatalf("err = %v", err)
	}
}

func TestUnavailableBackendSaysWhy(t *testing.T) {
	b := lister("docker")
	b.Info.Available, b.Info.Reason = false, "cannot reach dockerd at unix:///x.sock"
	c := &core.Core{Loader: &coretest.Loader{Backends: map[string]core.Backend{"docker": b}}}
	_, err := c.ListTags(context.Background(), "docker", core.TagsRequest{})
	want := `backend "docker" is not available: cannot reach dockerd at unix:///x.sock`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if core.ExitCode(err) != core.ExitFailed {
		t.Fatalf("exit code %d, want 1", core.ExitCode(err))
	}
}

func TestOpenHandsTheBackendItsSettings(t *testing.T) {
	b := lister("api")
	b.Schema = []core.ConfigField{{Key: "retries", Type: "int"}}
	var gotSchema []core.ConfigField
	c := &core.Core{
		Loader: &coretest.Loader{Backends: map[string]core.Backend{"api": b}},
		Settings: func(name string, schema []core.ConfigField) (json.RawMessage, error) {
			gotSchema = schema
			return json.RawMessage(`{"retries":2}`), nil
		},
	}
	h, err := c.Open(context.Background(), "api", core.CapTags)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if len(gotSchema) != 1 || gotSchema[0].Key != "retries" {
		t.Fatalf("settings asked with schema %v", gotSchema)
	}
	if string(b.Settings()) != `{"retries":2}` {
		t.Fatalf("backend configured with %s", b.Settings())
	}
}

func TestConfigureErrorStopsTheBackend(t *testing.T) {
	b := lister("api")
	b.ConfigureFunc = func(json.RawMessage) error { return core.Usagef("config api.x: unknown key") }
	loader := &coretest.Loader{Backends: map[string]core.Backend{"api": b}}
	c := &core.Core{Loader: loader}
	_, err := c.ListTags(context.Background(), "api", core.TagsRequest{})
	if err == nil || core.ExitCode(err) != core.ExitUsage {
		t.Fatalf("err = %v (exit %d), want a usage error", err, core.ExitCode(err))
	}
	if loader.Running() != 0 {
		t.Fatal("backend left running after a configuration error")
	}
}

func TestProbeReportsEveryBackend(t *testing.T) {
	bad := lister("bad")
	bad.ConfigureFunc = func(json.RawMessage) error { return errors.New("broken") }
	bad.Schema = []core.ConfigField{{Key: "k", Type: "string"}}
	loader := &coretest.Loader{Backends: map[string]core.Backend{"api": lister("api"), "bad": bad}}
	sts := (&core.Core{Loader: loader}).Probe(context.Background())
	if len(sts) != 2 || sts[0].Name != "api" || sts[1].Name != "bad" {
		t.Fatalf("statuses %+v", sts)
	}
	if sts[0].Err != nil || !sts[0].Info.Has(core.CapTags) {
		t.Fatalf("api: %+v", sts[0])
	}
	if sts[1].Err == nil || len(sts[1].Schema) != 1 {
		t.Fatalf("bad: want its error and its schema, got %+v", sts[1])
	}
	if loader.Running() != 0 {
		t.Fatal("backends left running")
	}
}
