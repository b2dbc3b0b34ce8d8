// Package api is the api backend: the OCI distribution HTTP API spoken
// directly (GET /v2/<name>/tags/list, manifests and blobs), with no daemon
// and no registry library. It lists tags and exports root filesystems,
// applying the layers itself as they download.
package api

import (
	"context"
	"encoding/json"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/core/plugin"
	"github.com/ocix/ocix/plugins/api/registry"
	"github.com/ocix/ocix/plugins/internal/credentials"
	"github.com/ocix/ocix/plugins/internal/registries"
)

// settings is the api section of ocix's configuration.
type settings struct {
	MaxPages       int             `json:"max-pages" help:"most tag-list pages followed before giving up (default 10000)"`
	Retries        int             `json:"retries" help:"retries of a request answered 429 or 5xx, or cut off (default 5)"`
	RequestTimeout plugin.Duration `json:"request-timeout" help:"longest wait for an answer's headers, or for any part of its body (default 30s)"`
}

type backend struct {
	log      hclog.Logger
	settings settings
	client   *registry.Client
}

// New returns the api backend, ready to work with the default settings
// even if Configure is never called.
func New(log hclog.Logger) core.Backend {
	b := &backend{log: log, settings: settings{
		MaxPages:       10000,
		Retries:        5,
		RequestTimeout: plugin.Duration(30 * time.Second),
	}}
	b.client = b.newClient()
	return b
}

func (b *backend) ConfigSchema(context.Context) ([]core.ConfigField, error) {
	return plugin.SchemaOf(b.settings), nil
}

func (b *backend) Configure(_ context.Context, raw json.RawMessage) error {
	if err := plugin.DecodeSettings("api", raw, &b.settings); err != nil {
		return err
	}
	switch {
	case b.settings.MaxPages < 1:
		return core.Usagef("config api.max-pages: want at least 1, got %d", b.settings.MaxPages)
	case b.settings.Retries < 0:
		return core.Usagef("config api.retries: want 0 or more, got %d", b.settings.Retries)
	case b.settings.RequestTimeout <= 0:
		return core.Usagef("config api.request-timeout: want a positive duration")
	}
	b.client = b.newClient()
	return nil
}

func (b *backend) newClient() *registry.Client {
	return registry.New(registry.Options{
		Log:            b.log,
		UserAgent:      "ocix/" + core.Version,
		Credentials:    credentials.Default(),
		Retries:        b.settings.Retries,
		RequestTimeout: time.Duration(b.settings.RequestTimeout),
		MaxPages:       b.settings.MaxPages,
	})
}

func (b *backend) Describe(context.Context) (core.Info, error) {
	// The api backend needs nothing but the network: always available.
	return core.Info{Name: "api", Version: core.Version, Available: true}, nil
}

// ListTags asks each endpoint in turn, mirrors first, for every page.
func (b *backend) ListTags(ctx context.Context, req core.TagsRequest) ([]string, error) {
	return registries.Try(ctx, req.Endpoints, b.log, func(ep core.Endpoint) ([]string, error) {
		return b.client.ListTags(ctx, ep, req.Repository)
	})
}
