package core

// Version is ocix's version, shared by the host and every plugin built with
// it; `make build` sets it from git describe.
var Version = "dev"
