// Package images makes the e2e tests' images and puts them in registries:
// a busybox image built from the host's static busybox, and any number of
// extra tags on a repository, added fast.
package images

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/ocix/ocix/e2e/harness"
)

// BusyboxPath is where Debian's busybox-static puts its binary.
const BusyboxPath = "/bin/busybox"

// Applets are the commands the image links to busybox, in /bin.
var Applets = []string{
	"sh", "ls", "echo", "cat", "id", "pwd", "env", "sleep", "tty", "stty",
	"hostname", "ps", "true", "false", "touch", "mkdir", "rm", "cp", "mv",
	"ln", "chmod", "chown", "grep", "head", "tail", "wc", "printf", "test",
	"[", "whoami", "uname", "date", "stat", "sort", "uniq", "tr", "sed",
	"awk", "find", "xargs", "kill", "readlink", "seq", "tee", "sha256sum",
	"nproc",
}

// The image's users: root and one ordinary user, User, with UID and GID
// 1000 and home /home/user.
const (
	User = "user"
	UID  = 1000
)

// epoch dates every file and the image itself, so the image's digest is
// the same on every run with the same busybox.
var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// Busybox builds a one-layer image from the host's static busybox: /bin
// with busybox and its Applets, /etc/passwd and /etc/group, /root,
// /home/user and a world-writable /tmp. Its config sets PATH and runs sh.
func Busybox() (v1.Image, error) {
	bin, err := readStatic(BusyboxPath)
	if err != nil {
		return nil, err
	}
	layerTar, err := busyboxTar(bin)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	})
	if err != nil {
		return nil, err
	}
	img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{
		Architecture: runtime.GOARCH, // the host's busybox runs on the host
		OS:           "linux",
		Config: v1.Config{
			Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
			Cmd: []string{"sh"},
		},
	})
	if err != nil {
		return nil, err
	}
	if img, err = mutate.AppendLayers(img, layer); err != nil {
		return nil, err
	}
	return mutate.CreatedAt(img, v1.Time{Time: epoch})
}

// readStatic reads the busybox binary, refusing a dynamically linked one
// (Debian's plain busybox package): the image has no libc for it.
func readStatic(path string) ([]byte, error) {
	missing := &harness.MissingError{What: path + " not found", Fix: "install busybox-static"}
	f, err := elf.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, missing
		}
		return nil, err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			missing.What = path + " is dynamically linked"
			return nil, missing
		}
	}
	return os.ReadFile(path)
}

func busyboxTar(busybox []byte) ([]byte, error) {
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/bin/sh\n%[1]s:x:%[2]d:%[2]d:%[1]s:/home/%[1]s:/bin/sh\n", User, UID)
	group := fmt.Sprintf("root:x:0:\n%s:x:%d:\n", User, UID)
	entries := []tar.Header{
		{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(busybox))},
	}
	for _, a := range Applets {
		entries = append(entries, tar.Header{Name: "bin/" + a, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777})
	}
	entries = append(entries,
		tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755},
		tar.Header{Name: "etc/passwd", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(passwd))},
		tar.Header{Name: "etc/group", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(group))},
		tar.Header{Name: "home/", Typeflag: tar.TypeDir, Mode: 0o755},
		tar.Header{Name: "home/" + User + "/", Typeflag: tar.TypeDir, Mode: 0o755, Uid: UID, Gid: UID},
		tar.Header{Name: "root/", Typeflag: tar.TypeDir, Mode: 0o700},
		tar.Header{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777},
	)
	contents := map[string][]byte{"bin/busybox": busybox, "etc/passwd": []byte(passwd), "etc/group": []byte(group)}

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, hdr := range entries {
		hdr.ModTime = epoch
		if err := tw.WriteHeader(&hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(contents[hdr.Name]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// RunnableConfig is the config of the image the run suite uses: every field
// a run backend must honour, set to values a test can see.
var RunnableConfig = v1.Config{
	Env:        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "GREETING=hello from the image"},
	WorkingDir: "/home/user/work",
	User:       User,
	Cmd:        []string{"sh", "-c", "echo default command ran as $(id -u) in $(pwd)"},
}

// Runnable is Busybox with RunnableConfig: a WorkingDir the image does not
// have (backends create it), a non-root user by name, and a default Cmd.
func Runnable() (v1.Image, error) {
	img, err := Busybox()
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Config = RunnableConfig
	return mutate.ConfigFile(img, cf)
}
