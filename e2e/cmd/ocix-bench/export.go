package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/ocix/ocix/e2e/harness"
)

// exportRuns keeps the export section short: each run moves ~0.5 GB.
const exportRuns = 5

// engineAdditions are the paths where docker's export of a created
// container differs from the image by design (its init layer: empty
// mount-point files, /dev entries, /.dockerenv, /etc/mtab); podman and
// nerdctl add nothing there. The e2e suite pins the same list.
var engineAdditions = []string{
	"/.dockerenv", "/dev", "/dev/console", "/dev/pts", "/dev/shm", "/etc/hostname", "/etc/hosts",
	"/etc/mtab", "/etc/resolv.conf", "/proc", "/sys",
}

// export times exporting the benchmark image into an empty directory on a
// tmpfs (the disk is ext4 mounted with discard: writing a tree right after
// deleting one is up to 10× slower there) by ocix's backends and by the
// tools users pick today, with the gunzip | tar floors layer by layer.
// Every export's tree is checked against a reference computed from the
// layers; a row whose tool is missing, fails or exports a wrong tree is
// printed as absent with the reason, and ratios to it are not computed.
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
	want, err := newReference(layers)
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

	// The engines: a daemon that does not start makes its rows absent.
	var dockerEnv, podmanEnv, nerdctlEnv []string
	var noDocker, noPodman, noNerdctl string
	if d, err := b.h.StartDocker(b.ctx); err != nil {
		noDocker = "dockerd did not start: " + err.Error()
	} else {
		dockerEnv = d.Env()
	}
	if p, err := b.h.StartPodman(b.ctx); err != nil {
		noPodman = "the podman service did not start: " + err.Error()
	} else {
		podmanEnv = p.Env()
	}
	var nerdctl func(args ...string) []string
	if nerdctlBin, err := exec.LookPath("nerdctl"); err != nil {
		noNerdctl = "nerdctl is not installed (.ci/run builds it)"
	} else if c, err := b.h.StartContainerd(b.ctx); err != nil {
		noNerdctl = "containerd did not start: " + err.Error()
	} else {
		dataRoot := filepath.Join(c.Dir(), "nerdctl")
		nerdctlEnv = []string{
			"OCIX_NERDCTL_PATH=" + nerdctlBin,
			"OCIX_NERDCTL_ADDRESS=" + c.Address,
			"OCIX_NERDCTL_NAMESPACE=" + c.Namespace,
			"OCIX_NERDCTL_DATA_ROOT=" + dataRoot,
			"OCIX_NERDCTL_CGROUP_MANAGER=cgroupfs",
		}
		nerdctl = func(args ...string) []string {
			return append([]string{nerdctlBin, "--address", c.Address, "--namespace", c.Namespace, "--data-root", dataRoot}, args...)
		}
	}
	// bash with pipefail: a pipeline fails when any command in it does,
	// not only when its last one (tar) does.
	sh := func(label, script string, env []string, needs []string, before func() error) tool {
		return tool{label: label, argv: []string{"bash", "-o", "pipefail", "-ec", script}, env: env, needs: append(needs, "bash"), before: before}
	}
	// An engine's store: pulled before a warm run; emptied before a cold
	// one, and checked to be empty, so that "cold" is what it says.
	type store struct {
		env          []string
		pull, remove []string // argv
		inspect      []string // argv that must fail once the image is removed
	}
	docker := store{dockerEnv, []string{"docker", "pull", "-q", ref}, []string{"docker", "rmi", "-f", ref}, []string{"docker", "image", "inspect", ref}}
	podman := store{podmanEnv, []string{"podman", "--remote", "pull", "-q", ref}, []string{"podman", "--remote", "rmi", "-f", ref}, []string{"podman", "--remote", "image", "exists", ref}}
	var nerd store
	if noNerdctl == "" {
		nerd = store{nil, nerdctl("pull", "-q", ref), nerdctl("rmi", "-f", ref), nerdctl("image", "inspect", ref)}
	}
	pull := func(s store, then func() error) func() error {
		return func() error {
			if err := b.runEnv(s.env, s.pull[0], s.pull[1:]...); err != nil {
				return err
			}
			return then()
		}
	}
	cold := func(s store, then func() error) func() error {
		return func() error {
			// rmi of an image already gone may fail: what counts is that
			// the store no longer has it, checked next.
			rmErr := b.runEnv(s.env, s.remove[0], s.remove[1:]...)
			if b.runEnv(s.env, s.inspect[0], s.inspect[1:]...) == nil {
				return fmt.Errorf("the image is still in the store after %s: %v", strings.Join(s.remove, " "), rmErr)
			}
			return then()
		}
	}
	engineExport := func(cli string) string {
		return fmt.Sprintf(`id=$(%[1]s create --network none %[2]s true); %[1]s export "$id" | tar -x -C %[3]s; %[1]s rm "$id" >/dev/null`, cli, ref, out)
	}
	var gzipFloor, pigzFloor []string
	for _, l := range layers {
		gzipFloor = append(gzipFloor, fmt.Sprintf("gzip -dc %s | tar -x -C %s", l, out))
		pigzFloor = append(pigzFloor, fmt.Sprintf("pigz -dc %s | tar -x -C %s", l, out))
	}

	// ocix's engine backends, with the image already in the engine's
	// store (warm) and removed first (cold, pull included).
	engine := func(name string, s store, env []string, unavailable string, known []string) []tool {
		argv := []string{b.ocix, "--backend", name, "export", "-q", ref, out}
		return []tool{
			{label: "ocix --backend " + name + " export (warm)", argv: argv, env: env, unavailable: unavailable,
				before: pull(s, absent), tree: out, known: known},
			{label: "ocix --backend " + name + " export (cold)", argv: argv, env: env, unavailable: unavailable,
				before: cold(s, absent), tree: out, known: known},
		}
	}
	const (
		apiLabel      = "ocix --backend api export"
		oldKernel     = "ocix --backend api export, no openat2 (old-kernel filter)"
		craneLabel    = "crane export - | tar -x"
		pigzLabel     = "floor: pigz -dc | tar -x, layer by layer"
		fallbackLimit = 1.2
	)
	withDocker := func(t tool) tool { t.unavailable = noDocker; return t }
	withPodman := func(t tool) tool { t.unavailable = noPodman; return t }
	apiArgv := []string{b.ocix, "--backend", "api", "export", ref, out}
	tools := []tool{
		{label: apiLabel, argv: apiArgv, before: absent, tree: out},
		{label: oldKernel, argv: apiArgv, before: absent, tree: out, oldKernel: true},
		{label: "ocix --backend crane export", argv: []string{b.ocix, "--backend", "crane", "export", ref, out}, before: absent, tree: out},
		withTree(sh(craneLabel, fmt.Sprintf("crane export %s - | tar -x -C %s", ref, out), nil, []string{"crane", "tar"}, fresh), out, nil),
		withTree(sh("skopeo copy + umoci unpack", fmt.Sprintf("skopeo copy -q --src-tls-verify=false docker://%[1]s oci:%[2]s/oci:latest && umoci unpack --image %[2]s/oci:latest %[2]s/bundle >/dev/null", ref, out), nil, []string{"skopeo", "umoci"}, fresh),
			filepath.Join(out, "bundle", "rootfs"), nil),
		withDocker(withTree(sh("docker create+export | tar -x (warm)", engineExport("docker"), dockerEnv, []string{"docker", "tar"}, pull(docker, fresh)), out, engineAdditions)),
		withDocker(withTree(sh("docker pull+create+export | tar -x (cold)", "docker pull -q "+ref+" >/dev/null; "+engineExport("docker"), dockerEnv, []string{"docker", "tar"}, cold(docker, fresh)), out, engineAdditions)),
		withPodman(withTree(sh("podman create+export | tar -x (warm)", engineExport("podman --remote"), podmanEnv, []string{"podman", "tar"}, pull(podman, fresh)), out, nil)),
		withPodman(withTree(sh("podman pull+create+export | tar -x (cold)", "podman --remote pull -q "+ref+" >/dev/null; "+engineExport("podman --remote"), podmanEnv, []string{"podman", "tar"}, cold(podman, fresh)), out, nil)),
		// The floors untar every layer over the last, whiteouts and all:
		// no export, so no tree to check.
		sh("floor: gzip -dc | tar -x, layer by layer", strings.Join(gzipFloor, "; "), nil, []string{"gzip", "tar"}, fresh),
		sh(pigzLabel, strings.Join(pigzFloor, "; "), nil, []string{"pigz", "tar"}, fresh),
	}
	tools = append(tools, engine("docker", docker, dockerEnv, noDocker, engineAdditions)...)
	tools = append(tools, engine("podman", podman, podmanEnv, noPodman, nil)...)
	tools = append(tools, engine("nerdctl", nerd, nerdctlEnv, noNerdctl, nil)...)
	rows, failed := b.measureRows(tools, min(b.runs, exportRuns), want)
	os.RemoveAll(out)

	fmt.Printf("image: %d gzip layers, %d MB compressed, %d MB and %d entries uncompressed (%d paths in the flattened tree); into an empty directory on tmpfs\n",
		len(layers), compressedSize(layers)/1e6, want.size/1e6, want.entries, len(want.tree))
	fmt.Println("each export's tree, after its last run, is checked against a reference made from the layers (paths, types, modes, owners, sizes, contents, symlink targets); a wrong one is absent below")
	crane, _ := find(rows, craneLabel)
	pigz, _ := find(rows, pigzLabel)
	printTable("export\twall\tCPU\tpeak RSS\t× crane|tar\t× pigz floor", rows, func(r row) []string {
		return []string{secs(r.wall), secs(r.cpu), mib(r.maxRSS), times(r, crane), times(r, pigz)}
	})
	api, _ := find(rows, apiLabel)
	fallback, _ := find(rows, oldKernel)
	target("api ≤ 0.6× crane export | tar -x", api, crane, 0.6)
	target("api ≤ 1.1× the pigz floor", api, pigz, 1.1)
	target(fmt.Sprintf("without openat2 ≤ %.1f× with it", fallbackLimit), fallback, api, fallbackLimit)
	if api.absent == "" {
		fmt.Printf("target: peak RSS ≤ 100 MiB per process (host and plugin): %s (%s, the larger)\n", verdict(api.maxRSS <= 100*1024), mib(api.maxRSS))
	}
	fmt.Println()
	if len(failed) > 0 {
		return fmt.Errorf("ocix rows failed or exported a wrong tree: %s", strings.Join(failed, "; "))
	}
	return nil
}

// withTree names where t leaves its export and what may differ there.
func withTree(t tool, root string, known []string) tool {
	t.tree, t.known = root, known
	return t
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
