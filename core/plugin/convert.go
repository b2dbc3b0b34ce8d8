package plugin

import (
	"encoding/json"
	"os"

	"github.com/ocix/ocix/core"
	pb "github.com/ocix/ocix/proto/pluginpb"
)

// One function per message and direction; no logic beyond the mapping.

var capabilityToProto = map[core.Capability]pb.Capability{
	core.CapTags:   pb.Capability_CAPABILITY_TAGS,
	core.CapExport: pb.Capability_CAPABILITY_EXPORT,
	core.CapRun:    pb.Capability_CAPABILITY_RUN,
}

func toProtoInfo(i core.Info) *pb.DescribeResponse {
	caps := make([]pb.Capability, 0, len(i.Capabilities))
	for _, c := range i.Capabilities {
		caps = append(caps, capabilityToProto[c])
	}
	return &pb.DescribeResponse{
		Name: i.Name, Version: i.Version, Capabilities: caps,
		Available: i.Available, Reason: i.Reason, NeedsRootfs: i.NeedsRootfs,
	}
}

func fromProtoInfo(r *pb.DescribeResponse) core.Info {
	info := core.Info{Name: r.Name, Version: r.Version, Available: r.Available, Reason: r.Reason, NeedsRootfs: r.NeedsRootfs}
	for _, pc := range r.Capabilities {
		for c, p := range capabilityToProto {
			if p == pc {
				info.Capabilities = append(info.Capabilities, c)
			}
		}
	}
	return info
}

func toProtoFields(fs []core.ConfigField) []*pb.ConfigField {
	out := make([]*pb.ConfigField, len(fs))
	for i, f := range fs {
		out[i] = &pb.ConfigField{Key: f.Key, Type: f.Type, Help: f.Help, DefaultJson: string(f.Default)}
	}
	return out
}

func fromProtoFields(fs []*pb.ConfigField) []core.ConfigField {
	out := make([]core.ConfigField, len(fs))
	for i, f := range fs {
		out[i] = core.ConfigField{Key: f.Key, Type: f.Type, Help: f.Help}
		if f.DefaultJson != "" {
			out[i].Default = json.RawMessage(f.DefaultJson)
		}
	}
	return out
}

func toProtoEndpoints(eps []core.Endpoint) []*pb.Endpoint {
	out := make([]*pb.Endpoint, len(eps))
	for i, e := range eps {
		out[i] = &pb.Endpoint{Registry: e.Registry, Host: e.Host, Insecure: e.Insecure}
	}
	return out
}

func fromProtoEndpoints(eps []*pb.Endpoint) []core.Endpoint {
	out := make([]core.Endpoint, len(eps))
	for i, e := range eps {
		out[i] = core.Endpoint{Registry: e.Registry, Host: e.Host, Insecure: e.Insecure}
	}
	return out
}

func toProtoTagsRequest(r core.TagsRequest) *pb.ListTagsRequest {
	return &pb.ListTagsRequest{Repository: r.Repository, Endpoints: toProtoEndpoints(r.Endpoints)}
}

func fromProtoTagsRequest(r *pb.ListTagsRequest) core.TagsRequest {
	return core.TagsRequest{Repository: r.Repository, Endpoints: fromProtoEndpoints(r.Endpoints)}
}

func toProtoPlatform(p core.Platform) *pb.Platform {
	return &pb.Platform{Os: p.OS, Architecture: p.Architecture, Variant: p.Variant}
}

func fromProtoPlatform(p *pb.Platform) core.Platform {
	return core.Platform{OS: p.GetOs(), Architecture: p.GetArchitecture(), Variant: p.GetVariant()}
}

