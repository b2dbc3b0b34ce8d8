// Package core is the backend-blind orchestrator of ocix: the interfaces a
// backend implements, one per job, the request and result types they take,
// and the dispatch that picks a backend and checks it can do the job.
//
// Core knows no backend by name. Backends live in plugins (see core/plugin
// for the wire contract and core/pluginhost for how they are found and run).
package core

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
)

// Capability names one job a backend can do.
type Capability string

const (
	CapTags   Capability = "tags"
	CapExport Capability = "export"
	CapRun    Capability = "run"
)

// AllCapabilities lists every job, in the order they are shown.
var AllCapabilities = []Capability{CapTags, CapExport, CapRun}

// verb is how error messages name a job: `backend "runc" cannot list tags`.
func (c Capability) verb() string {
	switch c {
	case CapTags:
		return "list tags"
	case CapExport:
		return "export a root filesystem"
	case CapRun:
		return "run containers"
	}
	return string(c)
}

// Info is what a backend says about itself.
type Info struct {
	Name         string
	Version      string
	Capabilities []Capability
	// Available is false when the backend cannot work on this host right
	// now (daemon not reachable, binary missing); Reason says why in one line.
	Available bool
	Reason    string
	// NeedsRootfs says a run backend takes a root filesystem and image
	// config from core (runc) instead of pulling the image itself.
	NeedsRootfs bool
}

// Has reports whether the backend declared capability c.
func (i Info) Has(c Capability) bool { return slices.Contains(i.Capabilities, c) }

// ConfigField is one key of a backend's configuration section.
type ConfigField struct {
	Key  string
	Type string // string, bool, int, duration or strings
	Help string
	// Default is the value used when the key is not set, as JSON.
	Default json.RawMessage
}

// Backend is what every backend has, whatever jobs it can do. The jobs are
// the optional interfaces TagLister, Exporter and Runner (with their own
// optional parts Resolver, Bundler and Cleaner): a plugin's capabilities
// are the jobs its implementation has (the plugin server finds them by type
// assertion), and the host sees them in Info.Capabilities, which is what
// core checks before it hands a backend a job (see openFor).
//
// The host calls ConfigSchema, then Configure once, then anything else.
type Backend interface {
	// ConfigSchema lists the keys of the backend's configuration section.
	ConfigSchema(ctx context.Context) ([]ConfigField, error)
	// Configure hands the backend its configuration section as a JSON
	// object. The backend refuses unknown keys and wrong types.
	Configure(ctx context.Context, settings json.RawMessage) error
	// Describe says who the backend is and whether it can work on this
	// host right now, as configured.
	Describe(ctx context.Context) (Info, error)
}

// Endpoint is one registry to ask for a repository: mirrors come first and
// the repository's own registry last.
type Endpoint struct {
	// Registry is the registry's name as users write it ("docker.io"):
	// credentials are looked up under it.
	Registry string
	// Host is host[:port] to connect to ("registry-1.docker.io").
	Host string
	// Insecure allows plain HTTP or unverified TLS for a non-loopback host.
	// Loopback registries always use plain HTTP, as docker and crane do.
	Insecure bool
}

// Event is progress or a warning from a job under way: an export, or the
// pull before a run.
type Event struct {
	Progress *Progress
	Warning  string
}

// Progress is one layer's state: Layer of Layers (from 0), Done of Total
// bytes (Total 0 when unknown). Layer -1 is the whole image.
type Progress struct {
	Layer, Layers int
	Digest        string
	Done, Total   int64
}

// ParseCapability turns a user's or the wire's name into a Capability.
func ParseCapability(s string) (Capability, bool) {
	c := Capability(strings.ToLower(s))
	return c, slices.Contains(AllCapabilities, c)
}
