package nerdctl

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ocix/ocix/core"
)

func TestRunArgs(t *testing.T) {
	base := core.RunRequest{Invocation: "abc123", Platform: core.Platform{OS: "linux", Architecture: "amd64"}}
	head := []string{"run", "--name", "ocix-abc123", "--label", "ocix.invocation=abc123", "--pull", "never", "--platform", "linux/amd64"}
	for _, tc := range []struct {
		name          string
		edit          func(*core.RunRequest)
		flags, cmd    []string
		wantUsageText string
	}{
		{name: "image defaults", edit: func(*core.RunRequest) {}},
		{
			name: "every flag",
			edit: func(r *core.RunRequest) {
				r.Interactive, r.TTY = true, true
				r.Env = []string{"A=1", "B=two words"}
				r.Workdir, r.User, r.Hostname, r.ReadOnly = "/tmp", "1000:1000", "box", true
				r.Mounts = []core.Mount{{Source: "/h", Target: "/c"}, {Source: "/ro", Target: "/r", ReadOnly: true}}
				r.Network = "none"
				r.Args = []string{"sh", "-c", "echo hi"}
			},
			flags: []string{"-i", "-t", "--detach-keys", detachKeys, "-e", "A=1", "-e", "B=two words", "-w", "/tmp",
				"-u", "1000:1000", "--hostname", "box", "--read-only", "-v", "/h:/c", "-v", "/ro:/r:ro", "--network", "none"},
			cmd: []string{"sh", "-c", "echo hi"},
		},
		{
			name:  "entrypoint replaced",
			edit:  func(r *core.RunRequest) { r.Entrypoint, r.Args = []string{"echo"}, []string{"a", "b"} },
			flags: []string{"--entrypoint", "echo"},
			cmd:   []string{"a", "b"},
		},
		{
			// nerdctl's --entrypoint is a repeatable flag, one element each.
			name:  "entrypoint of several words",
			edit:  func(r *core.RunRequest) { r.Entrypoint = []string{"sh", "-c"} },
			flags: []string{"--entrypoint", "sh", "--entrypoint", "-c"},
		},
		{
			// `--entrypoint ""` would make nerdctl run the command "".
			name:  "entrypoint cleared",
			edit:  func(r *core.RunRequest) { r.Entrypoint, r.Args = []string{}, []string{"ls", "-l"} },
			flags: []string{"--entrypoint", "ls"},
			cmd:   []string{"-l"},
		},
		{
			name:          "entrypoint cleared without a command",
			edit:          func(r *core.RunRequest) { r.Entrypoint = []string{} },
			wantUsageText: `--entrypoint ""`,
		},
		{
			name: "no platform",
			edit: func(r *core.RunRequest) { r.Platform = core.Platform{} },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := base
			tc.edit(&req)
			flags, cmd, err := runArgs(req, "ocix-abc123")
			if tc.wantUsageText != "" {
				var usage *core.UsageError
				if !errors.As(err, &usage) || !strings.Contains(err.Error(), tc.wantUsageText) {
					t.Fatalf("want a usage error about %s, got %v", tc.wantUsageText, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := slices.Concat(head, tc.flags)
			if req.Platform == (core.Platform{}) {
				want = slices.Concat(head[:len(head)-2], tc.flags)
			}
			if !slices.Equal(flags, want) || !slices.Equal(cmd, tc.cmd) {
				t.Errorf("flags %q\n  cmd %q\nwant %q\n  cmd %q", flags, cmd, want, tc.cmd)
			}
		})
	}
}

func TestContainerName(t *testing.T) {
	if got := containerName("export-ABC"); got != "ocix-export-abc" {
		t.Errorf("got %s", got)
	}
}
