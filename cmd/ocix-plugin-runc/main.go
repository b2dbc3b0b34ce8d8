// Command ocix-plugin-runc serves ocix's runc backend; ocix starts it.
package main

import (
	"github.com/ocix/ocix/core/plugin"
	"github.com/ocix/ocix/plugins/runc"
)

func main() { plugin.Serve(runc.New) }
