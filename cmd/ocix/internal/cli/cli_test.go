package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/ocix/ocix/config"
	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/core/coretest"
)

// fakeOcix runs ocix commands against in-process fake backends.
type fakeOcix struct {
	loader  *coretest.Loader
	lastReq core.TagsRequest
	outTTY  bool
	// rootfs, when set, is the core's root filesystem provider.
	rootfs core.RootfsProvider
}

func newFake(t *testing.T) *fakeOcix {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	fo := &fakeOcix{}
	tagsBackend := func(name string, tags ...string) *coretest.TagLister {
		return &coretest.TagLister{
			Backend: coretest.Backend{Info: core.Info{Name: name, Version: "1.0", Available: true}},
			ListTagsFunc: func(_ context.Context, req core.TagsRequest) ([]string, error) {
				fo.lastReq = req
				if req.Repository == "nope" {
					return nil, errors.New(req.Endpoints[0].Registry + "/nope: repository not found (NAME_UNKNOWN)")
				}
				return tags, nil
			},
		}
	}
	api := tagsBackend("api", "1.2.0", "latest", "1.10.0", "sha256-"+strings.Repeat("0", 64)+".sig")
	api.Info.Capabilities = []core.Capability{core.CapTags}
	crane := tagsBackend("crane", "c1")
	crane.Info.Capabilities = []core.Capability{core.CapTags}
	runc := &coretest.Backend{Info: core.Info{Name: "runc", Version: "1.0", Capabilities: []core.Capability{core.CapRun},
		Available: false, Reason: "runc not found in $PATH"}}
	fo.loader = &coretest.Loader{Backends: map[string]core.Backend{"api": api, "crane": crane, "runc": runc}}
	return fo
}

// run runs ocix with args and returns its exit code, stdout and stderr.
func (fo *fakeOcix) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	f := &Factory{Streams: Streams{In: strings.NewReader(""), Out: &out, Err: &errOut, OutTTY: fo.outTTY}}
	cfg, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	f.Config = cfg
	f.Core = &core.Core{Loader: fo.loader, Settings: cfg.Section, Rootfs: fo.rootfs}
	code := Run(context.Background(), f, args)
	if fo.loader.Running() != 0 {
		t.Fatalf("ocix %v left %d backends running", args, fo.loader.Running())
	}
	return code, out.String(), errOut.String()
}

func TestTagsPrintsOnePerLineInRegistryOrder(t *testing.T) {
	fo := newFake(t)
	code, out, _ := fo.run(t, "tags", "busybox")
	if code != 0 || out != "1.2.0\nlatest\n1.10.0\nsha256-"+strings.Repeat("0", 64)+".sig\n" {
		t.Fatalf("exit %d, out %q", code, out)
	}
	if fo.lastReq.Repository != "library/busybox" || fo.lastReq.Endpoints[0].Host != "registry-1.docker.io" {
		t.Fatalf("request %+v", fo.lastReq)
	}
}

func TestTagsOptions(t *testing.T) {
	fo := newFake(t)
	code, out, _ := fo.run(t, "tags", "--omit-digest-tags", "--sort", "semver", "--filter", `^1\.`, "127.0.0.1:5000/app")
	if code != 0 || out != "1.2.0\n1.10.0\n" {
		t.Fatalf("exit %d, out %q", code, out)
	}
	if ep := fo.lastReq.Endpoints[0]; ep.Host != "127.0.0.1:5000" || fo.lastReq.Repository != "app" {
		t.Fatalf("request %+v", fo.lastReq)
	}
}

func TestTagsFormats(t *testing.T) {
	fo := newFake(t)
	code, out, _ := fo.run(t, "--backend", "crane", "--format", "json", "tags", "127.0.0.1:5000/app")
	var got TagList
	if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil {
		t.Fatalf("exit %d, %v: %q", code, err, out)
	}
	if got.Repository != "127.0.0.1:5000/app" || len(got.Tags) != 1 || got.Tags[0] != "c1" {
		t.Fatalf("json %+v", got)
	}
	code, out, _ = fo.run(t, "--backend", "crane", "--format", "{{.Repository}} has {{len .Tags}}", "tags", "127.0.0.1:5000/app")
	if code != 0 || out != "127.0.0.1:5000/app has 1\n" {
		t.Fatalf("template: exit %d, out %q", code, out)
	}
}

