//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ocix/ocix/e2e/images"
)

// compareReport is the part of `ocix compare --format json` the tests read.
type compareReport struct {
	Verdict string `json:"verdict"`
	Paths   []struct {
		Path   string            `json:"path"`
		Field  string            `json:"field"`
		Values map[string]string `json:"values"`
		Engine bool              `json:"engine"`
	} `json:"paths"`
	Tags []struct {
		Tag string `json:"tag"`
	} `json:"tags"`
	Backends []struct {
		Backend string `json:"backend"`
		Count   int    `json:"count"`
		Error   string `json:"error"`
	} `json:"backends"`
}

// compareJSON runs `ocix --format json compare ARGS`, checks the output
// against the report schema kept in the repository and decodes it.
func compareJSON(t *testing.T, s *sandbox, args ...string) (result, compareReport) {
	t.Helper()
	r := s.ocix(t, append([]string{"--format", "json", "compare"}, args...)...)
	schema, err := jsonschema.NewCompiler().Compile(filepath.Join("..", "core", "compare", "schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(r.stdout)))
	if err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r)
	}
	if err := schema.Validate(doc); err != nil {
		t.Fatalf("the report does not validate against the schema: %v\n%s", err, r)
	}
	var rep compareReport
	json.Unmarshal([]byte(r.stdout), &rep)
	return r, rep
}

func TestCompareExportAgreesWithoutCranesQuirk(t *testing.T) {
	_, imgs := rulesImages(t)
	r, rep := compareJSON(t, newSandbox(t), "export", "--backends", "api,crane", imgs.noQuirk)
	if r.code != 0 || rep.Verdict != "agree" || len(rep.Paths) != 0 {
		t.Fatalf("%s", r)
	}
}

func TestCompareExportShowsCranesHardLinkQuirk(t *testing.T) {
	_, imgs := rulesImages(t)
	r, rep := compareJSON(t, newSandbox(t), "export", "--backends", "api,crane", imgs.single)
	if r.code != 1 || rep.Verdict != "differ" {
		t.Fatalf("want exit 1\n%s", r)
	}
	seen := map[string]bool{}
	for _, d := range rep.Paths {
		seen[d.Path] = true
		if d.Engine {
			t.Errorf("%s labelled an engine addition", d.Path)
		}
	}
	for _, p := range images.CraneDifferences() {
		if !seen[p] {
			t.Errorf("the report does not name %s:\n%s", p, r.stdout)
		}
	}
	// The text report says the same, for people.
	text := newSandbox(t).ocix(t, "compare", "export", "--backends", "api,crane", imgs.single)
	if text.code != 1 || !strings.Contains(text.stdout, "api and crane differ") || !strings.Contains(text.stdout, images.CraneDifferences()[0]) {
		t.Fatalf("text report:\n%s", text)
	}
	t.Logf("text report:\n%s", text.stdout)
}

func TestCompareExportLabelsDockersAdditions(t *testing.T) {
	_, imgs := rulesImages(t)
	docker := backendNamed(t, "docker")
	s := docker.sandbox(t)
	r, rep := compareJSON(t, s, "export", "--backends", "api,docker", imgs.noQuirk)
	if r.code != 1 {
		t.Fatalf("want exit 1\n%s", r)
	}
	engine := map[string]bool{}
	for _, d := range rep.Paths {
		if d.Engine {
			engine[d.Path] = true
		}
	}
	for _, p := range []string{"/.dockerenv", "/etc/hosts", "/etc/resolv.conf"} {
		if !engine[p] {
			t.Errorf("%s not labelled an engine addition:\n%s", p, r.stdout)
		}
	}
	text := s.ocix(t, "compare", "export", "--backends", "api,docker", imgs.noQuirk)
	if text.code != 1 || !strings.Contains(text.stdout, "engine addition") || !strings.Contains(text.stdout, "/.dockerenv") {
		t.Fatalf("text report:\n%s", text)
	}
	t.Logf("text report:\n%s", text.stdout)
	// Docker also drops user.* xattrs: the rules image has some; narrow
	// them out to see the rest agree.
	r, rep = compareJSON(t, s, "export", "--backends", "api,docker", "--ignore-engine-files", "--ignore", "/xattrs", imgs.noQuirk)
	if r.code != 0 || rep.Verdict != "agree" {
		t.Fatalf("with --ignore-engine-files: want agreement\n%s", r)
	}
}

func TestCompareTagsAgreeOnTheBigRepository(t *testing.T) {
	w := need(t)
	r, rep := compareJSON(t, newSandbox(t), "tags", "--backends", "api,crane", w.v3.Host+"/"+manyRepo)
	if r.code != 0 || rep.Verdict != "agree" || len(rep.Backends) != 2 || rep.Backends[0].Count != len(w.manyTags) || rep.Backends[1].Count != len(w.manyTags) {
		t.Fatalf("%s", r)
	}
}

func TestCompareReportsAFailingBackend(t *testing.T) {
	w := need(t)
	r, rep := compareJSON(t, newSandbox(t), "tags", "--backends", "api,crane", w.v3.Host+"/no/such/repo")
	if r.code != 2 || rep.Verdict != "error" || rep.Backends[0].Error == "" {
		t.Fatalf("%s", r)
	}
}

// backendNamed is a registered backend, for a test that needs that one.
func backendNamed(t *testing.T, name string) *backend {
	t.Helper()
	for _, b := range backends {
		if b.name == name {
			return b
		}
	}
	t.Fatalf("backend %s is not registered in the e2e suite", name)
	return nil
}
