// Command ocix-plugin-docker serves ocix's docker backend; ocix starts it.
package main

import (
	"github.com/ocix/ocix/core/plugin"
	"github.com/ocix/ocix/plugins/docker"
)

func main() { plugin.Serve(docker.New) }
