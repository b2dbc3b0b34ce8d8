package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ocix/ocix/core"
	pb "github.com/ocix/ocix/proto/pluginpb"
)

// Client is the host half of the shim. It implements core.Backend and every
// job interface; Describe says which jobs the plugin really has, and a job it
// lacks fails with core.ErrUnsupported.
type Client struct {
	rpc    pb.BackendClient
	exited func() error
	// inherited are the files the plugin process inherited, in order; nil
	// when the plugin runs in this process.
	inherited []*os.File
}

var (
	_ core.Backend   = (*Client)(nil)
	_ core.TagLister = (*Client)(nil)
	_ core.Exporter  = (*Client)(nil)
	_ core.Runner    = (*Client)(nil)
	_ core.Cleaner   = (*Client)(nil)
	_ core.Resolver  = (*Client)(nil)
	_ core.Bundler   = (*Client)(nil)
)

// OnExit sets the check the client makes when the connection fails: it
// returns the plugin process's death as an error, or nil while it lives.
func (c *Client) OnExit(exited func() error) { c.exited = exited }

// Inherit tells the client which files the plugin process inherited (as
// fds 3, 4, …), so requests name them by the plugin's descriptors.
func (c *Client) Inherit(files []*os.File) { c.inherited = files }

// fdOf is the plugin's descriptor for f. In a plugin process, the files it
// inherited are 3, 4, … in order; a plugin in this process (tests) uses the
// file's own descriptor.
func (c *Client) fdOf(f *os.File) (int32, error) {
	if c.inherited == nil {
		return int32(f.Fd()), nil
	}
	for i, g := range c.inherited {
		if g == f {
			return int32(3 + i), nil
		}
	}
	return 0, fmt.Errorf("file %s was not handed to the plugin when it started", f.Name())
}

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

// Export runs an export and hands its events to req.Events as they come.
// It succeeds only when the plugin's result arrives: a stream that ends
// without one (a plugin that died after its last write) is a failure.
func (c *Client) Export(ctx context.Context, req core.ExportRequest) (core.ExportResult, error) {
	preq, err := c.toProtoExportRequest(req)
	if err != nil {
		return core.ExportResult{}, err
	}
	stream, err := c.rpc.Export(ctx, preq)
	if err != nil {
		return core.ExportResult{}, c.err(err)
	}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return core.ExportResult{}, c.err(fmt.Errorf("the plugin ended the export without a result"))
		}
		if err != nil {
			return core.ExportResult{}, c.err(err)
		}
		if res := msg.GetResult(); res != nil {
			return fromProtoExportResult(res), nil
		}
		if req.Events != nil {
			req.Events(fromProtoExportEvent(msg))
		}
	}
}

func (c *Client) toProtoExportRequest(r core.ExportRequest) (*pb.ExportRequest, error) {
	p := &pb.ExportRequest{
		Repository: r.Repository, Reference: r.Reference, Endpoints: toProtoEndpoints(r.Endpoints),
		Platform: toProtoPlatform(r.Platform), Include: r.Include, Dir: r.Dir, ScratchDir: r.ScratchDir,
		Invocation: r.Invocation, TarFd: -1,
	}
	if r.Tar != nil {
		fd, err := c.fdOf(r.Tar)
		if err != nil {
			return nil, err
		}
		p.TarFd = fd
	}
	return p, nil
}

// Run runs a container: the request, then req.Control's signals and sizes
// as they come, until the plugin sends the container's exit code.
func (c *Client) Run(ctx context.Context, req core.RunRequest) (core.RunResult, error) {
	start, err := c.toProtoRunRequest(req)
	if err != nil {
		return core.RunResult{}, err
	}
	stream, err := c.rpc.Run(ctx)
	if err != nil {
		return core.RunResult{}, c.err(err)
	}
	if err := stream.Send(&pb.RunInput{Input: &pb.RunInput_Start{Start: start}}); err != nil {
		return core.RunResult{}, c.err(err)
	}
	if req.Control != nil {
		go func() {
			for ctl := range req.Control {
				if stream.Send(&pb.RunInput{Input: &pb.RunInput_Control{Control: toProtoRunControl(ctl)}}) != nil {
					return
				}
			}
		}()
	}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return core.RunResult{}, c.err(fmt.Errorf("the plugin ended the run without a result"))
		}
		if err != nil {
			return core.RunResult{}, c.err(err)
		}
		if res := msg.GetResult(); res != nil {
			return core.RunResult{ExitCode: int(res.ExitCode)}, nil
		}
		if req.Events != nil {
			req.Events(fromProtoRunOutput(msg))
		}
	}
}

func (c *Client) Cleanup(ctx context.Context, invocation string) error {
	_, err := c.rpc.Cleanup(ctx, &pb.CleanupRequest{Invocation: invocation})
	return c.err(err)
}

func (c *Client) toProtoRunRequest(r core.RunRequest) (*pb.RunRequest, error) {
	p := toProtoRunRequest(r)
	var err error
	fd := func(f *os.File) int32 {
		if f == nil || err != nil {
			return -1
		}
		var n int32
		n, err = c.fdOf(f)
		return n
	}
	p.StdinFd, p.StdoutFd, p.StderrFd = fd(r.Stdin), fd(r.Stdout), fd(r.Stderr)
	return p, err
}

func (c *Client) Resolve(ctx context.Context, req core.ResolveRequest) (core.ResolveResult, error) {
	r, err := c.rpc.Resolve(ctx, toProtoResolveRequest(req))
	if err != nil {
		return core.ResolveResult{}, c.err(err)
	}
	return fromProtoResolveResult(r), nil
}

func (c *Client) Bundle(ctx context.Context, req core.BundleRequest) (core.BundleResult, error) {
	r, err := c.rpc.Bundle(ctx, toProtoBundleRequest(req))
	if err != nil {
		return core.BundleResult{}, c.err(err)
	}
	return core.BundleResult{Command: r.Command}, nil
}
