package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Containerd is a standalone containerd with its own root, state and
// sockets, without the CRI plugin.
type Containerd struct {
	handle
	Address string // the gRPC unix socket: nerdctl's and ctr's --address
	// Namespace is a containerd namespace no other instance uses: give it
	// to nerdctl and ctr (--namespace). The runc shim keeps container
	// state in /run/containerd/runc/NAMESPACE whatever containerd's own
	// state directory, and ctr puts containers in the cgroup
	// /NAMESPACE/ID, so instances sharing a namespace would share those;
	// Close removes this one's.
	Namespace string
}

// StartContainerd runs containerd.
func (h *Harness) StartContainerd(ctx context.Context) (*Containerd, error) {
	bin, err := lookPath("containerd", "install containerd")
	if err != nil {
		return nil, err
	}
	if err := needRoot("containerd"); err != nil {
		return nil, err
	}
	dir, err := h.newDir("containerd")
	if err != nil {
		return nil, err
	}
	address := dir + "/containerd.sock"
	namespace := "ocix-" + filepath.Base(dir)
	// The opt plugin would otherwise install into /opt/containerd.
	config := fmt.Sprintf(`version = 2
root = "%[1]s/root"
state = "%[1]s/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "%[2]s"

[ttrpc]
  address = "%[2]s.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "%[1]s/opt"
`, dir, address)
	if err := os.WriteFile(dir+"/config.toml", []byte(config), 0o644); err != nil {
		return nil, err
	}
	p, err := h.launch(ctx, spec{
		name: "containerd",
		dir:  dir,
		bin:  bin,
		args: []string{"--config", dir + "/config.toml"},
		// containerd listens on its gRPC socket only once its plugins are
		// loaded, so a connection that succeeds means it serves.
		ready: func(ctx context.Context) error {
			conn, err := (&net.Dialer{}).DialContext(ctx, "unix", address)
			if err == nil {
				conn.Close()
			}
			return err
		},
		drain:   func(ctx context.Context) error { return deleteTasks(ctx, address) },
		outside: []string{"/run/containerd/runc/" + namespace},
		cgroup:  namespace,
	})
	if err != nil {
		return nil, err
	}
	return &Containerd{handle: handle{h, p}, Address: address, Namespace: namespace}, nil
}

// deleteTasks kills and deletes every task in every namespace with ctr,
// which Debian's containerd package ships, so that runc removes their
// cgroups: containerd leaves its tasks running when it stops.
func deleteTasks(ctx context.Context, address string) error {
	ctr := func(args ...string) ([]string, error) {
		out, err := exec.CommandContext(ctx, "ctr", append([]string{"--address", address}, args...)...).Output()
		return strings.Fields(string(out)), err
	}
	namespaces, err := ctr("namespaces", "list", "-q")
	if err != nil {
		return err
	}
	var errs []error
	for _, ns := range namespaces {
		tasks, err := ctr("-n", ns, "tasks", "list", "-q")
		if err == nil && len(tasks) > 0 {
			_, err = ctr(append([]string{"-n", ns, "tasks", "delete", "--force"}, tasks...)...)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
