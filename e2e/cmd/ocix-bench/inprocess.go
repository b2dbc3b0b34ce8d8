package main

import (
	"context"
	"fmt"
	"os"

	"github.com/hashicorp/go-hclog"

	"github.com/ocix/ocix/config"
	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/core/coretest"
	"github.com/ocix/ocix/plugins/api"
)

// inProcessArg makes this program the in-process side of the dispatch
// benchmark: the same configuration, ConfigSchema, Configure and Describe
// as `ocix backends api`, with the backend linked in.
const inProcessArg = "__describe-in-process"

func describeInProcess(names []string) int {
	cfg, err := config.Load("")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	c := &core.Core{
		Loader:   &coretest.Loader{Backends: map[string]core.Backend{"api": api.New(hclog.NewNullLogger())}},
		Settings: cfg.Section,
	}
	for _, st := range c.Probe(context.Background(), names...) {
		if st.Err != nil {
			fmt.Fprintln(os.Stderr, st.Err)
			return 1
		}
		// A row like the one `ocix backends` prints.
		fmt.Printf("%s  %s  %v  %s\n", st.Name, st.Info.Version, st.Info.Available, st.Info.Reason)
	}
	return 0
}
