// Command ocix-demo shows ocix working with nothing but Go: it starts a
// registry inside this process on 127.0.0.1, pushes a small two-layer
// "busybox" image under a handful of tags, writes an ocix config whose
// docker.io mirror is that registry, and runs the card's own examples
// against it: tags, export, a comparison of two backends, and (as root,
// with runc installed) a run. The image's /bin/hello is a static Go
// program built here, so the run needs no C toolchain and no shell.
//
//	make demo                       # run the examples and exit
//	go run ./e2e/cmd/ocix-demo -serve   # keep the registry up to try more
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

var demoTags = []string{"1.35.0", "1.36.0", "1.36.1", "1.37.0", "latest", "musl", "glibc", "uclibc", "stable"}

func main() {
	ocix := flag.String("ocix", "bin/ocix", "the ocix binary to run")
	serve := flag.Bool("serve", false, "keep the registry running after the examples, until Ctrl-C")
	flag.Parse()
	if err := run(*ocix, *serve); err != nil {
		fmt.Fprintln(os.Stderr, "ocix-demo:", err)
		os.Exit(1)
	}
}

func run(ocix string, serve bool) error {
	if _, err := os.Stat(ocix); err != nil {
		return fmt.Errorf("%v (run `make build` first)", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	go srv.Serve(ln)
	defer srv.Close()
	host := ln.Addr().String()

	dir, err := os.MkdirTemp("", "ocix-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	hello, err := buildHello(dir)
	if err != nil {
		return err
	}
	img, err := demoImage(hello)
	if err != nil {
		return err
	}
	for _, tag := range demoTags {
		ref, err := name.NewTag(host + "/library/busybox:" + tag)
		if err != nil {
			return err
		}
		if err := remote.Write(ref, img); err != nil {
			return fmt.Errorf("pushing %s: %w", ref, err)
		}
	}

	cfg := filepath.Join(dir, "config.yaml")
	body := fmt.Sprintf("# ocix demo: Docker Hub names are served by the demo registry first.\nregistries:\n  mirrors:\n    docker.io: [%s]\n", host)
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		return err
	}
	fmt.Printf("demo registry on %s with docker.io/library/busybox (%d tags)\nconfig %s:\n%s\n", host, len(demoTags), cfg, body)

	rootfs := filepath.Join(dir, "rootfs")
	examples := [][]string{
		{"backends"},
		{"--backend", "api", "tags", "busybox"},
		{"--backend", "crane", "tags", "busybox", "--sort", "semver"},
		{"--format", "json", "tags", host + "/library/busybox", "--filter", `^1\.36`},
		{"--backend", "api", "export", "busybox", rootfs},
		{"compare", "export", "--backends", "api,crane", "busybox"},
	}
	if why := runcMissing(); why != "" {
		fmt.Printf("(the run example is left out: %s)\n\n", why)
	} else {
		examples = append(examples, []string{"--backend", "runc", "run", "--network", "none", "-u", "1000", "--hostname", "demo", "--read-only", "busybox"})
	}
	for _, args := range examples {
		fmt.Printf("$ ocix %s\n", strings.Join(quote(args), " "))
		cmd := exec.Command(ocix, args...)
		// The run cache lives in the demo's directory and goes with it.
		cmd.Env = append(os.Environ(), "OCIX_CONFIG="+cfg, "XDG_CACHE_HOME="+filepath.Join(dir, "cache"))
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("ocix %s: %w", strings.Join(args, " "), err)
		}
		if slices.Contains(args, "export") && args[len(args)-1] == rootfs {
			if err := list(rootfs); err != nil {
				return err
			}
		}
		fmt.Println()
	}

	// Asking a backend for a job it cannot do is a one-line error, exit 2.
	fmt.Println("$ ocix --backend runc tags busybox")
	cmd := exec.Command(ocix, "--backend", "runc", "tags", "busybox")
	cmd.Env = append(os.Environ(), "OCIX_CONFIG="+cfg)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stdout
	err = cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return fmt.Errorf("ocix --backend runc tags: want an error, got %v", err)
	}
	fmt.Printf("$ echo $?\n%d\n\n", exit.ExitCode())

	if serve {
		fmt.Printf("the demo registry stays up; in another shell:\n  export OCIX_CONFIG=%s\n  %s tags busybox\nCtrl-C stops it.\n", cfg, ocix)
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
	}
	return nil
}

// list prints an exported tree, as `find` would.
func list(root string) error {
	fmt.Printf("$ find %s\n", root)
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Printf("%s  %s\n", info.Mode(), path)
		return nil
	})
}

// runcMissing says why the runc backend cannot run here, or "".
func runcMissing() string {
	if os.Geteuid() != 0 {
		return "the runc backend needs root"
	}
	if _, err := exec.LookPath("runc"); err != nil {
		return "runc is not installed"
	}
	return ""
}

// helloSource is the image's /bin/hello: it shows who and where it runs.
const helloSource = `package main

import (
	"fmt"
	"os"
)

func main() {
	host, _ := os.Hostname()
	fmt.Printf("hello from the demo image: uid %d on host %s\n", os.Getuid(), host)
}
`

// buildHello compiles helloSource into a static binary in dir.
func buildHello(dir string) ([]byte, error) {
	src := filepath.Join(dir, "hello.go")
	if err := os.WriteFile(src, []byte(helloSource), 0o644); err != nil {
		return nil, err
	}
	bin := filepath.Join(dir, "hello")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, src)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the image's /bin/hello: %v: %s", err, out)
	}
	defer os.Remove(bin)
	return os.ReadFile(bin)
}

// demoImage is a small image of two layers: a base, then a layer that
// rewrites a file, deletes one (a whiteout) and adds a directory.
func demoImage(hello []byte) (v1.Image, error) {
	base := []tarEntry{
		{name: "etc/", dir: true},
		{name: "etc/os-release", body: "NAME=\"ocix demo\"\nVERSION_ID=1\n"},
		{name: "etc/motd", body: "welcome to the ocix demo image\n"},
		{name: "bin/", dir: true},
		{name: "bin/hello", body: string(hello), mode: 0o755},
	}
	update := []tarEntry{
		{name: "etc/os-release", body: "NAME=\"ocix demo\"\nVERSION_ID=2\n"},
		{name: "etc/.wh.motd"},
		{name: "srv/", dir: true},
		{name: "srv/data.txt", body: "added by the second layer\n"},
	}
	var layers []v1.Layer
	for _, entries := range [][]tarEntry{base, update} {
		b, err := layerTar(entries)
		if err != nil {
			return nil, err
		}
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
		if err != nil {
			return nil, err
		}
		layers = append(layers, l)
	}
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		return nil, err
	}
	return mutate.ConfigFile(img, &v1.ConfigFile{
		OS: "linux", Architecture: runtime.GOARCH,
		Config: v1.Config{Cmd: []string{"/bin/hello"}, Env: []string{"PATH=/bin"}},
		RootFS: v1.RootFS{Type: "layers"},
	})
}

type tarEntry struct {
	name, body string
	dir        bool
	mode       int64
}

func layerTar(entries []tarEntry) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: tar.TypeReg, ModTime: time.Unix(1700000000, 0)}
		if e.dir {
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		}
		if e.mode != 0 {
			h.Mode = e.mode
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			return nil, err
		}
	}
	err := tw.Close()
	return buf.Bytes(), err
}

func quote(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, `^\ {}$`) {
			a = "'" + a + "'"
		}
		out[i] = a
	}
	return out
}
