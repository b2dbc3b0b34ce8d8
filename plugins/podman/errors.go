package podman

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/containers/podman/v5/pkg/errorhandling"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/registries"
)

// The podman API gives errors as text: what the service met (a registry's
// refusal, a runtime's failure) arrives as a message, often several lines
// (podman joins errors as "1 error occurred:\n\t* …"). These functions
// tell them in ocix's one-line style, keeping podman's own words where no
// better ones can be derived from them.

type errString string

func (e errString) Error() string { return string(e) }

// causeOf is the most precise text of an error from the service: the
// API's "cause" when it has one, else its message.
func causeOf(err error) string {
	var em *errorhandling.ErrorModel
	if errors.As(err, &em) && em.Because != "" {
		return em.Because
	}
	return err.Error()
}

// serviceError is an error of the service itself (not a registry's),
// in one line.
func serviceError(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("podman: %s", core.OneLine(causeOf(err)))
}

// registryCodes are the distribution spec's error codes as
// containers/image prints them ("name unknown: repository name not known
// to registry"): lower case, spaces for underscores.
var registryCodes = []struct{ text, code string }{
	{"name unknown", "NAME_UNKNOWN"},
	{"name invalid", "NAME_INVALID"},
	{"manifest unknown", "MANIFEST_UNKNOWN"},
	{"blob unknown", "BLOB_UNKNOWN"},
	{"unauthorized", "UNAUTHORIZED"},
	{"denied", "DENIED"},
	{"toomanyrequests", "TOOMANYREQUESTS"},
}

// statusText is containers/image's words for a status it has no error
// body for: "invalid status code from registry 404 (Not Found)".
var statusText = regexp.MustCompile(`invalid status code from registry (\d{3})`)

// registryError tells what podman met at a registry, ep, in the words every
// ocix backend uses (see plugins/internal/registries).
func registryError(ep core.Endpoint, repository string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	msg := core.OneLine(causeOf(err))
	low := strings.ToLower(msg)
	repo := ep.Registry + "/" + repository
	unreachable := func(cause string) error { return fmt.Errorf("cannot reach registry %s: %s", ep.Host, cause) }
	switch {
	case strings.Contains(low, "connection refused"):
		return unreachable("connection refused")
	case strings.Contains(low, "connection reset") && strings.Contains(low, "dial "):
		return unreachable("connection reset")
	case strings.Contains(low, "connection reset"):
		// Reached, then cut off: no failure to connect.
		return fmt.Errorf("registry %s: connection reset", ep.Host)
	case strings.Contains(low, "no such host"):
		return unreachable("no such host")
	case strings.Contains(low, "server gave http response to https client"):
		return unreachable("the registry does not speak TLS (use --insecure or registries.insecure for plain HTTP)")
	case strings.Contains(low, "x509: ") || strings.Contains(low, "tls: failed to verify certificate"):
		return unreachable("TLS certificate not trusted (use --insecure or registries.insecure to skip verification)")
	case strings.Contains(low, "too many requests"):
		return &registries.Error{Repository: repo, Status: http.StatusTooManyRequests}
	case strings.Contains(low, "authentication required"):
		return &registries.Error{Repository: repo, Status: http.StatusUnauthorized,
			Codes: []registries.ErrorCode{{Code: "UNAUTHORIZED", Message: "authentication required"}}}
	}
	for _, c := range registryCodes {
		if i := strings.Index(low, c.text+": "); i >= 0 {
			detail := msg[i+len(c.text)+2:]
			return &registries.Error{Repository: repo, Status: http.StatusBadRequest,
				Codes: []registries.ErrorCode{{Code: c.code, Message: detail}}}
		}
	}
	if m := statusText.FindStringSubmatch(msg); m != nil {
		var status int
		fmt.Sscan(m[1], &status)
		return &registries.Error{Repository: repo, Status: status}
	}
	return fmt.Errorf("%s: %s", repo, msg)
}
