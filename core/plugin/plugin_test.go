package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/core/coretest"
)

// connect serves impl and returns the host's client, over a real gRPC
// connection in this process.
func connect(t *testing.T, impl core.Backend) *Client {
	t.Helper()
	c, _ := goplugin.TestPluginGRPCConn(t, false, Set(impl))
	t.Cleanup(func() { c.Close() })
	b, err := Dispense(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCapabilitiesComeFromWhatThePluginImplements(t *testing.T) {
	ctx := context.Background()
	// The fake claims run, but has no code for it: the shim reports only tags.
	l := &coretest.TagLister{Backend: coretest.Backend{Info: core.Info{
		Name: "fake", Version: "1.2", Available: false, Reason: "daemon down",
		Capabilities: []core.Capability{core.CapRun},
	}}}
	info, err := connect(t, l).Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "fake" || info.Version != "1.2" || info.Available || info.Reason != "daemon down" {
		t.Fatalf("info %+v", info)
	}
	if fmt.Sprint(info.Capabilities) != "[tags]" {
		t.Fatalf("capabilities %v, want [tags]", info.Capabilities)
	}
	bare, err := connect(t, &coretest.Backend{}).Describe(ctx)
	if err != nil || len(bare.Capabilities) != 0 {
		t.Fatalf("a backend without jobs: %+v %v", bare, err)
	}
}

func TestMissingJobIsUnsupported(t *testing.T) {
	_, err := connect(t, &coretest.Backend{}).ListTags(context.Background(), core.TagsRequest{})
	if !errors.Is(err, core.ErrUnsupported) {
		t.Fatalf("err = %v, want ErrUnsupported", err)
	}
}

func TestConfigRoundTrip(t *testing.T) {
	ctx := context.Background()
	b := &coretest.Backend{Schema: []core.ConfigField{{Key: "host", Type: "string", Help: "daemon socket", Default: json.RawMessage(`"unix:///d.sock"`)}}}
	c := connect(t, b)
	schema, err := c.ConfigSchema(ctx)
	if err != nil || len(schema) != 1 || fmt.Sprint(schema[0]) != fmt.Sprint(b.Schema[0]) {
		t.Fatalf("schema %+v %v", schema, err)
	}
	if err := c.Configure(ctx, json.RawMessage(`{"host":"unix:///x"}`)); err != nil {
		t.Fatal(err)
	}
	if string(b.Settings()) != `{"host":"unix:///x"}` {
		t.Fatalf("plugin got %s", b.Settings())
	}
}

func TestTagsCrossInChunksAndInOrder(t *testing.T) {
	var want []string
	for i := range 2500 {
		want = append(want, fmt.Sprintf("t%04d", i))
	}
	var gotReq core.TagsRequest
	l := &coretest.TagLister{ListTagsFunc: func(_ context.Context, req core.TagsRequest) ([]string, error) {
		gotReq = req
		return want, nil
	}}
	req := core.TagsRequest{Repository: "library/busybox", Endpoints: []core.Endpoint{
		{Registry: "127.0.0.1:5000", Host: "127.0.0.1:5000"},
		{Registry: "docker.io", Host: "registry-1.docker.io", Insecure: true},
	}}
	tags, err := connect(t, l).ListTags(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(tags, ",") != strings.Join(want, ",") {
		t.Fatalf("got %d tags, want %d in order", len(tags), len(want))
	}
	if gotReq.Repository != req.Repository || len(gotReq.Endpoints) != 2 || gotReq.Endpoints[1] != req.Endpoints[1] {
		t.Fatalf("plugin got %+v", gotReq)
	}
}

func TestErrorsKeepTheirKindAcrossTheBoundary(t *testing.T) {
	for _, tc := range []struct {
		plugin error
		check  func(error) bool
	}{
		{core.Usagef("invalid repository"), func(err error) bool {
			var u *core.UsageError
			return errors.As(err, &u) && err.Error() == "invalid repository"
		}},
		{errors.New("127.0.0.1:5000/x: repository not found (NAME_UNKNOWN)"), func(err error) bool {
			return err.Error() == "127.0.0.1:5000/x: repository not found (NAME_UNKNOWN)" && core.ExitCode(err) == 1
		}},
		{fmt.Errorf("stopped: %w", context.Canceled), func(err error) bool { return errors.Is(err, context.Canceled) }},
	} {
		l := &coretest.TagLister{ListTagsFunc: func(context.Context, core.TagsRequest) ([]string, error) { return nil, tc.plugin }}
		_, err := connect(t, l).ListTags(context.Background(), core.TagsRequest{})
		if !tc.check(err) {
			t.Errorf("plugin error %q arrived as %T %q", tc.plugin, err, err)
		}
	}
}

func TestCancellationReachesThePlugin(t *testing.T) {
	started := make(chan struct{})
	l := &coretest.TagLister{ListTagsFunc: func(ctx context.Context, _ core.TagsRequest) ([]string, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	c := connect(t, l)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	if _, err := c.ListTags(ctx, core.TagsRequest{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestSettingsHelpers(t *testing.T) {
	type s struct {
		Host    string   `json:"host" help:"socket"`
		Retries int      `json:"retries"`
		Wait    Duration `json:"wait"`
		Hosts   []string `json:"hosts"`
		ignored int
	}
	var got []string
	for _, f := range SchemaOf(&s{Retries: 5, Wait: Duration(30e9)}) {
		got = append(got, f.Key+":"+f.Type+"="+string(f.Default))
	}
	if strings.Join(got, " ") != `host:string="" retries:int=5 wait:duration="30s" hosts:strings=null` {
		t.Fatalf("schema %v", got)
	}
	var v s
	if err := DecodeSettings("x", json.RawMessage(`{"host":"h","wait":"1m30s","hosts":["a"]}`), &v); err != nil || v.Host != "h" || v.Wait != Duration(90e9) {
		t.Fatalf("decode: %+v %v", v, err)
	}
	for raw, want := range map[string]string{
		`{"hots":"h"}`:    `config x.hots: unknown key (x knows: host, retries, wait, hosts)`,
		`{"retries":"3"}`: `config x.retries: want int, got string`,
		`{"wait":"soon"}`: `want a duration`,
	} {
		err := DecodeSettings("x", json.RawMessage(raw), &v)
		if err == nil || !strings.Contains(err.Error(), want) || core.ExitCode(err) != core.ExitUsage {
			t.Errorf("%s: err = %v, want %q", raw, err, want)
		}
	}
}

func TestResolveAndBundleCrossTheBoundary(t *testing.T) {
	ctx := context.Background()
	r := &coretest.Resolver{ResolveFunc: func(_ context.Context, req core.ResolveRequest) (core.ResolveResult, error) {
		if req.Repository != "library/busybox" || req.Reference != "1" || req.Platform.Architecture != "arm64" || req.Endpoints[0].Host != "h:5000" {
			return core.ResolveResult{}, fmt.Errorf("request %+v", req)
		}
		return core.ResolveResult{Digest: "sha256:abc", Platform: req.Platform}, nil
	}}
	res, err := connect(t, r).Resolve(ctx, core.ResolveRequest{
		Repository: "library/busybox", Reference: "1", Endpoints: []core.Endpoint{{Registry: "h:5000", Host: "h:5000"}},
		Platform: core.Platform{OS: "linux", Architecture: "arm64"},
	})
	if err != nil || res.Digest != "sha256:abc" || res.Platform.String() != "linux/arm64" {
		t.Fatalf("%+v %v", res, err)
	}

	b := &coretest.Bundler{BundleFunc: func(_ context.Context, req core.BundleRequest) (core.BundleResult, error) {
		if req.Dir != "/tmp/b" || req.Path != "/srv/b" || req.Run.Rootfs != "/tmp/b/rootfs" || req.Run.Hostname != "h" ||
			string(req.Run.ImageConfig) != "{}" || req.Run.Stdin != nil || req.Run.Entrypoint == nil {
			return core.BundleResult{}, fmt.Errorf("request %+v", req)
		}
		return core.BundleResult{Command: []string{"runc", "run", "--bundle", req.Path, "x"}}, nil
	}}
	got, err := connect(t, b).Bundle(ctx, core.BundleRequest{Dir: "/tmp/b", Path: "/srv/b", Run: core.RunRequest{
		Rootfs: "/tmp/b/rootfs", Hostname: "h", ImageConfig: []byte("{}"), Entrypoint: []string{},
	}})
	if err != nil || strings.Join(got.Command, " ") != "runc run --bundle /srv/b x" {
		t.Fatalf("%+v %v", got, err)
	}

	if _, err := connect(t, &coretest.Backend{}).Resolve(ctx, core.ResolveRequest{}); !errors.Is(err, core.ErrUnsupported) {
		t.Fatalf("resolve of a backend without it: %v", err)
	}
	if _, err := connect(t, &coretest.Backend{}).Bundle(ctx, core.BundleRequest{}); !errors.Is(err, core.ErrUnsupported) {
		t.Fatalf("bundle of a backend without it: %v", err)
	}
}