// fromProtoExportRequest builds the plugin's request; the tar descriptor,
// one this process inherited, becomes a file.
func fromProtoExportRequest(r *pb.ExportRequest) core.ExportRequest {
	req := core.ExportRequest{
		Repository: r.Repository, Reference: r.Reference, Endpoints: fromProtoEndpoints(r.Endpoints),
		Platform: fromProtoPlatform(r.Platform), Include: r.Include, Dir: r.Dir, ScratchDir: r.ScratchDir,
		Invocation: r.Invocation,
	}
	if r.TarFd >= 0 && r.Dir == "" {
		req.Tar = os.NewFile(uintptr(r.TarFd), "export-output")
	}
	return req
}

func toProtoExportEvent(e core.Event) *pb.ExportEvent {
	if e.Progress != nil {
		p := e.Progress
		return &pb.ExportEvent{Event: &pb.ExportEvent_Progress{Progress: &pb.Progress{
			Layer: int32(p.Layer), Layers: int32(p.Layers), Digest: p.Digest, Done: p.Done, Total: p.Total,
		}}}
	}
	return &pb.ExportEvent{Event: &pb.ExportEvent_Warning{Warning: e.Warning}}
}

func fromProtoExportEvent(e *pb.ExportEvent) core.Event {
	if p := e.GetProgress(); p != nil {
		return core.Event{Progress: &core.Progress{
			Layer: int(p.Layer), Layers: int(p.Layers), Digest: p.Digest, Done: p.Done, Total: p.Total,
		}}
	}
	return core.Event{Warning: e.GetWarning()}
}

func toProtoExportResult(r core.ExportResult) *pb.ExportResult {
	return &pb.ExportResult{
		Digest: r.Digest, Config: r.Config, Platform: toProtoPlatform(r.Platform),
		Entries: r.Entries, Bytes: r.Bytes, TarDigest: r.TarDigest,
	}
}

func fromProtoExportResult(r *pb.ExportResult) core.ExportResult {
	return core.ExportResult{
		Digest: r.Digest, Config: r.Config, Platform: fromProtoPlatform(r.Platform),
		Entries: r.Entries, Bytes: r.Bytes, TarDigest: r.TarDigest,
	}
}

// toProtoRunRequest converts all but the streams, which need the client's
// descriptor numbering.
func toProtoRunRequest(r core.RunRequest) *pb.RunRequest {
	mounts := make([]*pb.Mount, len(r.Mounts))
	for i, m := range r.Mounts {
		mounts[i] = &pb.Mount{Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly}
	}
	return &pb.RunRequest{
		Image: r.Image, Repository: r.Repository, Reference: r.Reference,
		Endpoints: toProtoEndpoints(r.Endpoints), Platform: toProtoPlatform(r.Platform),
		EntrypointSet: r.Entrypoint != nil, Entrypoint: r.Entrypoint, Args: r.Args, Env: r.Env,
		Workdir: r.Workdir, User: r.User, Hostname: r.Hostname, ReadOnly: r.ReadOnly, Mounts: mounts,
		Network: r.Network, Interactive: r.Interactive, Tty: r.TTY, Size: toProtoSize(r.Size), Keep: r.Keep,
		Invocation: r.Invocation, Rootfs: r.Rootfs, ImageConfig: r.ImageConfig, ScratchDir: r.ScratchDir,
		StdinFd: -1, StdoutFd: -1, StderrFd: -1,
	}
}

// fromProtoRunRequest builds the plugin's request; the descriptors, ones
// this process inherited, become files.
func fromProtoRunRequest(r *pb.RunRequest) core.RunRequest {
	mounts := make([]core.Mount, len(r.Mounts))
	for i, m := range r.Mounts {
		mounts[i] = core.Mount{Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly}
	}
	req := core.RunRequest{
		Image: r.Image, Repository: r.Repository, Reference: r.Reference,
		Endpoints: fromProtoEndpoints(r.Endpoints), Platform: fromProtoPlatform(r.Platform),
		Args: r.Args, Env: r.Env, Workdir: r.Workdir, User: r.User, Hostname: r.Hostname,
		ReadOnly: r.ReadOnly, Mounts: mounts, Network: r.Network, Interactive: r.Interactive,
		TTY: r.Tty, Size: fromProtoSize(r.Size), Keep: r.Keep, Invocation: r.Invocation,
		Rootfs: r.Rootfs, ImageConfig: r.ImageConfig, ScratchDir: r.ScratchDir,
		Stdin: inherited(r.StdinFd, "stdin"), Stdout: inherited(r.StdoutFd, "stdout"), Stderr: inherited(r.StderrFd, "stderr"),
	}
	if r.EntrypointSet {
		req.Entrypoint = append([]string{}, r.Entrypoint...)
	}
	return req
}

