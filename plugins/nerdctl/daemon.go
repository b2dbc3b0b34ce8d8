package nerdctl

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ocix/ocix/core"
)

// dialTimeout bounds the check that containerd answers: a command against
// a daemon that is down fails within ocix's two seconds.
const dialTimeout = time.Second

// find looks the binary up as the shell would.
func find(path string) (string, error) {
	found, err := exec.LookPath(path)
	if err != nil {
		if strings.Contains(path, "/") {
			return "", fmt.Errorf("nerdctl not found at %s (set nerdctl.path)", path)
		}
		return "", fmt.Errorf("%s not found on $PATH: install nerdctl, or set nerdctl.path", path)
	}
	return found, nil
}

// reachable checks that containerd accepts connections on its socket. A
// connection is all nerdctl needs to start talking; a daemon that accepts
// and then hangs is beyond what a quick check can tell.
func reachable(ctx context.Context, address string) error {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "unix", address)
	if err != nil {
		why := err.Error()
		var op *net.OpError
		if errors.As(err, &op) && op.Err != nil {
			why = op.Err.Error() // "connect: no such file or directory"
		}
		return fmt.Errorf("containerd is not reachable at %s (%s): start it (`containerd`, or `systemctl start containerd`), or point nerdctl.address or $%s at its socket",
			address, why, addressEnv)
	}
	conn.Close()
	return nil
}

// exportSince is the first nerdctl with `nerdctl export` (v2.2.0).
var exportSince = version{2, 2, 0}

type version [3]int

func (v version) less(w version) bool {
	for i := range v {
		if v[i] != w[i] {
			return v[i] < w[i]
		}
	}
	return false
}

func (v version) String() string { return fmt.Sprintf("%d.%d.%d", v[0], v[1], v[2]) }

var versionRE = regexp.MustCompile(`version v?(\d+)\.(\d+)\.(\d+)`)

// parseVersion reads `nerdctl --version` ("nerdctl version 2.2.0"); ok is
// false for a build that does not say (a development build).
func parseVersion(out string) (v version, ok bool) {
	m := versionRE.FindStringSubmatch(out)
	if m == nil {
		return v, false
	}
	for i := range v {
		v[i], _ = strconv.Atoi(m[i+1])
	}
	return v, true
}

// canExport refuses an export with a nerdctl that has no `export`
// command. Run works with any nerdctl, so the backend stays available and
// only this job says why it cannot be done; a version that cannot be read
// is given the benefit of the doubt.
func (t *tool) canExport(ctx context.Context) error {
	out, err := t.command(ctx, "--version").Output()
	if err != nil {
		return err
	}
	v, ok := parseVersion(string(out))
	if ok && v.less(exportSince) {
		return core.Usagef("nerdctl %s (%s) has no export command, which came in nerdctl %s: upgrade nerdctl, or export with another backend",
			v, t.path, exportSince)
	}
	return nil
}
