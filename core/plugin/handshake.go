// Package plugin is the whole contract between ocix and its backend plugins:
// the go-plugin handshake, the plugin set, both halves of the gRPC shim, and
// Serve for a plugin's main. Core's interfaces (package core) are on one side
// of it and plugin implementations on the other; the shims only convert.
package plugin

import (
	"context"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/proto/pluginpb"
)

// ProtocolVersion is the version of proto/plugin.proto that host and plugin
// speak. go-plugin refuses a plugin built for another one.
//
//	1: ConfigSchema, Configure, Describe, ListTags, Export, Run, Cleanup;
//	   Resolve and Bundle, which older plugins answer UNIMPLEMENTED.
const ProtocolVersion = 1

// pluginKey names the one plugin every ocix plugin binary serves.
const pluginKey = "backend"

// Handshake is shared by ocix and every plugin. The cookie is not a secret:
// it only tells a binary started by hand that it is a plugin.
var Handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "OCIX_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "6f1c2b0e9d7a4c58b3e1f0a29c7d5e84b6a13f2d8c9e0f71",
}

// Set is the plugin set for go-plugin's ClientConfig and ServeConfig. On the
// host side impl is nil.
func Set(impl core.Backend) goplugin.PluginSet {
	return goplugin.PluginSet{pluginKey: &grpcPlugin{impl: impl}}
}

// Dispense returns the backend a connected go-plugin client serves.
func Dispense(c goplugin.ClientProtocol) (*Client, error) {
	raw, err := c.Dispense(pluginKey)
	if err != nil {
		return nil, err
	}
	return raw.(*Client), nil
}

type grpcPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	impl core.Backend
}

func (p *grpcPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	pluginpb.RegisterBackendServer(s, &server{impl: p.impl})
	return nil
}

func (p *grpcPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &Client{rpc: pluginpb.NewBackendClient(c)}, nil
}
