// Package pluginhost finds backend plugins, runs them as child processes and
// makes sure none outlives the ocix command: it implements core.Loader.
package pluginhost

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/core/plugin"
)

// Host starts plugins on demand and stops them all on Close.
type Host struct {
	Finder Finder
	// Log receives go-plugin's log and the plugins' own; with level Off
	// nothing is written. Nil means Off.
	Log hclog.Logger

	mu      sync.Mutex
	sockets *socketDir
	procs   []*process
	closed  bool
}

var _ core.Loader = (*Host)(nil)

// Names lists every backend a plugin can be found for.
func (h *Host) Names() ([]string, error) { return h.Finder.Names(), nil }

// Load starts the first usable plugin for backend name. A candidate that
// fails its handshake (wrong protocol version, not an ocix plugin, crashed
// at start) is skipped with a warning naming it.
func (h *Host) Load(_ context.Context, name string, files []*os.File) (core.Backend, func(), error) {
	if !validName.MatchString(name) {
		return nil, nil, core.Usagef("invalid backend name %q", name)
	}
	candidates := h.Finder.Candidates(name)
	if len(candidates) == 0 {
		return nil, nil, h.notFound(name)
	}
	dir, err := h.socketDir()
	if err != nil {
		return nil, nil, err
	}
	err = nil
	for i, path := range candidates {
		if err != nil {
			h.Finder.warn(fmt.Sprintf("skipping plugin %s: %v", candidates[i-1], err))
		}
		var (
			b    core.Backend
			stop func()
		)
		if b, stop, err = h.start(name, path, dir, files); err == nil {
			return b, stop, nil
		}
	}
	return nil, nil, fmt.Errorf("backend %q: no usable plugin: %s: %v", name, candidates[len(candidates)-1], err)
}

// start runs one candidate and dispenses its backend.
func (h *Host) start(name, path, socketDir string, files []*os.File) (core.Backend, func(), error) {
	p, err := start(name, path, h.pluginEnv(), socketDir, h.log(), files)
	if err != nil {
		return nil, nil, err
	}
	b, err := p.backend(files)
	if err != nil {
		p.stop()
		return nil, nil, err
	}
	h.track(p)
	return b, p.stop, nil
}

// Close stops every plugin still running and removes the socket directory.
func (h *Host) Close() {
	h.mu.Lock()
	procs, sockets := h.procs, h.sockets
	h.procs, h.closed = nil, true
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.stop()
		}()
	}
	wg.Wait()
	if sockets != nil {
		sockets.remove()
	}
}

func (h *Host) notFound(name string) error {
	msg := fmt.Sprintf("%q: no %s%s in %s", name, Prefix, name, h.Finder.Where())
	if names := h.Finder.Names(); len(names) > 0 {
		msg += "; backends found: " + strings.Join(names, ", ")
	}
	return core.Usagef("%w %s", core.ErrUnknownBackend, msg)
}

func (h *Host) socketDir() (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return "", fmt.Errorf("plugin host is closed")
	}
	if h.sockets == nil {
		d, err := newSocketDir()
		if err != nil {
			return "", err
		}
		h.sockets = d
	}
	return h.sockets.path, nil
}

func (h *Host) track(p *process) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.procs = append(h.procs, p)
}

func (h *Host) log() hclog.Logger {
	if h.Log == nil {
		return hclog.NewNullLogger()
	}
	return h.Log
}

// pluginEnv is the plugins' environment: ocix's own, less anything that
// would redirect go-plugin, plus the log level.
func (h *Host) pluginEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, goplugin.EnvUnixSocketDir+"=") && !strings.HasPrefix(kv, plugin.LogLevelEnv+"=") {
			env = append(env, kv)
		}
	}
	level := hclog.Off
	if h.Log != nil {
		level = h.Log.GetLevel()
	}
	return append(env, plugin.LogLevelEnv+"="+level.String())
}
