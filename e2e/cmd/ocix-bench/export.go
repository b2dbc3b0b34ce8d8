package main

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/ocix/ocix/e2e/harness"
)

// exportRuns keeps the export section short: each run moves ~0.5 GB.
const exportRuns = 5

// export times exporting the benchmark image into an empty directory on a
// tmpfs (the disk is ext4 mounted with discard: writing a tree right after
// deleting one is up to 10× slower there) by ocix's backends and by the
// tools users pick today, with the gunzip | tar floors layer by layer.
func (b *bench) export() error {
	cache := filepath.Join(userCache(), "ocix-bench")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return err
	}
	fmt.Println("export: preparing the image (built once, then cached in " + cache + ")…")
	img, layoutDir, err := benchImage(cache)
	if err != nil {
		return err
	}
	reg, err := b.h.StartRegistry(b.ctx, harness.RegistryOptions{Version: harness.RegistryV3})
	if err != nil {
		return err
	}
	ref := reg.Host + "/bench/debian:latest"
	tag, err := name.NewTag(ref)
	if err != nil {
		return err
	}
	if err := remote.Write(tag, img); err != nil {
		return fmt.Errorf("pushing the image: %w", err)
	}
	layers, err := layerFiles(layoutDir, img)
	if err != nil {
		return err
	}

	tmpfs, err := mountTmpfs()
	if err != nil {
		return err
	}
	defer unmount(tmpfs)
	out := filepath.Join(tmpfs, "out")
	fresh := func() error {
		if err := os.RemoveAll(out); err != nil {
			return err
		}
		return os.Mkdir(out, 0o755)
	}
	// ocix exports into a DEST that does not exist yet: its own way.
	absent := func() error { return os.RemoveAll(out) }

	docker, err := b.h.StartDocker(b.ctx)
	if err != nil {
		return err
	}
	podman, err := b.h.StartPodman(b.ctx)
	if err != nil {
		return err
	}
	containerd, err := b.h.StartContainerd(b.ctx)
	if err != nil {
		return err
	}
	nerdctlBin, err := exec.LookPath("nerdctl")
	if err != nil {
		return fmt.Errorf("nerdctl not found: .ci/run builds it")
	}
	nerdctlEnv := []string{
		"OCIX_NERDCTL_PATH=" + nerdctlBin,
		"OCIX_NERDCTL_ADDRESS=" + containerd.Address,
		"OCIX_NERDCTL_NAMESPACE=" + containerd.Namespace,
		"OCIX_NERDCTL_DATA_ROOT=" + filepath.Join(containerd.Dir(), "nerdctl"),
		"OCIX_NERDCTL_CGROUP_MANAGER=cgroupfs",
	}
	nerdctl := func(args ...string) error {
		return b.runEnv(nil, nerdctlBin, append([]string{"--address", containerd.Address, "--namespace", containerd.Namespace,
			"--data-root", filepath.Join(containerd.Dir(), "nerdctl")}, args...)...)
	}
	sh := func(label, script string, env []string, before func() error) tool {
		return tool{label: label, argv: []string{"sh", "-ec", script}, env: env, before: before}
	}
	dockerPull := func() error { return b.runEnv(docker.Env(), "docker", "pull", "-q", ref) }
	dockerRmi := func() error { b.runEnv(docker.Env(), "docker", "rmi", "-f", ref); return fresh() }
	podmanPull := func() error { return b.runEnv(podman.Env(), "podman", "--remote", "pull", "-q", ref) }
	podmanRmi := func() error { b.runEnv(podman.Env(), "podman", "--remote", "rmi", "-f", ref); return fresh() }
	engineExport := func(cli string) string {
		return fmt.Sprintf(`id=$(%[1]s create --network none %[2]s true); %[1]s export "$id" | tar -x -C %[3]s; %[1]s rm "$id" >/dev/null`, cli, ref, out)
	}
	var gzipFloor, pigzFloor []string
	for _, l := range layers {
		gzipFloor = append(gzipFloor, fmt.Sprintf("gzip -dc %s | tar -x -C %s", l, out))
		pigzFloor = append(pigzFloor, fmt.Sprintf("pigz -dc %s | tar -x -C %s", l, out))
	}

	// The engine backends, with the image already in the engine's store
	// (warm) and removed first (cold, pull included).
	engine := func(name string, env []string, pull, rmi func() error) []tool {
		argv := []string{b.ocix, "--backend", name, "export", "-q", ref, out}
		return []tool{
			{label: "ocix --backend " + name + " export (warm)", argv: argv, env: env, before: func() error {
				if err := pull(); err != nil {
					return err
				}
				return absent()
			}},
			{label: "ocix --backend " + name + " export (cold)", argv: argv, env: env, before: func() error {
				rmi()
				return absent()
			}},
		}
	}
	tools := []tool{
		{label: "ocix --backend api export", argv: []string{b.ocix, "--backend", "api", "export", ref, out}, before: absent},
		{label: "ocix --backend crane export", argv: []string{b.ocix, "--backend", "crane", "export", ref, out}, before: absent},
		sh("crane export - | tar -x", fmt.Sprintf("crane export %s - | tar -x -C %s", ref, out), nil, fresh),
		sh("skopeo copy + umoci unpack", fmt.Sprintf("skopeo copy -q --src-tls-verify=false docker://%[1]s oci:%[2]s/oci:latest && umoci unpack --image %[2]s/oci:latest %[2]s/bundle >/dev/null", ref, out), nil, fresh),
		sh("docker create+export | tar -x (warm)", engineExport("docker"), docker.Env(), func() error {
			if err := dockerPull(); err != nil {
				return err
			}
			return fresh()
		}),
		sh("docker pull+create+export | tar -x (cold)", "docker pull -q "+ref+" >/dev/null; "+engineExport("docker"), docker.Env(), dockerRmi),
		sh("podman create+export | tar -x (warm)", engineExport("podman --remote"), podman.Env(), func() error {
			if err := podmanPull(); err != nil {
				return err
			}
			return fresh()
		}),
		sh("podman pull+create+export | tar -x (cold)", "podman --remote pull -q "+ref+" >/dev/null; "+engineExport("podman --remote"), podman.Env(), podmanRmi),
		sh("floor: gzip -dc | tar -x, layer by layer", strings.Join(gzipFloor, "; "), nil, fresh),
		sh("floor: pigz -dc | tar -x, layer by layer", strings.Join(pigzFloor, "; "), nil, fresh),
	}
	tools = append(tools, engine("docker", docker.Env(), dockerPull, dockerRmi)...)
	tools = append(tools, engine("podman", podman.Env(), podmanPull, podmanRmi)...)
	tools = append(tools, engine("nerdctl", nerdctlEnv,
		func() error { return nerdctl("pull", "-q", ref) },
		func() error { return nerdctl("rmi", "-f", ref) })...)
	results := map[string]stats{}
	var labels []string
	for _, t := range tools {
		s, err := b.measureN(t, min(b.runs, exportRuns))
		if err != nil {
			return err
		}
		results[t.label] = s
		labels = append(labels, t.label)
	}
	os.RemoveAll(out)

	size, entries, err := imageSize(layoutDir, layers)
	if err != nil {
		return err
	}
	crane, pigz := results["crane export - | tar -x"], results["floor: pigz -dc | tar -x, layer by layer"]
	fmt.Printf("image: %d gzip layers, %d MB compressed, %d MB and %d entries uncompressed; into an empty directory on tmpfs\n",
		len(layers), compressedSize(layers)/1e6, size/1e6, entries)
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "export\twall\tCPU\tpeak RSS\t× crane|tar\t× pigz floor\t\n")
	for _, l := range labels {
		s := results[l]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2f×\t%.2f×\t\n", l, secs(s.wall), secs(s.cpu), mib(s.maxRSS), ratio(s.wall, crane.wall), ratio(s.wall, pigz.wall))
	}
	tw.Flush()
	api := results["ocix --backend api export"]
	fmt.Printf("target: api ≤ 0.6× crane export | tar -x: %s (%.2f×)\n", verdict(ratio(api.wall, crane.wall) <= 0.6), ratio(api.wall, crane.wall))
	fmt.Printf("target: api ≤ 1.1× the pigz floor: %s (%.2f×)\n", verdict(ratio(api.wall, pigz.wall) <= 1.1), ratio(api.wall, pigz.wall))
	fmt.Printf("target: peak RSS ≤ 100 MiB per process (host and plugin): %s (%s, the larger)\n\n", verdict(api.maxRSS <= 100*1024), mib(api.maxRSS))
	return nil
}

