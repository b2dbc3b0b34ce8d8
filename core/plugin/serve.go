package plugin

import (
	"os"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/ocix/ocix/core"
)

// LogLevelEnv carries the host's log level to its plugins.
const LogLevelEnv = "OCIX_PLUGIN_LOG_LEVEL"

// Serve is a plugin's main: it serves the backend newBackend builds until the
// host disconnects. The logger writes JSON to stderr, which go-plugin carries
// to the host's log: a plugin never writes to a terminal, and never to
// stdout, which is go-plugin's handshake channel.
func Serve(newBackend func(log hclog.Logger) core.Backend) {
	level := hclog.LevelFromString(os.Getenv(LogLevelEnv))
	if level == hclog.NoLevel {
		level = hclog.Warn
	}
	log := hclog.New(&hclog.LoggerOptions{Output: os.Stderr, JSONFormat: true, Level: level})
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         Set(newBackend(log)),
		GRPCServer:      goplugin.DefaultGRPCServer,
		Logger:          log,
	})
}
