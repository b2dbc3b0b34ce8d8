package registries

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
)

func TestOnlyAFailureToConnectSaysCannotReach(t *testing.T) {
	dial := func(e error) error {
		return &url.Error{Op: "Get", URL: "http://h/v2/", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", e)}}
	}
	read := func(e error) error {
		return &url.Error{Op: "Get", URL: "http://h/v2/", Err: &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", e)}}
	}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{dial(syscall.ECONNREFUSED), "cannot reach registry h:5000: connection refused"},
		{dial(syscall.EHOSTUNREACH), "cannot reach registry h:5000: connect: no route to host"},
		{&net.DNSError{Err: "no such host", Name: "h"}, "cannot reach registry h:5000: no such host"},
		{read(syscall.ECONNRESET), "registry h:5000: connection reset"},
		{errors.New("net/http: timeout awaiting response headers"), "registry h:5000: net/http: timeout awaiting response headers"},
		{errors.New("more than 10 redirects"), "registry h:5000: more than 10 redirects"},
	} {
		if got := ExchangeError("h:5000", tc.err).Error(); got != tc.want {
			t.Errorf("%v:\n got %q\nwant %q", tc.err, got, tc.want)
		}
	}
	if err := ExchangeError("h", fmt.Errorf("x: %w", context.Canceled)); !errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "registry") {
		t.Errorf("cancelled: %v", err)
	}
}

// A hard link the applier could not make wraps a bare errno, which has a
// net.Error's methods: it is no network failure.
func TestALocalFilesErrorIsNotTheNetworks(t *testing.T) {
	link := &os.LinkError{Op: "linkat", Old: "etc/y", New: "etc/x", Err: syscall.ENOENT}
	local := fmt.Errorf(`layer entry "etc/x": %w`, fmt.Errorf(`hard link to "etc/y": %w`, link))
	if IsNetwork(local) || IsNetwork(fmt.Errorf("w: %w", syscall.ENOENT)) {
		t.Fatalf("IsNetwork(%v) = true", local)
	}
	for _, err := range []error{
		&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET},
		&url.Error{Op: "Get", URL: "http://h/", Err: errors.New("more than 10 redirects")},
		&net.DNSError{Err: "no such host", Name: "h"},
	} {
		if !IsNetwork(err) {
			t.Errorf("IsNetwork(%v) = false", err)
		}
	}
}
