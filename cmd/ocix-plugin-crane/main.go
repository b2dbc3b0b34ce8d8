// Command ocix-plugin-crane serves ocix's crane backend; ocix starts it.
package main

import (
	"github.com/ocix/ocix/core/plugin"
	"github.com/ocix/ocix/plugins/crane"
)

func main() { plugin.Serve(crane.New) }
