package cli

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/ocix/ocix/config"
	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/core/coretest"
)

// Each NewCmdX is driven through its runF here: these tests check what
// the command line becomes (flags and arguments into options), and the
// tests in cli_test.go check what a command does with them.

// errStop ends a command at its runF, after the options were captured.
var errStop = errors.New("stopped at runF")

// seamFactory is a factory whose core has no backends: flag parsing must
// not need one. Rootfs is set so that run and bundle keep it.
func seamFactory(t *testing.T) *Factory {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	cfg, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	return &Factory{
		Streams: Streams{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}},
		Config:  cfg,
		Core:    &core.Core{Loader: &coretest.Loader{}, Rootfs: &coretest.Rootfs{}},
	}
}

// execute runs cmd with args and wants it to reach its runF.
func execute(t *testing.T, cmd *cobra.Command, args ...string) {
	t.Helper()
	cmd.SetArgs(args)
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	if err := cmd.Execute(); !errors.Is(err, errStop) {
		t.Fatalf("%s %q: err = %v, want the command to reach runF", cmd.Name(), args, err)
	}
}

// refuse runs cmd with args and wants a usage error before runF.
func refuse(t *testing.T, cmd *cobra.Command, args ...string) {
	t.Helper()
	cmd.SetArgs(args)
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &core.UsageError{Err: err} })
	err := cmd.Execute()
	if err == nil || errors.Is(err, errStop) || core.ExitCode(usageOf(err)) != core.ExitUsage {
		t.Fatalf("%s %q: err = %v, want a usage error before runF", cmd.Name(), args, err)
	}
}

func TestTagsFlagsBecomeOptions(t *testing.T) {
	var got *TagsOptions
	cmd := NewCmdTags(seamFactory(t), func(_ context.Context, _ *Factory, o *TagsOptions) error {
		got = o
		return errStop
	})
	execute(t, cmd, "--omit-digest-tags", "--sort", "semver", "--filter", "^v1", "ghcr.io/org/app")
	want := TagsOptions{Repository: "ghcr.io/org/app", OmitDigestTags: true, Sort: "semver", Filter: "^v1"}
	if *got != want {
		t.Fatalf("options %+v, want %+v", *got, want)
	}
	refuse(t, NewCmdTags(seamFactory(t), nil))
	refuse(t, NewCmdTags(seamFactory(t), nil), "a", "b")
}

func TestExportFlagsBecomeOptions(t *testing.T) {
	var got *ExportOptions
	capture := func(_ context.Context, _ *Factory, o *ExportOptions) error {
		got = o
		return errStop
	}
	execute(t, NewCmdExport(seamFactory(t), capture), "--include", "/etc", "--include", "/bin/sh", "--force", "-q", "busybox", "rootfs")
	if got.Image != "busybox" || got.Dest != "rootfs" || got.Output != "" || !got.Force || !got.Quiet ||
		!slices.Equal(got.Include, []string{"/etc", "/bin/sh"}) {
		t.Fatalf("options %+v", *got)
	}
	execute(t, NewCmdExport(seamFactory(t), capture), "-o", "out.tar", "debian:12")
	if got.Image != "debian:12" || got.Dest != "" || got.Output != "out.tar" {
		t.Fatalf("-o: options %+v", *got)
	}
	// -o takes the place of DEST: both, or neither, is refused.
	refuse(t, NewCmdExport(seamFactory(t), capture), "-o", "out.tar", "debian:12", "rootfs")
	refuse(t, NewCmdExport(seamFactory(t), capture), "debian:12")
}

