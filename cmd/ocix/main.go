// Command ocix lists tags, exports root filesystems and runs containers the
// same way whichever container tool a host has.
package main

import (
	"os"

	"github.com/ocix/ocix/cmd/ocix/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.SystemStreams()))
}
