// Command ocix-plugin-podman serves ocix's podman backend; ocix starts it.
// It is built from the plugins/podman module, with podman's build tags
// (see the Makefile).
package main

import (
	"github.com/ocix/ocix/core/plugin"
	"github.com/ocix/ocix/plugins/podman"
)

func main() { plugin.Serve(podman.New) }
