package podman

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/containers/podman/v5/pkg/errorhandling"

	"github.com/ocix/ocix/core"
)

// What podman 4.3's service was seen to answer, told as every ocix
// backend tells it.
func TestRegistryError(t *testing.T) {
	ep := core.Endpoint{Registry: "127.0.0.1:5000", Host: "127.0.0.1:5000"}
	apiErr := func(cause string) error {
		return &errorhandling.ErrorModel{Because: cause, Message: "1 error occurred:\n\t* " + cause + "\n\n", ResponseCode: 500}
	}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{apiErr(`getting repository tags: pinging container registry 127.0.0.1:1: Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused`),
			"cannot reach registry 127.0.0.1:5000: connection refused"},
		{apiErr("reading manifest 1 in 127.0.0.1:5000/no/such: name unknown: repository name not known to registry"),
			"127.0.0.1:5000/app: repository not found (NAME_UNKNOWN: repository name not known to registry)"},
		{apiErr("reading manifest nope in 127.0.0.1:5000/app: manifest unknown: manifest unknown"),
			"127.0.0.1:5000/app: manifest not found (MANIFEST_UNKNOWN: manifest unknown)"},
		{apiErr("getting repository tags: fetching tags list: authentication required"),
			"127.0.0.1:5000/app: authentication required (UNAUTHORIZED: authentication required)"},
		{apiErr("initializing source docker://127.0.0.1:5000/app:1: reading manifest 1 in 127.0.0.1:5000/app: unauthorized: authentication required"),
			"127.0.0.1:5000/app: authentication required (UNAUTHORIZED: authentication required)"},
		{apiErr("getting repository tags: fetching tags list: too many requests to registry"),
			"127.0.0.1:5000/app: rate limited by the registry (HTTP 429)"},
		{apiErr(`pinging container registry r.example:443: Get "https://r.example/v2/": tls: failed to verify certificate: x509: certificate signed by unknown authority`),
			"cannot reach registry 127.0.0.1:5000: TLS certificate not trusted"},
		{apiErr(`pinging container registry r: Get "https://r/v2/": http: server gave HTTP response to HTTPS client`),
			"cannot reach registry 127.0.0.1:5000: the registry does not speak TLS"},
		{apiErr("something podman says"), "127.0.0.1:5000/app: something podman says"},
		// Only a failure to connect says "cannot reach".
		{apiErr(`pinging container registry r: Get "http://r/v2/": dial tcp 10.0.0.1:80: read: connection reset by peer`),
			"cannot reach registry 127.0.0.1:5000: connection reset"},
		{apiErr(`reading blob sha256:aa: Get "http://r/v2/app/blobs/sha256:aa": read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer`),
			"registry 127.0.0.1:5000: connection reset"},
		{apiErr(`layer entry "etc/x": hard link to "etc/y": no such file or directory`),
			`127.0.0.1:5000/app: layer entry "etc/x": hard link to "etc/y": no such file or directory`},
	} {
		got := registryError(ep, "app", tc.err)
		if !strings.HasPrefix(got.Error(), tc.want) || strings.Contains(got.Error(), "\n") {
			t.Errorf("%v\n got %q\nwant %q", tc.err, got, tc.want)
		}
	}
	if err := registryError(ep, "app", context.Canceled); err != context.Canceled {
		t.Errorf("cancelled: %v", err)
	}
}

// podman keeps no body of a tag list's 404; its status is the spec's
// NAME_UNKNOWN.
func TestTagsErrorNotFound(t *testing.T) {
	ep := core.Endpoint{Registry: "127.0.0.1:5000", Host: "127.0.0.1:5000"}
	err := tagsError(ep, "no/such", &errorhandling.ErrorModel{Because: "getting repository tags: fetching tags list: invalid status code from registry 404 (Not Found)"})
	if want := "127.0.0.1:5000/no/such: repository not found (NAME_UNKNOWN: the tag list answered 404 Not Found)"; err.Error() != want {
		t.Fatalf("got %q\nwant %q", err, want)
	}
}

func TestStartError(t *testing.T) {
	for msg, want := range map[string]error{
		`runc: runc create failed: unable to start container process: exec: "/no/such": stat /no/such: no such file or directory: OCI runtime attempted to invoke a command that was not found`: core.ErrCommandNotFound,
		`runc: runc create failed: unable to start container process: exec: "/etc": is a directory: OCI permission denied`:                                                                      core.ErrCommandNotInvocable,
	} {
		em := &errorhandling.ErrorModel{Because: "OCI runtime attempted to invoke a command that was not found",
			Message: "preparing container 40f3cd3e for attach: " + msg}
		if err := startError(em); !errors.Is(err, want) || strings.Contains(err.Error(), "preparing") {
			t.Errorf("%s: %v is not %v", msg, err, want)
		}
	}
	err := startError(&errorhandling.ErrorModel{Message: "runc: runc create failed: unable to start container process: error during container init: error setting rlimits for ready process: error setting rlimit type 7: operation not permitted: OCI permission denied"})
	if errors.Is(err, core.ErrCommandNotInvocable) || !strings.Contains(err.Error(), "RLIMIT_NOFILE") || !strings.Contains(err.Error(), "default_ulimits") {
		t.Errorf("rlimit: %v", err)
	}
	err = startError(&errorhandling.ErrorModel{Message: "crun: cgroups in hybrid mode not supported, drop all controllers from cgroupv2: OCI runtime error"})
	if !strings.Contains(err.Error(), `runtime = "runc"`) {
		t.Errorf("crun: %v", err)
	}
}
