package compare

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/core/coretest"
	"github.com/ocix/ocix/core/tree"
)

func lister(name string, tags ...string) *coretest.TagLister {
	return &coretest.TagLister{
		Backend: coretest.Backend{Info: core.Info{Name: name, Available: true, Capabilities: []core.Capability{core.CapTags}}},
		ListTagsFunc: func(context.Context, core.TagsRequest) ([]string, error) {
			if name == "broken" {
				return nil, errors.New("registry said no")
			}
			return tags, nil
		},
	}
}

// validate checks a report's JSON against schema.json.
func validate(t *testing.T, r *Report) {
	t.Helper()
	c := jsonschema.NewCompiler()
	sch, err := c.Compile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(r)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Fatalf("report does not validate: %v\n%s", err, b)
	}
}

func TestTagsNamesTheTagsOnlySomeList(t *testing.T) {
	c := &core.Core{Loader: &coretest.Loader{Backends: map[string]core.Backend{
		"a": lister("a", "1", "2", "3"), "b": lister("b", "1", "3"), "c": lister("c", "3", "2", "1"), "broken": lister("broken"),
	}}}
	r := Tags(context.Background(), c, core.TagsRequest{}, "x/y", Options{Backends: []string{"a", "b"}})
	validate(t, r)
	if r.Verdict != Differ || r.ExitCode() != 1 || len(r.Tags) != 1 || r.Tags[0].Tag != "2" || !slices.Equal(r.Tags[0].In, []string{"a"}) {
		t.Fatalf("report %+v", r)
	}
	if r.Backends[0].Count != 3 || r.Backends[1].Count != 2 {
		t.Fatalf("counts %+v", r.Backends)
	}
	same := Tags(context.Background(), c, core.TagsRequest{}, "x/y", Options{Backends: []string{"a", "c"}, Parallel: true})
	if same.Verdict != Agree || same.ExitCode() != 0 {
		t.Fatalf("identical lists: %+v", same)
	}
	failed := Tags(context.Background(), c, core.TagsRequest{}, "x/y", Options{Backends: []string{"a", "broken", "b"}})
	validate(t, failed)
	if failed.Verdict != Failed || failed.ExitCode() != 2 || failed.Backends[1].Error != "registry said no" || len(failed.Tags) != 1 {
		t.Fatalf("a failing backend: %+v", failed)
	}
}

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, body := range files {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestDirsGroupsDifferencesAndLabelsEngineFiles(t *testing.T) {
	a := writeTree(t, map[string]string{"etc/passwd": "root", "bin/sh": "x", "only-a": "1"})
	b := writeTree(t, map[string]string{"etc/passwd": "ROOT", "bin/sh": "x", ".dockerenv": "", "etc/hosts": "127.0.0.1"})
	r, err := Dirs(a, b, TreeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	validate(t, r)
	var got []string
	for _, d := range r.Paths {
		got = append(got, fmt.Sprintf("%s %s %v", d.Path, d.Field, d.Engine))
	}
	want := []string{"/.dockerenv presence true", "/etc/hosts presence true", "/etc/passwd content false", "/only-a presence false"}
	if !slices.Equal(got, want) || r.Verdict != Differ {
		t.Fatalf("differences %q, want %q", got, want)
	}
	if r.Paths[0].Values[a] != tree.Absent || r.Paths[0].Values[b] != "file" {
		t.Fatalf("values %v", r.Paths[0].Values)
	}
	r, _ = Dirs(a, b, TreeOptions{IgnoreEngineFiles: true, Ignore: []string{"/only-*"}, OnlyPaths: []string{"/", "/etc"}})
	if len(r.Paths) != 1 || r.Paths[0].Path != "/etc/passwd" {
		t.Fatalf("narrowed: %+v", r.Paths)
	}
	r, _ = Dirs(a, b, TreeOptions{OnlyPaths: []string{"/bin"}})
	if r.Verdict != Agree || len(r.Paths) != 0 {
		t.Fatalf("only /bin: %+v", r)
	}
	if _, err := Dirs(a, filepath.Join(a, "nope"), TreeOptions{}); err == nil || core.ExitCode(err) != 2 {
		t.Fatalf("missing dir: %v", err)
	}
}

func TestRunComparesOutputs(t *testing.T) {
	echo := func(out string, code int) *coretest.Runner {
		return &coretest.Runner{
			Backend: coretest.Backend{Info: core.Info{Available: true, Capabilities: []core.Capability{core.CapRun}}},
			RunFunc: func(_ context.Context, req core.RunRequest) (core.RunResult, error) {
				fmt.Fprint(req.Stdout, out)
				return core.RunResult{ExitCode: code}, nil
			},
		}
	}
	c := &core.Core{Loader: &coretest.Loader{Backends: map[string]core.Backend{
		"a": echo("hello\n", 0), "b": echo("hello\n", 0), "c": echo("HELLO\n", 3),
	}}}
	r, err := Run(context.Background(), c, core.RunRequest{}, "img", RunOptions{Options: Options{Backends: []string{"a", "b"}}, WorkDir: t.TempDir()})
	if err != nil || r.Verdict != Agree || r.Backends[0].Stdout != "hello\n" {
		t.Fatalf("%+v %v", r, err)
	}
	r, _ = Run(context.Background(), c, core.RunRequest{}, "img", RunOptions{Options: Options{Backends: []string{"a", "c"}}, WorkDir: t.TempDir()})
	validate(t, r)
	var fields []string
	for _, o := range r.Outputs {
		fields = append(fields, o.Field)
	}
	if r.Verdict != Differ || strings.Join(fields, ",") != "stdout,exit" || r.Outputs[1].Values["c"] != "3" {
		t.Fatalf("%+v", r)
	}
}

// docker makes /etc to hold hosts and resolv.conf in an image without one:
// that /etc is an engine addition, and --ignore-engine-files hides it.
func TestADirectoryHoldingOnlyEngineFilesIsAnEngineAddition(t *testing.T) {
	image := writeTree(t, map[string]string{"bin/app": "x"})
	docker := writeTree(t, map[string]string{"bin/app": "x", ".dockerenv": "", "etc/hosts": "127.0.0.1", "etc/resolv.conf": ""})
	r, err := Dirs(image, docker, TreeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range r.Paths {
		got = append(got, fmt.Sprintf("%s %s %v", d.Path, d.Field, d.Engine))
	}
	want := []string{"/.dockerenv presence true", "/etc presence true", "/etc/hosts presence true", "/etc/resolv.conf presence true"}
	if !slices.Equal(got, want) {
		t.Fatalf("differences %q, want %q", got, want)
	}
	if r, _ := Dirs(image, docker, TreeOptions{IgnoreEngineFiles: true}); r.Verdict != Agree || len(r.Paths) != 0 {
		t.Fatalf("with --ignore-engine-files: %+v", r.Paths)
	}

	// An /etc that holds anything of the image's own is the image's.
	own := writeTree(t, map[string]string{"bin/app": "x", "etc/hosts": "", "etc/app.conf": "y"})
	r, _ = Dirs(image, own, TreeOptions{IgnoreEngineFiles: true})
	got = nil
	for _, d := range r.Paths {
		got = append(got, d.Path)
	}
	if !slices.Equal(got, []string{"/etc", "/etc/app.conf"}) {
		t.Fatalf("an /etc with the image's file: differences %q", got)
	}
}
