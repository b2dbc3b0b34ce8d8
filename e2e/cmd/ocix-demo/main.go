// Command ocix-demo shows ocix working with nothing but Go: it starts a
// registry inside this process on 127.0.0.1, pushes a small "busybox" image
// under a handful of tags, writes an ocix config whose docker.io mirror is
// that registry, and runs the card's own examples against it.
//
//	make demo                       # run the examples and exit
//	go run ./e2e/cmd/ocix-demo -serve   # keep the registry up to try more
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
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

	img, err := random.Image(4096, 2)
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

	dir, err := os.MkdirTemp("", "ocix-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg := filepath.Join(dir, "config.yaml")
	body := fmt.Sprintf("# ocix demo: Docker Hub names are served by the demo registry first.\nregistries:\n  mirrors:\n    docker.io: [%s]\n", host)
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		return err
	}
	fmt.Printf("demo registry on %s with docker.io/library/busybox (%d tags)\nconfig %s:\n%s\n", host, len(demoTags), cfg, body)

	for _, args := range [][]string{
		{"backends"},
		{"--backend", "api", "tags", "busybox"},
		{"--backend", "crane", "tags", "busybox", "--sort", "semver"},
		{"--format", "json", "tags", host + "/library/busybox", "--filter", `^1\.36`},
	} {
		fmt.Printf("$ ocix %s\n", strings.Join(quote(args), " "))
		cmd := exec.Command(ocix, args...)
		cmd.Env = append(os.Environ(), "OCIX_CONFIG="+cfg)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("ocix %s: %w", strings.Join(args, " "), err)
		}
		fmt.Println()
	}

	if serve {
		fmt.Printf("the demo registry stays up; in another shell:\n  export OCIX_CONFIG=%s\n  %s tags busybox\nCtrl-C stops it.\n", cfg, ocix)
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
	}
	return nil
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
