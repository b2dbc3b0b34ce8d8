// Package registries holds what every registry-speaking plugin does the same
// way: trying mirrors before the origin, choosing plain HTTP, and telling a
// registry's errors in one line.
package registries

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/hashicorp/go-hclog"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/core/reference"
)

// PlainHTTP reports whether ep is spoken to in plain HTTP from the start:
// loopback registries are, as docker and crane do. An insecure non-loopback
// registry is tried in HTTPS (unverified) first.
func PlainHTTP(ep core.Endpoint) bool { return reference.IsLoopback(ep.Host) }

// Try calls f on each endpoint in order — mirrors, then the origin — until
// one succeeds. A mirror's failure is only logged, as a warning to log
// (nil logs nothing); the origin's error is the one returned. A cancelled
// context stops at once.
func Try[T any](ctx context.Context, eps []core.Endpoint, log hclog.Logger, f func(core.Endpoint) (T, error)) (T, error) {
	var zero T
	if len(eps) == 0 {
		return zero, errors.New("no registry endpoint given")
	}
	for i, ep := range eps {
		v, err := f(ep)
		if err == nil || i == len(eps)-1 || ctx.Err() != nil {
			return v, err
		}
		if log != nil {
			log.Warn("mirror failed, trying the next registry", "mirror", ep.Host, "error", err)
		}
	}
	return zero, nil // unreachable
}

// ErrorCode is one entry of a registry's error body, as the distribution
// spec defines it.
type ErrorCode struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error is a registry's refusal, told in one line:
//
//	127.0.0.1:5000/nope: repository not found (NAME_UNKNOWN: repository name not known to registry)
type Error struct {
	Repository string // registry/path the request was about
	Status     int
	Codes      []ErrorCode
}

func (e *Error) Error() string {
	what := describe(e.Status, e.Codes)
	if len(e.Codes) == 0 {
		return fmt.Sprintf("%s: %s (HTTP %d)", e.Repository, what, e.Status)
	}
	var details []string
	for _, c := range e.Codes {
		d := c.Code
		if msg := strings.TrimSpace(c.Message); msg != "" {
			d += ": " + msg
		}
		details = append(details, d)
	}
	return fmt.Sprintf("%s: %s (%s)", e.Repository, what, strings.Join(details, "; "))
}

// Code is the first error code, or "".
func (e *Error) Code() string {
	if len(e.Codes) == 0 {
		return ""
	}
	return e.Codes[0].Code
}

var codeText = map[string]string{
	"NAME_UNKNOWN":     "repository not found",
	"NAME_INVALID":     "invalid repository name",
	"MANIFEST_UNKNOWN": "manifest not found",
	"BLOB_UNKNOWN":     "blob not found",
	"UNAUTHORIZED":     "authentication required",
	"DENIED":           "access denied",
	"TOOMANYREQUESTS":  "rate limited by the registry",
	"UNSUPPORTED":      "operation not supported by the registry",
}

func describe(status int, codes []ErrorCode) string {
	if len(codes) > 0 {
		if t, ok := codeText[codes[0].Code]; ok {
			return t
		}
	}
	switch {
	case status == http.StatusNotFound:
		return "not found"
	case status == http.StatusUnauthorized:
		return "authentication required"
	case status == http.StatusForbidden:
		return "access denied"
	case status == http.StatusTooManyRequests:
		return "rate limited by the registry"
	case status >= 500:
		return "registry error"
	}
	return "unexpected answer from the registry"
}

// ExchangeError tells a failed exchange with host in one line, keeping the
// cause a user can act on (refused, no such host, TLS) and dropping Go's
// layers of "dial tcp …: connect:". Only a failure to connect — a dial, a
// name lookup, a TLS handshake — says "cannot reach"; a registry reached
// that then failed the exchange (a reset, a timeout awaiting the answer,
// too many redirects) says "registry HOST: …".
func ExchangeError(host string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if cause, ok := connectFailure(err); ok {
		return fmt.Errorf("cannot reach registry %s: %s", host, cause)
	}
	cause := err.Error()
	var opErr *net.OpError
	switch {
	case errors.Is(err, syscall.ECONNRESET):
		cause = "connection reset"
	case errors.As(err, &opErr) && opErr.Err != nil:
		cause = opErr.Err.Error()
	}
	return fmt.Errorf("registry %s: %s", host, cause)
}

// connectFailure says why err is a failure to connect, if it is one.
func connectFailure(err error) (cause string, ok bool) {
	var (
		dnsErr   *net.DNSError
		certErr  *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		recErr   tls.RecordHeaderError
		opErr    *net.OpError
	)
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused", true
	case errors.As(err, &dnsErr):
		return "no such host", true
	case errors.As(err, &certErr), errors.As(err, &unknown), errors.As(err, &hostname):
		return "TLS certificate not trusted (use --insecure or registries.insecure to skip verification)", true
	case errors.As(err, &recErr), errors.Is(err, http.ErrSchemeMismatch):
		return "the registry does not speak TLS (use --insecure or registries.insecure for plain HTTP)", true
	case errors.As(err, &opErr) && opErr.Op == "dial" && opErr.Err != nil:
		return opErr.Err.Error(), true
	}
	return "", false
}

// IsNetwork reports whether err is the network's: a failed connection or
// exchange, not a local file's error. A bare syscall.Errno passes for a
// net.Error (it has Timeout and Temporary), so that alone does not count:
// a hard link the applier could not make is no registry's failure.
func IsNetwork(err error) bool {
	var ne net.Error // *url.Error and *net.OpError are ones too
	if errors.As(err, &ne) {
		if _, errno := ne.(syscall.Errno); !errno {
			return true
		}
	}
	_, connect := connectFailure(err)
	return connect
}

// IsDigest reports whether an image reference's tag-or-digest part is a
// digest ("sha256:…").
func IsDigest(ref string) bool { return strings.Contains(ref, ":") }
