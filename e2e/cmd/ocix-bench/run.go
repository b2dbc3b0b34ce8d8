package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"text/tabwriter"

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
	docker, err := b.h.StartDocker(b.ctx)
	if err != nil {
		return err
	}
	if err := b.runEnv(docker.Env(), "docker", "pull", "-q", ref); err != nil {
		return err
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
		{label: "docker run --rm (image pulled)", argv: []string{"docker", "run", "--rm", "--network", "none", ref, "true"}, env: docker.Env()},
	}
	results := map[string]stats{}
	var labels []string
	for _, t := range tools {
		s, err := b.measure(t)
		if err != nil {
			return err
		}
		results[t.label] = s
		labels = append(labels, t.label)
	}
	floor := results[tools[0].label]
	fmt.Println("run: `true` from a one-layer busybox image in a registry on loopback; --network none")
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "run\twall\tCPU\tpeak RSS\t× runc run\t\n")
	for _, l := range labels {
		s := results[l]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2f×\t\n", l, ms(s.wall), ms(s.cpu), mib(s.maxRSS), ratio(s.wall, floor.wall))
	}
	tw.Flush()
	warm := results[tools[1].label]
	fmt.Printf("target: warm ocix ≤ 1.5× bare runc run: %s (%.2f×)\n\n", verdict(ratio(warm.wall, floor.wall) <= 1.5), ratio(warm.wall, floor.wall))
	return emptyCache()
}
