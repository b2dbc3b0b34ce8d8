//go:build e2e

package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/e2e/harness"
)

// The docker backend runs the export and run suites against a private
// dockerd: Debian 12's 20.10 here (the backend negotiates the API version
// with it), a current one in TestDockerCurrentEngine.
func init() { register(dockerBackend((*harness.Harness).StartDocker)) }

// dockerContainers lists the containers of the dockerd env reaches that
// carry ocix's label, whatever its value.
func dockerContainers(t *testing.T, env []string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := engine{name: "docker", cli: []string{"docker"}, env: env}.run(ctx, "ps", "-aq", "--filter", "label="+core.InvocationLabel)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(out)
}

// A daemon that is not there: every command fails at once with one line
// naming the socket and saying what to do, and `ocix backends` shows the
// backend unavailable with that reason.
func TestDockerWithoutDaemon(t *testing.T) {
	s := newSandbox(t)
	checkNoDaemon(t, s, noDaemon{
		backend: "docker",
		point:   func(s *sandbox, socket string) { s.set("DOCKER_HOST=unix://" + socket) },
		missing: "no such file or directory", stale: "connection refused",
		says: func(socket, cause string) []string {
			return []string{"cannot reach the docker daemon at unix://" + socket + ": connect: " + cause + " (is dockerd running? start it or set DOCKER_HOST / docker.host)"}
		},
		exit:     1,
		commands: [][]string{{"export", "127.0.0.1:1/some/image:1", filepath.Join(s.dir, "rootfs")}},
	})
}
