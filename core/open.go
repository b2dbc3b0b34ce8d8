package core

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
)

// Loader finds and starts backends by name. core/pluginhost implements it
// with plugin processes; tests use in-process fakes.
type Loader interface {
	// Names lists every backend that can be found, sorted.
	Names() ([]string, error)
	// Load starts backend name; stop ends it and frees what it holds, and is
	// safe to call more than once. files are handed to the backend for its
	// job (an output stream, the user's terminal): a plugin inherits them.
	Load(ctx context.Context, name string, files []*os.File) (b Backend, stop func(), err error)
}

// SettingsFunc returns a backend's configuration section as a JSON object
// holding every key of schema the user set, plus any key the config file
// sets that the schema lacks (for the backend to refuse).
type SettingsFunc func(backend string, schema []ConfigField) (json.RawMessage, error)

// Core dispatches jobs to backends.
type Core struct {
	Loader   Loader
	Settings SettingsFunc
	// Rootfs prepares root filesystems for run backends that need one.
	Rootfs RootfsProvider
}

// Handle is a started, configured backend. Close stops it.
type Handle struct {
	Backend
	Info   Info
	Schema []ConfigField
	stop   func()
}

// Close stops the backend.
func (h *Handle) Close() { h.stop() }

// Open starts backend name and configures it. With need set, it also
// checks that the backend can do that job and can do it now. On error the
// backend is stopped; the Handle returned beside the error, if any, holds
// what was learnt about it before the error (its schema, say).
func (c *Core) Open(ctx context.Context, name string, need Capability, files ...*os.File) (*Handle, error) {
	b, stop, err := c.Loader.Load(ctx, name, files)
	if err != nil {
		return nil, err
	}
	h := &Handle{Backend: b, stop: stop}
	if err := c.configure(ctx, name, h); err != nil {
		stop()
		return h, err
	}
	if need == "" {
		return h, nil
	}
	if !h.Info.Has(need) {
		stop()
		return nil, c.unsupported(ctx, name, need)
	}
	if !h.Info.Available {
		stop()
		return nil, fmt.Errorf("backend %q is not available: %s", name, h.Info.Reason)
	}
	return h, nil
}

// configure fills h's schema and info. On error h keeps what was learnt.
func (c *Core) configure(ctx context.Context, name string, h *Handle) error {
	var err error
	if h.Schema, err = h.ConfigSchema(ctx); err != nil {
		return err
	}
	settings := json.RawMessage("{}")
	if c.Settings != nil {
		if settings, err = c.Settings(name, h.Schema); err != nil {
			return err
		}
	}
	if err := h.Configure(ctx, settings); err != nil {
		return err
	}
	h.Info, err = h.Describe(ctx)
	return err
}

// unsupported builds the error for a backend asked for a job it lacks,
// naming the backends that have it.
func (c *Core) unsupported(ctx context.Context, name string, need Capability) error {
	var able []string
	for _, st := range c.Probe(ctx) {
		if st.Name != name && st.Err == nil && st.Info.Has(need) {
			able = append(able, st.Name)
		}
	}
	if len(able) == 0 {
		return &UsageError{Err: fmt.Errorf("backend %q cannot %s, and no installed backend can: %w",
			name, need.verb(), ErrUnsupported)}
	}
	return &UsageError{Err: fmt.Errorf("backend %q cannot %s; backends that can: %s",
		name, need.verb(), strings.Join(able, ", "))}
}

// Status is one backend as Probe saw it.
type Status struct {
	Name   string
	Info   Info
	Schema []ConfigField
	Err    error // the backend could not be started, configured or described
}

// Probe starts each named backend, or every backend the loader finds
// when names is empty, a few at a time, and reports what each said about
// itself (Backend.Describe) before stopping it: `ocix backends`, and the
// backends that can do a job a named one cannot.
func (c *Core) Probe(ctx context.Context, names ...string) []Status {
	if len(names) == 0 {
		var err error
		if names, err = c.Loader.Names(); err != nil {
			return []Status{{Name: "?", Err: err}}
		}
	}
	out := make([]Status, len(names))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i] = Status{Name: name}
			h, err := c.Open(ctx, name, "")
			if h != nil {
				out[i].Info, out[i].Schema = h.Info, h.Schema
			}
			if err != nil {
				out[i].Err = err
				return
			}
			h.Close()
		}()
	}
	wg.Wait()
	return out
}

// openFor opens backend name for job need and returns it as the job's
// interface J, or an error that says why it cannot do the job.
//
// The capability the backend declares in its Info is the authority, and
// Open checks it: a plugin's server declares exactly the jobs its
// implementation has (core/plugin), while the host's client to it has a
// method for every job. So the type assertion below never fails for a
// plugin; it fails only for an in-process backend that declares a job it
// has no code for, and says so instead of panicking.
func openFor[J any](ctx context.Context, c *Core, name string, need Capability, files ...*os.File) (J, *Handle, error) {
	var none J
	h, err := c.Open(ctx, name, need, files...)
	if err != nil {
		return none, nil, err
	}
	j, ok := h.Backend.(J)
	if !ok {
		h.Close()
		return none, nil, fmt.Errorf("backend %q declares it can %s but has no code for it: %w", name, need.verb(), ErrUnsupported)
	}
	return j, h, nil
}
