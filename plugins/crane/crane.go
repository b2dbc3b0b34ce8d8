// Package crane is the crane backend: go-containerregistry, the library
// behind `crane`, doing each job its own way, so what ocix shows is what
// crane really gives.
package crane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/hashicorp/go-hclog"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/core/plugin"
	"github.com/ocix/ocix/plugins/internal/registries"
)

// settings is the crane section of ocix's configuration.
type settings struct {
	Jobs           int             `json:"jobs" help:"concurrent requests, as crane -j (default 4)"`
	RequestTimeout plugin.Duration `json:"request-timeout" help:"longest wait for an answer's headers, or for any part of its body (default 30s)"`
}

type backend struct {
	log      hclog.Logger
	settings settings
}

// New returns the crane backend.
func New(log hclog.Logger) core.Backend {
	return &backend{log: log, settings: settings{Jobs: 4, RequestTimeout: plugin.Duration(30 * time.Second)}}
}

func (b *backend) ConfigSchema(context.Context) ([]core.ConfigField, error) {
	return plugin.SchemaOf(b.settings), nil
}

func (b *backend) Configure(_ context.Context, raw json.RawMessage) error {
	if err := plugin.DecodeSettings("crane", raw, &b.settings); err != nil {
		return err
	}
	switch {
	case b.settings.Jobs < 1:
		return core.Usagef("config crane.jobs: want at least 1, got %d", b.settings.Jobs)
	case b.settings.RequestTimeout <= 0:
		return core.Usagef("config crane.request-timeout: want a positive duration")
	}
	return nil
}

func (b *backend) Describe(context.Context) (core.Info, error) {
	// crane needs no daemon and no binary: it is always available.
	return core.Info{Name: "crane", Version: core.Version, Available: true}, nil
}

// ListTags lists tags as `crane ls` does (remote.List: crane's page size,
// its /v2/ ping, its retries), with docker's and podman's credentials.
func (b *backend) ListTags(ctx context.Context, req core.TagsRequest) ([]string, error) {
	return registries.Try(ctx, req.Endpoints, b.log, func(ep core.Endpoint) ([]string, error) {
		repo, err := b.repository(ep, req.Repository)
		if err != nil {
			return nil, err
		}
		tags, err := remote.List(repo, b.options(ctx)...)
		if err != nil {
			return nil, translate(ep, req.Repository, err)
		}
		return tags, nil
	})
}

// repository names the repository on ep. ggcr maps docker.io to Docker
// Hub's API host itself and finds Hub credentials under that name.
func (b *backend) repository(ep core.Endpoint, path string) (name.Repository, error) {
	var opts []name.Option
	if ep.Insecure {
		opts = append(opts, name.Insecure)
	}
	repo, err := name.NewRepository(ep.Registry+"/"+path, opts...)
	if err != nil {
		return name.Repository{}, core.Usagef("invalid repository %s/%s: %v", ep.Registry, path, err)
	}
	return repo, nil
}

func (b *backend) options(ctx context.Context) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithJobs(b.settings.Jobs),
		remote.WithUserAgent("ocix/" + core.Version),
		remote.WithTransport(b.transport()),
	}
}

// transport is ggcr's default transport with the one limit crane lacks: a
// stalled registry — no headers, or a body that stops midway — fails the
// request after request-timeout instead of hanging until Ctrl-C. crane's
// own retries and everything else stay as crane has them.
func (b *backend) transport() http.RoundTripper {
	t := remote.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = time.Duration(b.settings.RequestTimeout)
	return &idleTransport{base: t, idle: time.Duration(b.settings.RequestTimeout)}
}

// idleTransport ends a response body that brings nothing for idle.
type idleTransport struct {
	base http.RoundTripper
	idle time.Duration
}

func (t *idleTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	registries.WatchIdle(resp, t.idle, cancel)
	return resp, nil
}

// translate tells ggcr's errors in ocix's one-line style.
func translate(ep core.Endpoint, path string, err error) error {
	var terr *transport.Error
	switch {
	case errors.As(err, &terr):
		e := &registries.Error{Repository: ep.Registry + "/" + path, Status: terr.StatusCode}
		for _, d := range terr.Errors {
			e.Codes = append(e.Codes, registries.ErrorCode{Code: string(d.Code), Message: d.Message})
		}
		if terr.StatusCode == 0 {
			e.Status = http.StatusInternalServerError
		}
		return e
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case registries.IsNetwork(err):
		return registries.ExchangeError(ep.Host, err)
	case errors.As(err, new(syscall.Errno)):
		// A file of crane's flattened stream that could not be written
		// (a hard link to a file crane dropped): the applier's message
		// names the entry.
		return fmt.Errorf("crane: applying its flattened stream: %w", err)
	}
	// Not the network's: a digest that does not verify, a manifest that
	// does not parse. ggcr's message says which.
	return fmt.Errorf("%s/%s: %v", ep.Registry, path, err)
}
