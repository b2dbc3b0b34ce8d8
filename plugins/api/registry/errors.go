package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ocix/ocix/plugins/internal/registries"
)

// maxErrorBody bounds what is read of an error answer: plenty for any
// registry's error list, not a whole HTML page.
const maxErrorBody = 64 << 10

// answerError tells a refusal in one line. The body may hold the
// distribution spec's error list or what token servers send instead:
// Docker Hub's {"details": …}, OAuth2's {"error", "error_description"}.
// Anything else (an HTML page, nothing) leaves the status to speak.
func answerError(name string, resp *http.Response) *registries.Error {
	e := &registries.Error{Repository: name, Status: resp.StatusCode}
	var body struct {
		Errors      []registries.ErrorCode `json:"errors"`
		Details     string                 `json:"details"`
		OAuth       string                 `json:"error"`
		Description string                 `json:"error_description"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, maxErrorBody)).Decode(&body)
	switch {
	case len(body.Errors) > 0:
		e.Codes = body.Errors
	case body.Details != "":
		e.Codes = []registries.ErrorCode{{Code: statusCode(resp.StatusCode), Message: body.Details}}
	case body.OAuth != "":
		e.Codes = []registries.ErrorCode{{Code: strings.ToUpper(body.OAuth), Message: body.Description}}
	case resp.StatusCode == http.StatusTooManyRequests:
		c := registries.ErrorCode{Code: "TOOMANYREQUESTS"}
		if d := retryAfter(resp.Header.Get("Retry-After"), time.Now()); d > 0 {
			c.Message = "retry after " + d.Round(time.Second).String()
		}
		e.Codes = []registries.ErrorCode{c}
	}
	return e
}

// statusCode is the spec's error code for a status, for bodies that give
// a message without one.
func statusCode(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "UNAUTHORIZED"
	case http.StatusForbidden:
		return "DENIED"
	case http.StatusTooManyRequests:
		return "TOOMANYREQUESTS"
	}
	return "UNKNOWN"
}

// transportError tells a failed exchange with host in one line, marked
// for a retry when the failure may pass.
func transportError(host string, err error) error {
	// url.Error's "Get <url>:" prefix would only repeat the host, at
	// length. Its URL names the host that failed: after a redirect, not
	// the one first asked.
	var uerr *url.Error
	if errors.As(err, &uerr) {
		if u, perr := url.Parse(uerr.URL); perr == nil && u.Host != "" {
			host = u.Host
		}
		err = uerr.Err
	}
	cause := err
	if errors.Is(err, context.DeadlineExceeded) {
		// Our own timeout (response headers, TLS handshake): the caller's
		// context is not done — roundTrip checked — but net/http's timeout
		// errors match DeadlineExceeded, which ExchangeError would pass on
		// bare, without naming the host.
		cause = errors.New(err.Error())
	}
	e := registries.ExchangeError(host, cause)
	if transient(err) {
		return &retryable{err: e}
	}
	return e
}

// decodeJSON decodes a JSON answer as it streams in. An answer cut off
// midway is worth asking for again; a malformed one is not.
func decodeJSON(name string, resp *http.Response, v any) error {
	err := json.NewDecoder(resp.Body).Decode(v)
	switch {
	case err == nil:
		return nil
	case err == io.EOF:
		err = errors.New("empty body")
	case transient(err):
		return &retryable{err: fmt.Errorf("%s: answer from %s %s: %v", name, resp.Request.URL.Host, brokeOff(err), err)}
	}
	return fmt.Errorf("%s: unexpected answer from %s: %v", name, resp.Request.URL.Host, err)
}

// closeBody drains a little of what is left before closing, so that the
// connection returns to the pool instead of being torn down.
func closeBody(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	_ = resp.Body.Close()
}
