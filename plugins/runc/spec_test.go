package runc

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ocix/ocix/core"
)

var update = flag.Bool("update", false, "rewrite the golden config.json files in testdata")

// rootfs is a root filesystem with just /etc/passwd and /etc/group.
const rootfs = "testdata/rootfs"

// image is a config such as images carry: every field a run honours.
const image = `{
	"architecture": "amd64", "os": "linux",
	"config": {
		"User": "user",
		"Env": ["PATH=/usr/local/bin:/usr/bin:/bin", "GREETING=hello from the image"],
		"WorkingDir": "/home/user/work",
		"Cmd": ["sh", "-c", "echo $GREETING"]
	}
}`

// bigHost has limits that fit runc spec's; smallHost a hard limit below.
var (
	bigHost   = host{hard: map[string]uint64{"RLIMIT_NOFILE": 1 << 20}}
	smallHost = host{hard: map[string]uint64{"RLIMIT_NOFILE": 512}}
)

func request(imageConfig string) core.RunRequest {
	return core.RunRequest{
		Image: "registry.test/run/busybox:1", Invocation: "0123456789abcdef",
		ImageConfig: json.RawMessage(imageConfig), Rootfs: rootfs,
	}
}

func TestConfigGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  func(*core.RunRequest)
		host host
	}{
		// The image's config alone: its Cmd, Env, WorkingDir and user by
		// name, with the supplementary groups /etc/group gives it.
		{"image", func(*core.RunRequest) {}, bigHost},
		// Every flag: -e replaces the image's variable in place, -u 0 is
		// root with root's HOME, -t adds TERM and the size.
		{"flags", func(r *core.RunRequest) {
			r.Env = []string{"GREETING=from the flag", "EXTRA=1"}
			r.Workdir, r.User, r.Hostname = "/tmp", "0", "ocix-test-host"
			r.ReadOnly, r.TTY, r.Size = true, true, core.TerminalSize{Rows: 24, Cols: 80}
			r.Mounts = []core.Mount{{Source: "/srv/data", Target: "/data/"}, {Source: "/etc/ssl", Target: "/etc/ssl", ReadOnly: true}}
			r.Network = "host"
		}, bigHost},
		// The user's arguments replace Cmd after the image's Entrypoint.
		{"entrypoint-args", func(r *core.RunRequest) {
			r.ImageConfig = json.RawMessage(`{"config": {"Entrypoint": ["/bin/entry", "--flag"], "Cmd": ["default"]}}`)
			r.Args = []string{"a", "b"}
		}, bigHost},
		// --entrypoint replaces the image's and drops its Cmd.
		{"entrypoint-flag", func(r *core.RunRequest) {
			r.Entrypoint = []string{"echo"}
		}, bigHost},
		// Names for both: the group by name is the primary one, the
		// user's memberships the supplementary ones.
		{"user-group-names", func(r *core.RunRequest) { r.User = "user:audio" }, bigHost},
		// A uid the image does not list: gid 0 and HOME /, as docker has it.
		{"unknown-uid", func(r *core.RunRequest) { r.User = "4242" }, bigHost},
		// An image without PATH, user or working directory.
		{"bare-image", func(r *core.RunRequest) {
			r.ImageConfig = json.RawMessage(`{"config": {"Env": ["A=1"], "Cmd": ["true"]}}`)
		}, bigHost},
		// A host whose hard limit is below runc spec's: lowered to fit.
		{"small-host", func(*core.RunRequest) {}, smallHost},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := request(image)
			tc.req(&req)
			s, err := bundleSpec{req: req, root: "rootfs", rootfs: rootfs, id: containerID(req.Invocation), host: tc.host}.spec()
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(s, "", "\t")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", tc.name+".json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -update writes it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("config.json differs from %s (go test -update rewrites it):\n%s", golden, got)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		req   func(*core.RunRequest)
		usage bool
		want  string
	}{
		{"unknown user", func(r *core.RunRequest) { r.User = "nobody" }, true, `-u "nobody": no user "nobody" in the image's /etc/passwd`},
		{"unknown group", func(r *core.RunRequest) { r.User = "user:video" }, true, `no group "video" in the image's /etc/group`},
		{"empty group", func(r *core.RunRequest) { r.User = "user:" }, true, "empty group"},
		{"image's user unknown", func(r *core.RunRequest) {
			r.ImageConfig = json.RawMessage(`{"config": {"User": "daemon", "Cmd": ["true"]}}`)
		}, false, `the image's User "daemon": no user "daemon"`},
		{"no passwd", func(r *core.RunRequest) { r.Rootfs, r.User = t.TempDir(), "user" }, true, "(the image has no /etc/passwd)"},
		{"no command", func(r *core.RunRequest) { r.ImageConfig = json.RawMessage(`{"config": {}}`) }, true, "has no command to run"},
		{"relative workdir", func(r *core.RunRequest) { r.Workdir = "tmp" }, true, "must be an absolute path"},
		{"network", func(r *core.RunRequest) { r.Network = "bridge" }, true, "cannot honour --network bridge"},
		{"bad config", func(r *core.RunRequest) { r.ImageConfig = json.RawMessage(`{`) }, false, "not valid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := request(image)
			tc.req(&req)
			_, err := bundleSpec{req: req, root: "rootfs", rootfs: req.Rootfs, id: "ocix-x", host: bigHost}.spec()
			var usage *core.UsageError
			if err == nil || !strings.Contains(err.Error(), tc.want) || errors.As(err, &usage) != tc.usage {
				t.Fatalf("err %v (usage error: %v), want one containing %q (usage error: %v)", err, errors.As(err, &usage), tc.want, tc.usage)
			}
		})
	}
}