// layerFiles lists the image's compressed layer blobs in the layout.
func layerFiles(layoutDir string, img v1.Image) ([]string, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	var files []string
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return nil, err
		}
		files = append(files, filepath.Join(layoutDir, "blobs", d.Algorithm, d.Hex))
	}
	return files, nil
}

// imageSize is the layers' uncompressed bytes and tar entries, counted once
// and kept beside the layout.
func imageSize(layoutDir string, layers []string) (size, entries int64, err error) {
	cached := filepath.Join(layoutDir, "size.txt")
	if b, err := os.ReadFile(cached); err == nil {
		if _, err := fmt.Sscan(string(b), &size, &entries); err == nil {
			return size, entries, nil
		}
	}
	for _, l := range layers {
		f, err := os.Open(l)
		if err != nil {
			return 0, 0, err
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			return 0, 0, err
		}
		tr := tar.NewReader(zr)
		for {
			hdr, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				f.Close()
				return 0, 0, err
			}
			size += hdr.Size
			entries++
		}
		f.Close()
	}
	return size, entries, os.WriteFile(cached, []byte(fmt.Sprint(size, " ", entries)), 0o644)
}

func compressedSize(files []string) int64 {
	var n int64
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			n += st.Size()
		}
	}
	return n
}

// mountTmpfs mounts a private tmpfs for the exports to write into.
func mountTmpfs() (string, error) {
	dir, err := os.MkdirTemp("", "ocix-bench-tmpfs-")
	if err != nil {
		return "", err
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8g", "tmpfs", dir).CombinedOutput(); err != nil {
		os.Remove(dir)
		return "", fmt.Errorf("mounting a tmpfs (the export benchmark needs root): %v: %s", err, out)
	}
	return dir, nil
}

func unmount(dir string) {
	exec.Command("umount", dir).Run()
	os.Remove(dir)
}

func userCache() string {
	if d, err := os.UserCacheDir(); err == nil {
		return d
	}
	return os.TempDir()
}

func (b *bench) runEnv(env []string, name string, args ...string) error {
	cmd := exec.CommandContext(b.ctx, name, args...)
	cmd.Env = append(b.baseEnv(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, firstLine(string(out)))
	}
	return nil
}
