package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ocix/ocix/config"
	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/core/pluginhost"
	"github.com/ocix/ocix/core/rootfs"
)

// GlobalFlags are the flags every command takes.
type GlobalFlags struct {
	Backend    string
	Platform   string
	Insecure   bool
	ConfigFile string
	Format     string
	Debug      bool
	PluginDir  string
	// Timeout bounds the whole command; 0 is none.
	Timeout time.Duration
}

// Factory holds what commands share: streams, global flags, and — built on
// first use — the configuration and the core with its plugin host. Tests
// set Config and Core before running a command.
type Factory struct {
	Streams Streams
	Flags   GlobalFlags
	Config  *config.Config
	Core    *core.Core
	// Signals routes Ctrl-C: to cancel the command, or to a job that
	// forwards it (run). Nil in tests.
	Signals *core.Signals

	host *pluginhost.Host
	// cancelTimeout releases --timeout's deadline.
	cancelTimeout context.CancelFunc
	warned        sync.Map
}

// Setup loads the configuration and builds the core, unless a test did.
func (f *Factory) Setup(flagsChanged func(name string) bool) error {
	if f.Config == nil {
		path := f.Flags.ConfigFile
		if path == "" {
			path = os.Getenv(config.EnvPrefix + "_CONFIG")
		}
		cfg, err := config.Load(path)
		if err != nil {
			return err
		}
		if flagsChanged("plugin-dir") {
			cfg.PluginDir = f.Flags.PluginDir
		}
		f.Config = cfg
	}
	if f.Core == nil {
		f.host = &pluginhost.Host{
			Finder: pluginhost.Finder{
				PluginDir: f.Config.PluginDir,
				SelfDir:   selfDir(),
				Path:      os.Getenv("PATH"),
				Warn:      f.Warn,
			},
			Log: f.logger(),
		}
		f.Core = &core.Core{Loader: f.host, Settings: f.Config.Section}
	}
	return nil
}

// UseRootfs gives the core its provider of root filesystems for runtime
// backends (runc): ocix's image cache, filled by the rootfs-from backend
// (--rootfs-from, else the configured export backend — not --backend,
// which names the run backend here), asking the registry as pull says. A
// provider a test set is kept.
func (f *Factory) UseRootfs(from, pull string) error {
	policy, err := rootfs.ParsePolicy(pull)
	if err != nil {
		return err
	}
	if f.Core.Rootfs != nil {
		return nil
	}
	if from == "" {
		from = f.Config.Backends[core.CapExport]
	}
	f.Core.Rootfs = f.Cache(rootfs.FromBackend(f.Core, from), policy)
	return nil
}

// Cache is ocix's image cache in cache.dir.
func (f *Factory) Cache(src rootfs.Source, pull rootfs.Policy) *rootfs.Cache {
	return rootfs.New(rootfs.Options{Dir: f.Config.CacheDir, Source: src, Pull: pull, Log: f.logger()})
}

// Close stops every plugin this command started.
func (f *Factory) Close() {
	if f.host != nil {
		f.host.Close()
	}
	if f.cancelTimeout != nil {
		f.cancelTimeout()
	}
}

// BackendFor is the backend for a job: --backend, else the configured one.
func (f *Factory) BackendFor(job core.Capability) string {
	if f.Flags.Backend != "" {
		return f.Flags.Backend
	}
	return f.Config.Backends[job]
}

// Registries is how registries are reached for this command.
func (f *Factory) Registries() core.Registries {
	r := f.Config.Registries
	r.AllInsecure = f.Flags.Insecure
	return r
}

// Warn prints a warning once per command.
func (f *Factory) Warn(msg string) {
	if _, seen := f.warned.LoadOrStore(msg, true); !seen {
		fmt.Fprintln(f.Streams.Err, "ocix: warning: "+msg)
	}
}

// logger is the debug log of --debug, nil otherwise.
func (f *Factory) logger() hclog.Logger {
	if !f.Flags.Debug {
		return nil
	}
	return hclog.New(&hclog.LoggerOptions{Name: "ocix", Output: f.Streams.Err, Level: hclog.Debug})
}

func selfDir() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	return filepath.Dir(exe)
}

// ctxOrBackground keeps commands callable from tests without a context.
func ctxOrBackground(ctx context.Context) context.Context {
	if ctx == nil {
		return context.Background()
	}
	return ctx
}