func TestInsecureFlagReachesTheEndpoints(t *testing.T) {
	fo := newFake(t)
	if code, _, _ := fo.run(t, "--insecure", "tags", "reg.lan/app"); code != 0 || !fo.lastReq.Endpoints[0].Insecure {
		t.Fatalf("exit %d, endpoints %+v", code, fo.lastReq.Endpoints)
	}
}

func TestBadInputIsOneLineAndTheRightExitCode(t *testing.T) {
	fo := newFake(t)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"tags"}, 2, "ocix: tags: missing REPOSITORY argument"},
		{[]string{"tags", "a", "b"}, 2, `ocix: tags: unexpected argument "b"`},
		{[]string{"tags", "Busybox"}, 2, "must be lowercase"},
		{[]string{"tags", "busybox:1.0"}, 2, "without a tag or digest"},
		{[]string{"--backend", "runc", "tags", "busybox"}, 2, `ocix: backend "runc" cannot list tags; backends that can: api, crane`},
		{[]string{"--backend", "nope", "tags", "busybox"}, 2, `unknown backend "nope"`},
		{[]string{"tags", "--sort", "size", "busybox"}, 2, `invalid --sort "size"`},
		{[]string{"backends", "nope"}, 2, `unknown backend "nope"`},
		{[]string{"tags", "--bogus", "busybox"}, 2, "unknown flag: --bogus"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"--format", "{{.Nope", "tags", "busybox"}, 2, "invalid --format"},
		{[]string{"tags", "127.0.0.1:5000/nope"}, 1, "ocix: 127.0.0.1:5000/nope: repository not found (NAME_UNKNOWN)"},
	} {
		code, _, errOut := fo.run(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("ocix %v: exit %d, stderr %q; want exit %d and one line containing %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
}

func TestBackendsTable(t *testing.T) {
	fo := newFake(t)
	fo.outTTY = true
	code, out, _ := fo.run(t, "backends")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 4 || !strings.HasPrefix(lines[0], "NAME") {
		t.Fatalf("exit %d, out:\n%s", code, out)
	}
	if f := strings.Fields(lines[3]); f[0] != "runc" || f[2] != "run" || f[3] != "no" || !strings.Contains(lines[3], "runc not found in $PATH") {
		t.Fatalf("runc row %q", lines[3])
	}
	code, out, _ = fo.run(t, "--format", "json", "backends", "api")
	var rows []BackendRow
	if err := json.Unmarshal([]byte(out), &rows); code != 0 || err != nil || len(rows) != 1 {
		t.Fatalf("exit %d, %v: %s", code, err, out)
	}
	if r := rows[0]; r.Name != "api" || !r.Available || len(r.Capabilities) != 1 || r.Capabilities[0] != "tags" || r.Version != "1.0" {
		t.Fatalf("row %+v", r)
	}
	// A template sees one row at a time, as docker ps --format does.
	code, out, _ = fo.run(t, "--format", "{{.Name}}:{{.Available}}", "backends")
	if want := "api:true\ncrane:true\nrunc:false\n"; code != 0 || out != want {
		t.Fatalf("template: exit %d, out %q, want %q", code, out, want)
	}
}

func TestConfigPrintsTheEffectiveConfiguration(t *testing.T) {
	fo := newFake(t)
	t.Setenv("OCIX_BACKENDS_EXPORT", "crane")
	code, out, _ := fo.run(t, "--format", "json", "config")
	var eff map[string]any
	if err := json.Unmarshal([]byte(out), &eff); code != 0 || err != nil {
		t.Fatalf("exit %d, %v: %s", code, err, out)
	}
	if eff["backends"].(map[string]any)["export"] != "crane" {
		t.Fatalf("effective %v", eff)
	}
	if _, ok := eff["runc"]; !ok {
		t.Fatalf("runc's section missing: %v", eff)
	}
}

func TestVersion(t *testing.T) {
	fo := newFake(t)
	code, out, _ := fo.run(t, "version")
	if code != 0 || !strings.HasPrefix(out, "ocix dev (go") || !strings.Contains(out, "plugin protocol 1") {
		t.Fatalf("exit %d, %q", code, out)
	}
}

func TestRunFlagsBecomeTheRequest(t *testing.T) {
	fo := newFake(t)
	var got core.RunRequest
	runner := &coretest.Runner{
		Backend: coretest.Backend{Info: core.Info{Name: "eng", Available: true, Capabilities: []core.Capability{core.CapRun}}},
		RunFunc: func(_ context.Context, req core.RunRequest) (core.RunResult, error) {
			got = req
			return core.RunResult{ExitCode: 7}, nil
		},
	}
	fo.loader.Backends["eng"] = runner
	t.Setenv("FROM_SHELL", "shell value")
	f := &Factory{Streams: Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}}
	cfg, _ := config.Load("")
	f.Config, f.Core = cfg, &core.Core{Loader: fo.loader}
	code := Run(context.Background(), f, []string{"--backend", "eng", "run", "-i", "-e", "A=1", "-e", "FROM_SHELL", "-e", "UNSET_VAR",
		"-w", "/w", "-u", "1000:1000", "--hostname", "h", "--read-only", "-v", "/src:/dst:ro", "--network", "none",
		"--entrypoint", "", "busybox", "--", "sh", "-c", "exit 7"})
	if code != 7 {
		t.Fatalf("exit %d, want the container's 7", code)
	}
	if got.Image != "docker.io/library/busybox:latest" || got.Reference != "latest" || strings.Join(got.Args, " ") != "sh -c exit 7" {
		t.Fatalf("image/args %+v", got)
	}
	if strings.Join(got.Env, ",") != "A=1,FROM_SHELL=shell value" || got.Workdir != "/w" || got.User != "1000:1000" ||
		got.Hostname != "h" || !got.ReadOnly || got.Network != "none" || !got.Interactive || got.Stdin == nil {
		t.Fatalf("flags %+v", got)
	}
	if got.Entrypoint == nil || len(got.Entrypoint) != 0 {
		t.Fatalf("--entrypoint \"\" must clear the entrypoint: %#v", got.Entrypoint)
	}
	if len(got.Mounts) != 1 || got.Mounts[0] != (core.Mount{Source: "/src", Target: "/dst", ReadOnly: true}) {
		t.Fatalf("mounts %+v", got.Mounts)
	}
}

func TestBadVolumesAreUsageErrors(t *testing.T) {
	for _, v := range []string{"relative:/dst", "/src", "/src:dst", "/src:/dst:rx", "/a:/b:ro:x"} {
		if _, err := parseVolume(v); err == nil || core.ExitCode(err) != 2 {
			t.Errorf("-v %s: %v", v, err)
		}
	}
}

func TestTimeoutEndsTheOperationInOneLine(t *testing.T) {
	fo := newFake(t)
	fo.loader.Backends["slow"] = &coretest.TagLister{
		Backend: coretest.Backend{Info: core.Info{Name: "slow", Available: true, Capabilities: []core.Capability{core.CapTags}}},
		ListTagsFunc: func(ctx context.Context, _ core.TagsRequest) ([]string, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		},
	}
	code, _, errOut := fo.run(t, "--timeout", "50ms", "--backend", "slow", "tags", "busybox")
	if code != 1 || errOut != "ocix: timed out after 50ms (--timeout)\n" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if code, _, errOut := fo.run(t, "--timeout", "-1s", "tags", "busybox"); code != 2 || !strings.Contains(errOut, "invalid --timeout") {
		t.Fatalf("negative: exit %d, %q", code, errOut)
	}
}
