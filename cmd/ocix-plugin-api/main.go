// Command ocix-plugin-api serves ocix's api backend; ocix starts it.
package main

import (
	"github.com/ocix/ocix/core/plugin"
	"github.com/ocix/ocix/plugins/api"
)

func main() { plugin.Serve(api.New) }
