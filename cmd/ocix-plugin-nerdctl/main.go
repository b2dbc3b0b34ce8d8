// Command ocix-plugin-nerdctl serves ocix's nerdctl backend; ocix starts it.
package main

import (
	"github.com/ocix/ocix/core/plugin"
	"github.com/ocix/ocix/plugins/nerdctl"
)

func main() { plugin.Serve(nerdctl.New) }
