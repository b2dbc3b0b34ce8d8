package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/ocix/ocix/e2e/harness"
	"github.com/ocix/ocix/e2e/images"
)

// run times `ocix --backend runc run IMAGE -- true` with its image cache
// empty (cold: resolve, export, unpack) and filled (warm: one registry
// request, an overlayfs view), against `runc run` on a bundle prepared
// beforehand — the floor ocix adds its work to — and `docker run --rm`
// of the image already pulled.
func (b *bench) run() error {
	if _, err := exec.LookPath("runc"); err != nil {
		return fmt.Errorf("runc not found: install runc")
	}
	reg, err := b.h.StartRegistry(b.ctx, harness.RegistryOptions{Version: harness.RegistryV3})
	if err != nil {
		return err
	}
	repo := images.Repository{Host: reg.Host, Name: "bench/busybox"}
	if err := images.PushBusybox(b.ctx, repo, "1"); err != nil {
		return err
	}
	ref := repo.Ref("1")

	work, err := os.MkdirTemp("", "ocix-bench-run-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bundle := filepath.Join(work, "bundle")
	if err := b.runEnv(nil, b.ocix, "--backend", "runc", "bundle", "--network", "none", ref, bundle, "--", "true"); err != nil {
		return err
	}
	runcRoot := filepath.Join(work, "runc-root")
	var dockerEnv []string
	noDocker := ""
	if docker, err := b.h.StartDocker(b.ctx); err != nil {
		noDocker = "dockerd did not start: " + err.Error()
	} else if err := b.runEnv(docker.Env(), "docker", "pull", "-q", ref); err != nil {
		noDocker = err.Error()
	} else {
		dockerEnv = docker.Env()
	}
	// The cache is $HOME/.cache/ocix: emptied before each cold run.
	cache := filepath.Join(b.home, ".cache", "ocix")
	emptyCache := func() error { return os.RemoveAll(cache) }
	ocixRun := func(flags ...string) []string {
		return append(append([]string{b.ocix, "--backend", "runc", "run", "--network", "none"}, flags...), ref, "--", "true")
	}
	tools := []tool{
		{label: "runc run (bundle prepared)", argv: []string{"runc", "--root", runcRoot, "run", "--bundle", bundle, "ocix-bench"}},
		{label: "ocix --backend runc run (warm)", argv: ocixRun()},
		{label: "ocix --backend runc run --pull never (warm)", argv: ocixRun("--pull", "never")},
		{label: "ocix --backend runc run (cold: cache emptied)", argv: ocixRun(), before: emptyCache},
		{label: "docker run --rm (image pulled)", argv: []string{"docker", "run", "--rm", "--network", "none", ref, "true"}, env: dockerEnv, unavailable: noDocker, needs: []string{"docker"}},
	}
	rows, failed := b.measureRows(tools, b.runs, nil)
	floor := rows[0]
	fmt.Println("run: `true` from a one-layer busybox image in a registry on loopback; --network none")
	printTable("run\twall\tCPU\tpeak RSS\t× runc run", rows, func(r row) []string {
		return []string{ms(r.wall), ms(r.cpu), mib(r.maxRSS), times(r, floor)}
	})
	target("warm ocix ≤ 1.5× bare runc run", rows[1], floor, 1.5)
	fmt.Println()
	if len(failed) > 0 {
		return fmt.Errorf("ocix rows failed: %s", strings.Join(failed, "; "))
	}
	return emptyCache()
}
