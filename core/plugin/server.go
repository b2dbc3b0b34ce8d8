package plugin

import (
	"context"
	"encoding/json"
	"os"
	"sync"

	"github.com/ocix/ocix/core"
	pb "github.com/ocix/ocix/proto/pluginpb"
)

// tagsPerMessage keeps each ListTags message far below gRPC's 4 MiB default
// receive limit (a tag is at most 128 bytes).
const tagsPerMessage = 1000

// server is the plugin half of the shim: convert, call, convert back.
type server struct {
	pb.UnimplementedBackendServer
	impl core.Backend
}

func (s *server) ConfigSchema(ctx context.Context, _ *pb.ConfigSchemaRequest) (*pb.ConfigSchemaResponse, error) {
	fields, err := s.impl.ConfigSchema(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.ConfigSchemaResponse{Fields: toProtoFields(fields)}, nil
}

func (s *server) Configure(ctx context.Context, req *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	return &pb.ConfigureResponse{}, toStatus(s.impl.Configure(ctx, json.RawMessage(req.SettingsJson)))
}

func (s *server) Describe(ctx context.Context, _ *pb.DescribeRequest) (*pb.DescribeResponse, error) {
	info, err := s.impl.Describe(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	info.Capabilities = capabilitiesOf(s.impl)
	return toProtoInfo(info), nil
}

// capabilitiesOf declares what a backend can do by what it implements, so a
// plugin cannot claim a job it has no code for.
func capabilitiesOf(impl core.Backend) []core.Capability {
	var caps []core.Capability
	if _, ok := impl.(core.TagLister); ok {
		caps = append(caps, core.CapTags)
	}
	if _, ok := impl.(core.Exporter); ok {
		caps = append(caps, core.CapExport)
	}
	if _, ok := impl.(core.Runner); ok {
		caps = append(caps, core.CapRun)
	}
	return caps
}

func (s *server) ListTags(req *pb.ListTagsRequest, stream pb.Backend_ListTagsServer) error {
	lister, ok := s.impl.(core.TagLister)
	if !ok {
		return toStatus(core.ErrUnsupported)
	}
	tags, err := lister.ListTags(stream.Context(), fromProtoTagsRequest(req))
	if err != nil {
		return toStatus(err)
	}
	for len(tags) > 0 {
		n := min(len(tags), tagsPerMessage)
		if err := stream.Send(&pb.ListTagsResponse{Tags: tags[:n]}); err != nil {
			return err
		}
		tags = tags[n:]
	}
	return nil
}

func (s *server) Export(req *pb.ExportRequest, stream pb.Backend_ExportServer) error {
	exporter, ok := s.impl.(core.Exporter)
	if !ok {
		return toStatus(core.ErrUnsupported)
	}
	r := fromProtoExportRequest(req)
	if r.Tar != nil {
		// The plugin's copy of the host's file: closing it lets a reader
		// of a pipe see the end once the host closes its own.
		defer r.Tar.Close()
	}
	// Events come from the backend's goroutines; a gRPC stream takes one
	// sender at a time.
	var mu sync.Mutex
	var sendErr error
	r.Events = func(e core.Event) {
		mu.Lock()
		defer mu.Unlock()
		if sendErr == nil {
			sendErr = stream.Send(toProtoExportEvent(e))
		}
	}
	res, err := exporter.Export(stream.Context(), r)
	if err != nil {
		return toStatus(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if sendErr != nil {
		return sendErr
	}
	return stream.Send(&pb.ExportEvent{Event: &pb.ExportEvent_Result{Result: toProtoExportResult(res)}})
}

func (s *server) Run(stream pb.Backend_RunServer) error {
	runner, ok := s.impl.(core.Runner)
	if !ok {
		return toStatus(core.ErrUnsupported)
	}
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	start := first.GetStart()
	if start == nil {
		return toStatus(core.Usagef("run: the first message must be the request"))
	}
	req := fromProtoRunRequest(start)
	// The plugin's copies of the user's streams: closed when the run ends,
	// so that readers of the user's pipes see their end with the host's.
	for _, f := range []*os.File{req.Stdin, req.Stdout, req.Stderr} {
		if f != nil {
			defer f.Close()
		}
	}
	ctx := stream.Context()
	control := make(chan core.RunControl)
	req.Control = control
	go func() {
		defer close(control)
		for {
			in, err := stream.Recv()
			if err != nil {
				return
			}
			if c := in.GetControl(); c != nil {
				select {
				case control <- fromProtoRunControl(c):
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	var mu sync.Mutex
	req.Events = func(e core.Event) {
		mu.Lock()
		defer mu.Unlock()
		stream.Send(toProtoRunOutput(e))
	}
	res, err := runner.Run(ctx, req)
	if err != nil {
		return toStatus(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return stream.Send(&pb.RunOutput{Output: &pb.RunOutput_Result{Result: &pb.RunResult{ExitCode: int32(res.ExitCode)}}})
}

func (s *server) Cleanup(ctx context.Context, req *pb.CleanupRequest) (*pb.CleanupResponse, error) {
	cleaner, ok := s.impl.(core.Cleaner)
	if !ok {
		// Nothing of this backend's outlives a dead plugin.
		return &pb.CleanupResponse{}, nil
	}
	return &pb.CleanupResponse{}, toStatus(cleaner.Cleanup(ctx, req.Invocation))
}

func (s *server) Resolve(ctx context.Context, req *pb.ResolveRequest) (*pb.ResolveResponse, error) {
	resolver, ok := s.impl.(core.Resolver)
	if !ok {
		return nil, toStatus(core.ErrUnsupported)
	}
	res, err := resolver.Resolve(ctx, fromProtoResolveRequest(req))
	if err != nil {
		return nil, toStatus(err)
	}
	return toProtoResolveResult(res), nil
}

func (s *server) Bundle(ctx context.Context, req *pb.BundleRequest) (*pb.BundleResponse, error) {
	bundler, ok := s.impl.(core.Bundler)
	if !ok {
		return nil, toStatus(core.ErrUnsupported)
	}
	res, err := bundler.Bundle(ctx, fromProtoBundleRequest(req))
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.BundleResponse{Command: res.Command}, nil
}
