package plugin

import (
	"encoding/json"

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
