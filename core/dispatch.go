package core

import (
	"context"
	"encoding/json"
	"errors"
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
	for _, st := range c.DescribeAll(ctx) {
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

// Status is one backend as DescribeAll saw it.
type Status struct {
	Name   string
	Info   Info
	Schema []ConfigField
	Err    error // the backend could not be started, configured or described
}

// DescribeAll describes every backend the loader finds.
func (c *Core) DescribeAll(ctx context.Context) []Status {
	names, err := c.Loader.Names()
	if err != nil {
		return []Status{{Name: "?", Err: err}}
	}
	return c.Describe(ctx, names)
}

// Describe starts the named backends, a few at a time, and reports what
// each says about itself.
func (c *Core) Describe(ctx context.Context, names []string) []Status {
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

// ListTags lists every tag of a repository with the named backend.
func (c *Core) ListTags(ctx context.Context, backend string, req TagsRequest) ([]string, error) {
	h, err := c.Open(ctx, backend, CapTags)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	lister, ok := h.Backend.(TagLister)
	if !ok {
		return nil, fmt.Errorf("backend %q declares tags but has no tag lister: %w", backend, ErrUnsupported)
	}
	return lister.ListTags(ctx, req)
}

// Export exports an image with the named backend into dest, committing
// dest only when the backend reports success and aborting it otherwise.
func (c *Core) Export(ctx context.Context, backend string, req ExportRequest, dest *Destination) (ExportResult, error) {
	req.Dir, req.Tar, req.ScratchDir = dest.Dir, dest.Tar, dest.Scratch
	req.Invocation = newInvocation()
	var files []*os.File
	if dest.Tar != nil {
		files = append(files, dest.Tar)
	}
	h, err := c.Open(ctx, backend, CapExport, files...)
	if err != nil {
		dest.Abort()
		return ExportResult{}, err
	}
	exporter, ok := h.Backend.(Exporter)
	if !ok {
		h.Close()
		dest.Abort()
		return ExportResult{}, fmt.Errorf("backend %q declares export but has no exporter: %w", backend, ErrUnsupported)
	}
	res, err := exporter.Export(ctx, req)
	// The backend stops before its files are touched: a plugin cut short
	// by Ctrl-C may still be writing for a moment.
	h.Close()
	if err != nil {
		if errors.Is(err, ErrBackendDied) {
			c.cleanupAfter(backend, req.Invocation)
		}
		dest.Abort()
		return ExportResult{}, err
	}
	return res, dest.Commit()
}
