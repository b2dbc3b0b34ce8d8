package core

import (
	"slices"

	"github.com/ocix/ocix/core/reference"
)

// Registries is how the user wants registries reached, from the
// configuration's `registries` section and the --insecure flag.
type Registries struct {
	// Insecure lists host[:port]s that may use plain HTTP or unverified TLS.
	Insecure []string
	// Mirrors maps a registry name to mirrors tried before it, in order, as
	// containers-registries.conf and dockerd's registry-mirrors do.
	Mirrors map[string][]string
	// AllInsecure is the --insecure flag: every registry of this command may
	// use plain HTTP or unverified TLS.
	AllInsecure bool
}

// Endpoints lists where to ask for a repository of registry: its mirrors
// first, then the registry itself.
func (r Registries) Endpoints(registry string) []Endpoint {
	var eps []Endpoint
	for _, m := range r.Mirrors[registry] {
		eps = append(eps, Endpoint{Registry: m, Host: m, Insecure: r.insecure(m)})
	}
	host := reference.Host(registry)
	return append(eps, Endpoint{Registry: registry, Host: host, Insecure: r.insecure(registry) || r.insecure(host)})
}

func (r Registries) insecure(host string) bool {
	return r.AllInsecure || slices.Contains(r.Insecure, host)
}
