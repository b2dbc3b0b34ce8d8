package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"io"

	"github.com/ocix/ocix/core"
	pb "github.com/ocix/ocix/proto/pluginpb"
)

// Client is the host half of the shim. It implements core.Backend and every
// job interface; Describe says which jobs the plugin really has, and a job it
// lacks fails with core.ErrUnsupported.
type Client struct {
	rpc    pb.BackendClient
	exited func() error
}

var (
	_ core.Backend   = (*Client)(nil)
	_ core.TagLister = (*Client)(nil)
)

// OnExit sets the check the client makes when the connection fails: it
// returns the plugin process's death as an error, or nil while it lives.
func (c *Client) OnExit(exited func() error) { c.exited = exited }

func (c *Client) err(err error) error { return fromStatus(err, c.exited) }

func (c *Client) ConfigSchema(ctx context.Context) ([]core.ConfigField, error) {
	r, err := c.rpc.ConfigSchema(ctx, &pb.ConfigSchemaRequest{})
	if err != nil {
		return nil, c.err(err)
	}
	return fromProtoFields(r.Fields), nil
}

func (c *Client) Configure(ctx context.Context, settings json.RawMessage) error {
	_, err := c.rpc.Configure(ctx, &pb.ConfigureRequest{SettingsJson: settings})
	return c.err(err)
}

func (c *Client) Describe(ctx context.Context) (core.Info, error) {
	r, err := c.rpc.Describe(ctx, &pb.DescribeRequest{})
	if err != nil {
		return core.Info{}, c.err(err)
	}
	return fromProtoInfo(r), nil
}

func (c *Client) ListTags(ctx context.Context, req core.TagsRequest) ([]string, error) {
	stream, err := c.rpc.ListTags(ctx, toProtoTagsRequest(req))
	if err != nil {
		return nil, c.err(err)
	}
	var tags []string
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return tags, nil
		}
		if err != nil {
			return nil, c.err(err)
		}
		tags = append(tags, msg.Tags...)
	}
}