func TestRunFlagsBecomeOptions(t *testing.T) {
	var got *RunOptions
	cmd := NewCmdRun(seamFactory(t), func(_ context.Context, _ *Factory, o *RunOptions) error {
		got = o
		return errStop
	})
	execute(t, cmd, "-i", "-t", "-e", "A=1", "-e", "B", "-w", "/tmp", "-u", "1000:1000", "--entrypoint", "",
		"--hostname", "h", "--read-only", "-v", "/a:/b:ro", "--network", "none", "--keep", "--stop-timeout", "3s",
		"--rootfs-from", "crane", "--pull", "missing", "busybox", "--", "sh", "-c", "echo -e")
	want := RunOptions{
		Image: "busybox", Args: []string{"sh", "-c", "echo -e"}, Interactive: true, TTY: true,
		Env: []string{"A=1", "B"}, Workdir: "/tmp", User: "1000:1000", Entrypoint: "", Hostname: "h",
		ReadOnly: true, Volumes: []string{"/a:/b:ro"}, Network: "none", Keep: true, StopTimeout: 3 * time.Second,
		RootfsFrom: "crane", Pull: "missing", entrypointSet: true,
	}
	if !equalRunOptions(*got, want) {
		t.Fatalf("options\n%+v, want\n%+v", *got, want)
	}
	// Flags after IMAGE are the command's, as with docker run.
	cmd = NewCmdRun(seamFactory(t), func(_ context.Context, _ *Factory, o *RunOptions) error {
		got = o
		return errStop
	})
	execute(t, cmd, "busybox", "ls", "-l")
	if got.Image != "busybox" || !slices.Equal(got.Args, []string{"ls", "-l"}) || got.entrypointSet ||
		got.StopTimeout != core.DefaultStopTimeout || got.Pull != "always" {
		t.Fatalf("defaults: options %+v", *got)
	}
	refuse(t, NewCmdRun(seamFactory(t), nil))
	refuse(t, NewCmdRun(seamFactory(t), nil), "--pull", "sometimes", "busybox")
}

func equalRunOptions(a, b RunOptions) bool {
	return slices.Equal(a.Args, b.Args) && slices.Equal(a.Env, b.Env) && slices.Equal(a.Volumes, b.Volumes) &&
		a.Image == b.Image && a.Interactive == b.Interactive && a.TTY == b.TTY && a.Workdir == b.Workdir &&
		a.User == b.User && a.Entrypoint == b.Entrypoint && a.Hostname == b.Hostname && a.ReadOnly == b.ReadOnly &&
		a.Network == b.Network && a.Keep == b.Keep && a.StopTimeout == b.StopTimeout &&
		a.RootfsFrom == b.RootfsFrom && a.Pull == b.Pull && a.entrypointSet == b.entrypointSet
}

func TestBundleFlagsBecomeOptions(t *testing.T) {
	var got *BundleOptions
	cmd := NewCmdBundle(seamFactory(t), func(_ context.Context, _ *Factory, o *BundleOptions) error {
		got = o
		return errStop
	})
	execute(t, cmd, "--hostname", "demo", "-u", "1000", "busybox", "demo", "--", "echo", "hi")
	if got.Image != "busybox" || got.Dir != "demo" || got.Hostname != "demo" || got.User != "1000" ||
		!slices.Equal(got.Args, []string{"echo", "hi"}) {
		t.Fatalf("options %+v", *got)
	}
	refuse(t, NewCmdBundle(seamFactory(t), nil), "busybox")
	refuse(t, NewCmdBundle(seamFactory(t), nil), "busybox", "--", "echo")
}

func TestCommandsWithoutOptionsReachRunF(t *testing.T) {
	stop := func(context.Context, *Factory) error { return errStop }
	for _, mk := range []func(f *Factory) *cobra.Command{
		func(f *Factory) *cobra.Command { return NewCmdCacheLs(f, stop) },
		func(f *Factory) *cobra.Command { return NewCmdCachePrune(f, stop) },
		func(f *Factory) *cobra.Command { return NewCmdConfig(f, stop) },
	} {
		execute(t, mk(seamFactory(t)))
		refuse(t, mk(seamFactory(t)), "extra")
	}
	var names []string
	backends := NewCmdBackends(seamFactory(t), func(_ context.Context, _ *Factory, n []string) error {
		names = n
		return errStop
	})
	execute(t, backends, "api", "docker")
	if !slices.Equal(names, []string{"api", "docker"}) {
		t.Fatalf("backends got %q", names)
	}
}
