// Package docker is the docker backend: a docker engine, spoken to with
// docker's own Go client, doing each job as the docker CLI does it — export
// is `docker export $(docker create IMAGE)`, run is `docker run` — so that
// what ocix shows is what docker really gives.
package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/go-connections/tlsconfig"
	"github.com/hashicorp/go-hclog"
	"github.com/moby/moby/client"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/core/plugin"
	ocixcontainer "github.com/ocix/ocix/plugins/internal/container"
)

// pingTimeout bounds the check that the daemon answers: a command against
// a daemon that is not there fails within two seconds, plugin start
// included.
const pingTimeout = time.Second

// settings is the docker section of ocix's configuration.
type settings struct {
	Host string `json:"host" help:"the docker daemon's address, as DOCKER_HOST (default: DOCKER_HOST, the active docker context, unix:///var/run/docker.sock)"`
}

type backend struct {
	log      hclog.Logger
	settings settings
	getenv   func(string) string
	live     *ocixcontainer.Tracker

	mu  sync.Mutex
	cli *client.Client // once the daemon has answered
}

var _ plugin.Drainer = (*backend)(nil)

// New returns the docker backend.
func New(log hclog.Logger) core.Backend {
	return &backend{log: log, getenv: os.Getenv, live: ocixcontainer.NewTracker(log)}
}

func (b *backend) ConfigSchema(context.Context) ([]core.ConfigField, error) {
	return plugin.SchemaOf(b.settings), nil
}

func (b *backend) Configure(_ context.Context, raw json.RawMessage) error {
	if err := plugin.DecodeSettings("docker", raw, &b.settings); err != nil {
		return err
	}
	if h := b.settings.Host; h != "" {
		if _, err := client.ParseHostURL(h); err != nil {
			return core.Usagef("config docker.host: %v (want unix:///path, tcp://host:port…)", err)
		}
	}
	return nil
}

// Describe says whether the daemon answers now: `ocix backends` shows why
// not, and core refuses a job on an unavailable backend with that reason.
func (b *backend) Describe(ctx context.Context) (core.Info, error) {
	info := core.Info{Name: "docker", Version: core.Version, Available: true}
	if _, err := b.connect(ctx); err != nil {
		info.Available, info.Reason = false, err.Error()
	}
	return info, nil
}

// connect returns a client that has reached the daemon and negotiated the
// API version with it. It pings with a short timeout, so an absent daemon
// is told at once, and negotiates in that ping: the client then speaks the
// daemon's version when it is older than the client's own (Debian 12's
// dockerd 20.10 speaks 1.41; the client goes down to client.MinAPIVersion,
// 1.40), and DOCKER_API_VERSION, when set, wins over both.
func (b *backend) connect(ctx context.Context) (*client.Client, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cli != nil {
		return b.cli, nil
	}
	ep, err := resolveHost(b.settings.Host, b.getenv)
	if err != nil {
		return nil, err
	}
	cli, err := newClient(ep)
	if err != nil {
		return nil, fmt.Errorf("docker host %s (from %s): %v", ep.Host, ep.From, err)
	}
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	_, err = cli.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true})
	if err != nil {
		cli.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if cerrdefs.IsInvalidArgument(err) {
			// It answered, with an API version older than the client's
			// oldest: reached, but not usable.
			return nil, fmt.Errorf("the docker daemon at %s: %v", ep.Host, err)
		}
		return nil, unreachable(ep, err)
	}
	b.log.Debug("docker daemon", "host", ep.Host, "from", ep.From, "api", cli.ClientVersion())
	b.cli = cli
	return cli, nil
}

// newClient builds a client for ep. DOCKER_CERT_PATH, DOCKER_TLS_VERIFY and
// DOCKER_API_VERSION apply as they do to the docker CLI, unless a docker
// context brings its own TLS.
func newClient(ep endpoint) (*client.Client, error) {
	var opts []client.Opt
	if ep.TLS == nil {
		opts = append(opts, client.WithTLSClientConfigFromEnv())
	} else {
		cfg, err := tlsconfig.Client(tlsconfig.Options{
			CAFile: ep.TLS.CA, CertFile: ep.TLS.Cert, KeyFile: ep.TLS.Key,
			InsecureSkipVerify: ep.TLS.SkipVerify, ExclusiveRootPools: true,
		})
		if err != nil {
			return nil, err
		}
		opts = append(opts, client.WithHTTPClient(&http.Client{
			Transport: &http.Transport{TLSClientConfig: cfg}, CheckRedirect: client.CheckRedirect,
		}))
	}
	return client.New(append(opts,
		client.WithHost(ep.Host),
		client.WithAPIVersionFromEnv(),
		client.WithUserAgent("ocix/"+core.Version),
	)...)
}

// unreachable tells in one line that the daemon did not answer, with the
// cause a user can act on. The client's own message drops the cause of a
// failed dial ("Cannot connect to the Docker daemon at …"), so the dial is
// tried once more here to learn it.
func unreachable(ep endpoint, err error) error {
	cause := err.Error()
	var opErr *net.OpError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		cause = fmt.Sprintf("no answer within %v", pingTimeout)
	case errors.As(err, &opErr):
		cause = opErr.Err.Error()
	case client.IsErrConnectionFailed(err):
		if c := dialCause(ep.Host); c != "" {
			cause = c
		}
	}
	cause, _, _ = strings.Cut(cause, "\n")
	return fmt.Errorf("cannot reach the docker daemon at %s: %s (is dockerd running? start it or set DOCKER_HOST / docker.host)", ep.Host, cause)
}

// dialCause dials host's socket and says why that fails, or "" if it works.
func dialCause(host string) string {
	u, err := url.Parse(host)
	if err != nil {
		return ""
	}
	network, addr := u.Scheme, u.Host
	if network == "unix" {
		addr = u.Path
	}
	conn, err := net.DialTimeout(network, addr, pingTimeout)
	if err != nil {
		var opErr *net.OpError
		if errors.As(err, &opErr) {
			return opErr.Err.Error()
		}
		return err.Error()
	}
	conn.Close()
	return ""
}

// daemonError tells an error of the daemon's about what (an image, a
// container) in one line, without the client's "Error response from
// daemon: " prefix; errdefs classes and context errors stay matchable.
func daemonError(what string, err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	return &engineError{what: what, err: err}
}

type engineError struct {
	what string
	err  error
}

func (e *engineError) Error() string {
	msg := strings.TrimPrefix(e.err.Error(), "Error response from daemon: ")
	msg, _, _ = strings.Cut(msg, "\n")
	return e.what + ": " + strings.TrimSpace(msg)
}

func (e *engineError) Unwrap() error { return e.err }