func inherited(fd int32, name string) *os.File {
	if fd < 0 {
		return nil
	}
	return os.NewFile(uintptr(fd), name)
}

func toProtoSize(s core.TerminalSize) *pb.TerminalSize {
	return &pb.TerminalSize{Rows: uint32(s.Rows), Cols: uint32(s.Cols)}
}

func fromProtoSize(s *pb.TerminalSize) core.TerminalSize {
	return core.TerminalSize{Rows: uint16(s.GetRows()), Cols: uint16(s.GetCols())}
}

func toProtoRunControl(c core.RunControl) *pb.RunControl {
	p := &pb.RunControl{Signal: c.Signal}
	if c.Resize != nil {
		p.Resize = toProtoSize(*c.Resize)
	}
	return p
}

func fromProtoRunControl(c *pb.RunControl) core.RunControl {
	ctl := core.RunControl{Signal: c.Signal}
	if c.Resize != nil {
		s := fromProtoSize(c.Resize)
		ctl.Resize = &s
	}
	return ctl
}

func toProtoRunOutput(e core.Event) *pb.RunOutput {
	ev := toProtoExportEvent(e)
	if p := ev.GetProgress(); p != nil {
		return &pb.RunOutput{Output: &pb.RunOutput_Progress{Progress: p}}
	}
	return &pb.RunOutput{Output: &pb.RunOutput_Warning{Warning: ev.GetWarning()}}
}

func fromProtoRunOutput(o *pb.RunOutput) core.Event {
	if p := o.GetProgress(); p != nil {
		return fromProtoExportEvent(&pb.ExportEvent{Event: &pb.ExportEvent_Progress{Progress: p}})
	}
	return core.Event{Warning: o.GetWarning()}
}

func toProtoResolveRequest(r core.ResolveRequest) *pb.ResolveRequest {
	return &pb.ResolveRequest{
		Repository: r.Repository, Reference: r.Reference, Endpoints: toProtoEndpoints(r.Endpoints),
		Platform: toProtoPlatform(r.Platform),
	}
}

func fromProtoResolveRequest(r *pb.ResolveRequest) core.ResolveRequest {
	return core.ResolveRequest{
		Repository: r.Repository, Reference: r.Reference, Endpoints: fromProtoEndpoints(r.Endpoints),
		Platform: fromProtoPlatform(r.Platform),
	}
}

func toProtoResolveResult(r core.ResolveResult) *pb.ResolveResponse {
	return &pb.ResolveResponse{Digest: r.Digest, Platform: toProtoPlatform(r.Platform)}
}

func fromProtoResolveResult(r *pb.ResolveResponse) core.ResolveResult {
	return core.ResolveResult{Digest: r.Digest, Platform: fromProtoPlatform(r.Platform)}
}

// toProtoBundleRequest converts a bundle request, whose run has no streams.
func toProtoBundleRequest(r core.BundleRequest) *pb.BundleRequest {
	return &pb.BundleRequest{Run: toProtoRunRequest(r.Run), Dir: r.Dir, Path: r.Path}
}

func fromProtoBundleRequest(r *pb.BundleRequest) core.BundleRequest {
	return core.BundleRequest{Run: fromProtoRunRequest(r.GetRun()), Dir: r.Dir, Path: r.Path}
}