func TestResolveUser(t *testing.T) {
	files, err := readUserFiles(rootfs)
	if err != nil {
		t.Fatal(err)
	}
	for spec, want := range map[string]execUser{
		"":           {UID: 0, GID: 0, Groups: []uint32{10}, Home: "/root"},
		"user":       {UID: 1000, GID: 1000, Groups: []uint32{10, 29}, Home: "/home/user"},
		"1000":       {UID: 1000, GID: 1000, Groups: []uint32{10, 29}, Home: "/home/user"},
		"1000:0":     {UID: 1000, GID: 0, Groups: []uint32{10, 29}, Home: "/home/user"},
		"user:wheel": {UID: 1000, GID: 10, Groups: []uint32{29}, Home: "/home/user"},
		"4242:4242":  {UID: 4242, GID: 4242, Home: "/"},
		"nohome":     {UID: 1001, GID: 1001, Groups: []uint32{29}, Home: "/"},
	} {
		got, err := resolveUser(spec, "-u", files)
		if err != nil {
			t.Errorf("%q: %v", spec, err)
			continue
		}
		if got.UID != want.UID || got.GID != want.GID || got.Home != want.Home || !slices.Equal(got.Groups, want.Groups) {
			t.Errorf("%q: got %+v, want %+v", spec, got, want)
		}
	}
}

// The image's files are read as the container sees them: an absolute
// symlink resolves inside the root filesystem, never on the host.
func TestUserFilesAreReadInsideTheRoot(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.MkdirAll(filepath.Join(root, "data"), 0o755)
	os.WriteFile(filepath.Join(root, "data", "passwd"), []byte("inside:x:7:7::/:/bin/sh\n"), 0o644)
	os.Symlink("/data/passwd", filepath.Join(root, "etc", "passwd"))
	// On the host this is /etc/hostname; inside the root, nothing.
	os.Symlink("../../../../../../../etc/hostname", filepath.Join(root, "etc", "group"))
	files, err := readUserFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	if u, err := resolveUser("inside", "-u", files); err != nil || u.UID != 7 {
		t.Fatalf("%+v %v", u, err)
	}
	if files.group != nil {
		t.Fatalf("read the host's /etc/group through a symlink: %q", files.group)
	}
}

func TestWorkingDirectoryIsMadeInsideTheRoot(t *testing.T) {
	root := t.TempDir()
	os.Symlink("/", filepath.Join(root, "home"))
	if err := mkdirInRoot(root, "/home/user/work"); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(root, "user", "work")); err != nil || !st.IsDir() || st.Mode().Perm() != 0o755 {
		t.Fatalf("want /home/user/work made through the symlink inside the root: %v %v", st, err)
	}
}
