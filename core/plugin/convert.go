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
		Available: i.Available, Reason: i.Reason,
	}
}

func fromProtoInfo(r *pb.DescribeResponse) core.Info {
	info := core.Info{Name: r.Name, Version: r.Version, Available: r.Available, Reason: r.Reason}
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
	}
	if r.TarFd >= 0 && r.Dir == "" {
		req.Tar = os.NewFile(uintptr(r.TarFd), "export-output")
	}
	return req
}

func toProtoExportEvent(e core.ExportEvent) *pb.ExportEvent {
	if e.Progress != nil {
		p := e.Progress
		return &pb.ExportEvent{Event: &pb.ExportEvent_Progress{Progress: &pb.Progress{
			Layer: int32(p.Layer), Layers: int32(p.Layers), Digest: p.Digest, Done: p.Done, Total: p.Total,
		}}}
	}
	return &pb.ExportEvent{Event: &pb.ExportEvent_Warning{Warning: e.Warning}}
}

func fromProtoExportEvent(e *pb.ExportEvent) core.ExportEvent {
	if p := e.GetProgress(); p != nil {
		return core.ExportEvent{Progress: &core.Progress{
			Layer: int(p.Layer), Layers: int(p.Layers), Digest: p.Digest, Done: p.Done, Total: p.Total,
		}}
	}
	return core.ExportEvent{Warning: e.GetWarning()}
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
