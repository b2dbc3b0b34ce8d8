// Command ocix-plugin-testkit is a plugin for tests of the plugin host and
// the CLI: it misbehaves on request. OCIX_TESTKIT_MODE picks how:
//
//	tags      list OCIX_TESTKIT_TAGS tags (default 3): tag-0, tag-1, …
//	notags    a backend without the tags capability
//	hang      ListTags blocks until cancelled
//	freeze    ListTags blocks forever, ignoring cancellation and shutdown
//	panic     ListTags panics
//	exit      ListTags exits the process with status 3
//	protocol  serve plugin protocol 99, which no ocix speaks
//	badconfig refuse any configuration
//
// OCIX_TESTKIT_PIDFILE, when set, receives the plugin's pid at start.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/core/plugin"
)

type settings struct {
	Greeting string `json:"greeting" help:"a string setting"`
	Count    int    `json:"count" help:"an int setting"`
}

type base struct {
	mode     string
	settings settings
}

func (b *base) ConfigSchema(context.Context) ([]core.ConfigField, error) {
	return plugin.SchemaOf(b.settings), nil
}

func (b *base) Configure(_ context.Context, raw json.RawMessage) error {
	if b.mode == "badconfig" {
		return core.Usagef("config testkit: refused on purpose")
	}
	return plugin.DecodeSettings("testkit", raw, &b.settings)
}

func (b *base) Describe(context.Context) (core.Info, error) {
	return core.Info{Name: "testkit", Version: core.Version, Available: true}, nil
}

// lister adds the tags capability to base.
type lister struct{ base }

func (l *lister) ListTags(ctx context.Context, req core.TagsRequest) ([]string, error) {
	switch l.mode {
	case "hang":
		<-ctx.Done()
		return nil, ctx.Err()
	case "freeze":
		select {}
	case "panic":
		panic("testkit was asked to panic")
	case "exit":
		os.Exit(3)
	}
	n, err := strconv.Atoi(os.Getenv("OCIX_TESTKIT_TAGS"))
	if err != nil {
		n = 3
	}
	tags := make([]string, n)
	for i := range tags {
		tags[i] = fmt.Sprintf("tag-%d", i)
	}
	return tags, nil
}

func main() {
	if f := os.Getenv("OCIX_TESTKIT_PIDFILE"); f != "" {
		if err := os.WriteFile(f, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			panic(err)
		}
	}
	mode := os.Getenv("OCIX_TESTKIT_MODE")
	if mode == "freeze" {
		// A frozen plugin also ignores the signals a polite stop sends.
		signal.Ignore(syscall.SIGTERM, syscall.SIGINT)
	}
	newBackend := func(hclog.Logger) core.Backend {
		if mode == "notags" {
			return &base{mode: mode}
		}
		return &lister{base{mode: mode}}
	}
	if mode == "protocol" {
		hs := plugin.Handshake
		hs.ProtocolVersion = 99
		goplugin.Serve(&goplugin.ServeConfig{
			HandshakeConfig: hs,
			Plugins:         plugin.Set(newBackend(nil)),
			GRPCServer:      goplugin.DefaultGRPCServer,
		})
		return
	}
	plugin.Serve(newBackend)
}
