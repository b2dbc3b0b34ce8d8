package podman

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/containers/podman/v5/pkg/bindings"

	"github.com/ocix/ocix/core"
)

// The default sockets, as podman's own remote client looks for them.
const (
	rootfulSocket  = "/run/podman/podman.sock"
	rootlessSocket = "podman/podman.sock" // under $XDG_RUNTIME_DIR
)

// reachTimeout bounds how long Describe waits for the service: a command
// against a service that is not there must fail within 2 s, plugin start
// included.
const reachTimeout = time.Second

// service is where the podman API is served, and who said so.
type service struct {
	URI  string // for bindings.NewConnection: unix:///path, tcp://host:port, ssh://…
	Path string // the unix socket's path; "" for other schemes
	From string // the setting it came from, for error messages
}

// resolveService finds the service as podman's remote client does, with
// ocix's own setting first: config podman.socket, then $CONTAINER_HOST,
// then the rootful socket for root or the rootless one under
// $XDG_RUNTIME_DIR (/run/user/UID when unset) for anyone else.
func resolveService(configured string, getenv func(string) string, uid int) (service, error) {
	if configured != "" {
		return parseService(configured, "config podman.socket")
	}
	if host := getenv("CONTAINER_HOST"); host != "" {
		return parseService(host, "CONTAINER_HOST")
	}
	if uid == 0 {
		return service{URI: "unix://" + rootfulSocket, Path: rootfulSocket, From: "the rootful default"}, nil
	}
	dir := getenv("XDG_RUNTIME_DIR")
	if dir == "" {
		dir = "/run/user/" + strconv.Itoa(uid)
	}
	path := filepath.Join(dir, rootlessSocket)
	return service{URI: "unix://" + path, Path: path, From: "the rootless default"}, nil
}

// parseService reads a socket path or a URI the bindings take.
func parseService(s, from string) (service, error) {
	if strings.HasPrefix(s, "/") {
		return service{URI: "unix://" + s, Path: filepath.Clean(s), From: from}, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return service{}, core.Usagef("%s %q: want a socket path or a unix://, tcp:// or ssh:// URI", from, s)
	}
	switch u.Scheme {
	case "unix":
		// unix:///run/x.sock, and the unix://run/x.sock podman accepts too.
		path := filepath.Clean("/" + u.Host + u.Path)
		return service{URI: "unix://" + path, Path: path, From: from}, nil
	case "tcp", "ssh":
		if u.Host == "" {
			return service{}, core.Usagef("%s %q: the URI names no host", from, s)
		}
		return service{URI: s, From: from}, nil
	}
	return service{}, core.Usagef("%s %q: want a socket path or a unix://, tcp:// or ssh:// URI", from, s)
}

// where names the service in messages: its socket path, or its URI.
func (s service) where() string {
	if s.Path != "" {
		return s.Path
	}
	return s.URI
}

// unreachable is the one line a user gets when the service does not
// answer: where ocix looked, why it failed, and how to start it.
func (s service) unreachable(cause string) error {
	msg := fmt.Sprintf("cannot reach the podman service at %s (%s): %s", s.where(), s.From, cause)
	if s.Path != "" {
		msg += fmt.Sprintf("; start it with `podman system service --time=0 unix://%s`", s.Path)
	}
	return errors.New(msg)
}

// connect opens a connection to the service, bound to ctx: the context it
// returns carries the connection for every bindings call. A unix socket is
// pinged first, once: the bindings try three times with 600 ms of sleep
// between tries, and a missing or silent service must be told at once,
// in plain words.
func (s service) connect(ctx context.Context) (context.Context, error) {
	if s.Path != "" {
		if err := probe(ctx, s.Path); err != nil {
			return nil, s.unreachable(err.Error())
		}
	}
	pingCtx, cancel := context.WithTimeout(ctx, reachTimeout)
	defer cancel()
	conn, err := bindings.NewConnection(pingCtx, s.URI)
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case errors.Is(err, context.DeadlineExceeded) || pingCtx.Err() != nil:
		return nil, s.unreachable(fmt.Sprintf("no answer within %v", reachTimeout))
	case err != nil:
		return nil, s.unreachable(core.OneLine(err.Error()))
	}
	// The connection's values, under the caller's deadline and
	// cancellation rather than the ping's.
	return valuesFrom{Context: ctx, values: conn}, nil
}

// probe asks a unix socket's service for /_ping, once, within
// reachTimeout, and tells why it cannot be reached.
func probe(ctx context.Context, path string) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return errors.New("no such socket")
	case errors.Is(err, os.ErrPermission):
		return errNoPermission
	case err != nil:
		return err
	case st.Mode()&os.ModeSocket == 0:
		return errors.New("not a socket")
	}
	ctx, cancel := context.WithTimeout(ctx, reachTimeout)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		},
	}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://d/_ping", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return errors.New("connection refused: the socket is there but no service listens on it")
	case errors.Is(err, syscall.EACCES):
		return errNoPermission
	case ctx.Err() != nil && !errors.Is(context.Cause(ctx), context.Canceled):
		return fmt.Errorf("no answer within %v", reachTimeout)
	case err != nil:
		var op *net.OpError
		if errors.As(err, &op) && op.Err != nil {
			return op.Err
		}
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /_ping answered %s: is it a podman service?", resp.Status)
	}
	return nil
}

var errNoPermission = errors.New("permission denied (the rootful service is root's: use sudo, or the rootless service)")

// valuesFrom is ctx with the values (the bindings' connection) of another
// context: a connection made under a short ping deadline serves calls
// made under the job's own context.
type valuesFrom struct {
	context.Context
	values context.Context
}

func (v valuesFrom) Value(key any) any {
	if val := v.Context.Value(key); val != nil {
		return val
	}
	return v.values.Value(key)
}

// detached is ctx's connection without its cancellation, bounded by
// timeout: for removing a container after the job was cancelled.
func detached(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), timeout)
}
