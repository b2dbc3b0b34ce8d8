package nerdctl

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ocix/ocix/core"
)

func TestReachable(t *testing.T) {
	dir := t.TempDir()
	listening := filepath.Join(dir, "up.sock")
	l, err := net.Listen("unix", listening)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	stale := filepath.Join(dir, "stale.sock")
	sl, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	sl.(*net.UnixListener).SetUnlinkOnClose(false)
	sl.Close()

	if err := reachable(context.Background(), listening); err != nil {
		t.Errorf("a listening socket: %v", err)
	}
	for sock, cause := range map[string]string{
		filepath.Join(dir, "missing.sock"): "(connect: no such file or directory)",
		stale:                              "(connect: connection refused)",
	} {
		start := time.Now()
		err := reachable(context.Background(), sock)
		if err == nil || !strings.Contains(err.Error(), "containerd is not reachable at "+sock+" "+cause+": start it") {
			t.Errorf("%s: %v", sock, err)
		}
		if time.Since(start) > dialTimeout {
			t.Errorf("%s: took %v", sock, time.Since(start))
		}
	}
}

// Describe says why the backend cannot work, in one line, instead of
// failing: `ocix backends` shows it.
func TestDescribeUnavailable(t *testing.T) {
	dir := t.TempDir()
	for section, want := range map[string]string{
		`{"path": "/no/such/nerdctl"}`:                           "nerdctl not found at /no/such/nerdctl (set nerdctl.path)",
		`{"path": "no-such-nerdctl-here"}`:                       "no-such-nerdctl-here not found on $PATH: install nerdctl, or set nerdctl.path",
		`{"path": "/bin/true", "address": "` + dir + `/c.sock"}`: "containerd is not reachable at " + dir + "/c.sock",
	} {
		b, err := configure(t, nil, section)
		if err != nil {
			t.Fatal(err)
		}
		info, err := b.Describe(context.Background())
		if err != nil || info.Available || !strings.HasPrefix(info.Reason, want) || strings.Contains(info.Reason, "\n") {
			t.Errorf("%s: %+v %v", section, info, err)
		}
	}
}

func TestCanExport(t *testing.T) {
	for version, ok := range map[string]bool{
		"nerdctl version 2.2.0":  true,
		"nerdctl version v2.3.1": true,
		"nerdctl version 2.1.6":  false,
		"nerdctl version 1.7.7":  false,
		"nerdctl version dev":    true, // cannot tell: nerdctl will say
	} {
		err := fakeNerdctl(t, `echo "`+version+`"`).canExport(context.Background())
		var usage *core.UsageError
		switch {
		case ok && err != nil:
			t.Errorf("%s: %v", version, err)
		case !ok && (!errors.As(err, &usage) || !strings.Contains(err.Error(), "has no export command, which came in nerdctl 2.2.0")):
			t.Errorf("%s: %v", version, err)
		}
	}
}
