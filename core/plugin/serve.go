package plugin

import (
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/ocix/ocix/core"
)

// LogLevelEnv carries the host's log level to its plugins.
const LogLevelEnv = "OCIX_PLUGIN_LOG_LEVEL"

// StopGrace is how long a plugin has to exit once the host asks it to stop;
// then the host kills it. Drain must return well within it.
const StopGrace = time.Second

// Drainer is a backend with work to finish after the host stops it — the
// removal of a container cut short by Ctrl-C, say: Serve waits for Drain
// before the plugin exits. The host kills a plugin that takes longer than
// StopGrace.
type Drainer interface{ Drain() }

// Serve is a plugin's main: it serves the backend newBackend builds until the
// host disconnects, then lets it drain. The logger writes JSON to stderr, which go-plugin carries
// to the host's log: a plugin never writes to a terminal, and never to
// stdout, which is go-plugin's handshake channel.
func Serve(newBackend func(log hclog.Logger) core.Backend) {
	level := hclog.LevelFromString(os.Getenv(LogLevelEnv))
	if level == hclog.NoLevel {
		level = hclog.Warn
	}
	log := hclog.New(&hclog.LoggerOptions{Output: os.Stderr, JSONFormat: true, Level: level})
	backend := newBackend(log)
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         Set(backend),
		GRPCServer:      goplugin.DefaultGRPCServer,
		Logger:          log,
	})
	if d, ok := backend.(Drainer); ok {
		d.Drain()
	}
}
