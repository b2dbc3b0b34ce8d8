package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/core/coretest"
)

// The plugin closes its copies of the files it was handed. In this
// process its copy is the host's very descriptor, so each test hands over a
// duplicate and keeps that os.File reachable here: its finalizer must never
// close the number again once the plugin closed it and something reused it.
var (
	handedMu sync.Mutex
	handed   []*os.File
)

// pipe returns a pipe's read end and a duplicate of its write end for the
// plugin, whose closing the reader sees as the end.
func pipe(t *testing.T) (r *os.File, pluginEnd *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Dup(int(w.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	pluginEnd = os.NewFile(uintptr(fd), "plugin-end")
	handedMu.Lock()
	handed = append(handed, pluginEnd)
	handedMu.Unlock()
	t.Cleanup(func() { r.Close() })
	return r, pluginEnd
}

func TestExportStreamsEventsThenTheResultAndHandsOverTheFile(t *testing.T) {
	var got core.ExportRequest
	e := &coretest.Exporter{ExportFunc: func(_ context.Context, req core.ExportRequest) (core.ExportResult, error) {
		got = req
		req.Events(core.Event{Progress: &core.Progress{Layer: 0, Layers: 2, Digest: "sha256:l0", Done: 5, Total: 10}})
		req.Events(core.Event{Warning: "layer 1 is foreign"})
		if _, err := io.WriteString(req.Tar, "the tar stream"); err != nil {
			return core.ExportResult{}, err
		}
		return core.ExportResult{Digest: "sha256:m", Config: json.RawMessage(`{"Cmd":["sh"]}`),
			Platform: core.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, Entries: 3, Bytes: 14, TarDigest: "sha256:t"}, nil
	}}
	r, tarEnd := pipe(t)
	var events []string
	res, err := connect(t, e).Export(context.Background(), core.ExportRequest{
		Repository: "library/busybox", Reference: "1.36", Endpoints: []core.Endpoint{{Registry: "docker.io", Host: "registry-1.docker.io"}},
		Platform: core.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, Include: []string{"/etc"},
		Tar: tarEnd, ScratchDir: "/tmp/s", Invocation: "inv1",
		Events: func(e core.Event) {
			if e.Progress != nil {
				events = append(events, fmt.Sprintf("%+v", *e.Progress))
			} else {
				events = append(events, "warning: "+e.Warning)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest != "sha256:m" || string(res.Config) != `{"Cmd":["sh"]}` || res.Platform.String() != "linux/arm/v7" ||
		res.Entries != 3 || res.Bytes != 14 || res.TarDigest != "sha256:t" {
		t.Fatalf("result %+v", res)
	}
	want := []string{"{Layer:0 Layers:2 Digest:sha256:l0 Done:5 Total:10}", "warning: layer 1 is foreign"}
	if !slices.Equal(events, want) {
		t.Fatalf("events %q, want %q in order", events, want)
	}
	if got.Repository != "library/busybox" || got.Reference != "1.36" || got.Endpoints[0].Host != "registry-1.docker.io" ||
		got.Platform.Variant != "v7" || !slices.Equal(got.Include, []string{"/etc"}) || got.Dir != "" ||
		got.ScratchDir != "/tmp/s" || got.Invocation != "inv1" || got.Tar == nil {
		t.Fatalf("the plugin got %+v", got)
	}
	// The plugin closed its copy: the reader sees the end without the host
	// closing anything.
	if b, err := io.ReadAll(r); err != nil || string(b) != "the tar stream" {
		t.Fatalf("read %q %v", b, err)
	}
}

func TestExportToADirectoryHandsNoFile(t *testing.T) {
	var got core.ExportRequest
	e := &coretest.Exporter{ExportFunc: func(_ context.Context, req core.ExportRequest) (core.ExportResult, error) {
		got = req
		return core.ExportResult{Digest: "sha256:m"}, nil
	}}
	if _, err := connect(t, e).Export(context.Background(), core.ExportRequest{Dir: "/tmp/tree"}); err != nil {
		t.Fatal(err)
	}
	if got.Dir != "/tmp/tree" || got.Tar != nil {
		t.Fatalf("the plugin got dir %q, tar %v", got.Dir, got.Tar)
	}
}

func TestRunCarriesStreamsControlsAndTheExitCode(t *testing.T) {
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdinW.Close()
	fd, err := unix.Dup(int(stdinR.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	stdinR.Close()
	stdin := os.NewFile(uintptr(fd), "plugin-stdin")
	handedMu.Lock()
	handed = append(handed, stdin)
	handedMu.Unlock()
	outR, stdout := pipe(t)
	errR, stderr := pipe(t)

	var got core.RunRequest
	var controls []string
	r := &coretest.Runner{RunFunc: func(_ context.Context, req core.RunRequest) (core.RunResult, error) {
		got = req
		req.Events(core.Event{Warning: "pulled"})
		line := make([]byte, 6)
		if _, err := io.ReadFull(req.Stdin, line); err != nil {
			return core.RunResult{}, err
		}
		fmt.Fprintf(req.Stdout, "out: %s", line)
		fmt.Fprint(req.Stderr, "err")
		for c := range req.Control {
			if c.Resize != nil {
				controls = append(controls, fmt.Sprintf("resize %dx%d", c.Resize.Rows, c.Resize.Cols))
				continue
			}
			controls = append(controls, c.Signal)
			if c.Signal == "SIGTERM" {
				return core.RunResult{ExitCode: 143}, nil
			}
		}
		return core.RunResult{}, fmt.Errorf("control closed before SIGTERM")
	}}
	control := make(chan core.RunControl, 2)
	control <- core.RunControl{Resize: &core.TerminalSize{Rows: 24, Cols: 80}}
	control <- core.RunControl{Signal: "SIGTERM"}
	io.WriteString(stdinW, "hello\n")
	var warnings []string
	res, err := connect(t, r).Run(context.Background(), core.RunRequest{
		Image: "busybox", Args: []string{"cat"}, Entrypoint: []string{}, Env: []string{"A=1"},
		Mounts: []core.Mount{{Source: "/a", Target: "/b", ReadOnly: true}}, Interactive: true, TTY: true,
		Size: core.TerminalSize{Rows: 10, Cols: 20}, Invocation: "inv2",
		Stdin: stdin, Stdout: stdout, Stderr: stderr, Control: control,
		Events: func(e core.Event) { warnings = append(warnings, e.Warning) },
	})
	close(control)
	if err != nil || res.ExitCode != 143 {
		t.Fatalf("res %+v, err %v", res, err)
	}
	if !slices.Equal(controls, []string{"resize 24x80", "SIGTERM"}) || !slices.Equal(warnings, []string{"pulled"}) {
		t.Fatalf("controls %q, events %q", controls, warnings)
	}
	if got.Image != "busybox" || got.Entrypoint == nil || len(got.Entrypoint) != 0 || got.Env[0] != "A=1" ||
		got.Mounts[0] != (core.Mount{Source: "/a", Target: "/b", ReadOnly: true}) || !got.Interactive || !got.TTY ||
		got.Size != (core.TerminalSize{Rows: 10, Cols: 20}) || got.Invocation != "inv2" {
		t.Fatalf("the plugin got %+v", got)
	}
	// The plugin's copies are closed when the run ends: the readers of the
	// user's pipes see the end.
	out, _ := io.ReadAll(outR)
	errOut, _ := io.ReadAll(errR)
	if string(out) != "out: hello\n" || string(errOut) != "err" {
		t.Fatalf("stdout %q, stderr %q", out, errOut)
	}
}

// A plugin process inherits the files the host hands it as 3, 4, …: the
// request names each by that number, and a file not handed over is refused.
func TestRequestsNameFilesByThePluginsDescriptors(t *testing.T) {
	a, b, stranger := os.Stdin, os.Stdout, os.Stderr
	c := &Client{}
	c.Inherit([]*os.File{a, b})
	p, err := c.toProtoExportRequest(core.ExportRequest{Tar: b})
	if err != nil || p.TarFd != 4 {
		t.Fatalf("tar fd %d, err %v: want 4", p.GetTarFd(), err)
	}
	if p, err := c.toProtoExportRequest(core.ExportRequest{Dir: "/d"}); err != nil || p.TarFd != -1 {
		t.Fatalf("no tar: fd %d, err %v: want -1", p.GetTarFd(), err)
	}
	r, err := c.toProtoRunRequest(core.RunRequest{Stdin: b, Stdout: a})
	if err != nil || r.StdinFd != 4 || r.StdoutFd != 3 || r.StderrFd != -1 {
		t.Fatalf("run fds %d %d %d, err %v: want 4 3 -1", r.GetStdinFd(), r.GetStdoutFd(), r.GetStderrFd(), err)
	}
	for _, err := range []error{
		func() error { _, err := c.toProtoExportRequest(core.ExportRequest{Tar: stranger}); return err }(),
		func() error { _, err := c.toProtoRunRequest(core.RunRequest{Stdout: a, Stderr: stranger}); return err }(),
	} {
		if err == nil || !strings.Contains(err.Error(), "was not handed to the plugin") {
			t.Fatalf("a file not handed over: err = %v", err)
		}
	}
}

// The host's client has a method for every job, so what core checks is
// the capability the plugin's server declares from its implementation.
func TestCoreRefusesAJobThePluginHasNoCodeFor(t *testing.T) {
	l := &coretest.TagLister{Backend: coretest.Backend{Info: core.Info{Name: "tagsonly", Available: true,
		Capabilities: []core.Capability{core.CapTags, core.CapExport}}}}
	var client core.Backend = connect(t, l)
	if _, ok := client.(core.Exporter); !ok {
		t.Fatal("the client should have every job's method")
	}
	c := &core.Core{Loader: &coretest.Loader{Backends: map[string]core.Backend{"tagsonly": client}}}
	dest, err := core.DirDestination(t.TempDir()+"/rootfs", false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Export(context.Background(), "tagsonly", core.ExportRequest{}, dest)
	if err == nil || !strings.HasPrefix(err.Error(), `backend "tagsonly" cannot export a root filesystem`) || core.ExitCode(err) != core.ExitUsage {
		t.Fatalf("err = %v, want a usage error naming the missing job", err)
	}
}
