// Package coretest has in-process fakes of core's interfaces for tests:
// function fields give each test its own behaviour.
package coretest

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"sync"

	"github.com/ocix/ocix/core"
)

// Backend is a fake backend without jobs; embed it in TagLister for tags.
type Backend struct {
	Info   core.Info
	Schema []core.ConfigField
	// ConfigureFunc, when set, decides Configure's answer.
	ConfigureFunc func(settings json.RawMessage) error

	mu       sync.Mutex
	settings json.RawMessage
}

func (b *Backend) ConfigSchema(context.Context) ([]core.ConfigField, error) { return b.Schema, nil }

func (b *Backend) Configure(_ context.Context, settings json.RawMessage) error {
	b.mu.Lock()
	b.settings = settings
	b.mu.Unlock()
	if b.ConfigureFunc != nil {
		return b.ConfigureFunc(settings)
	}
	return nil
}

func (b *Backend) Describe(context.Context) (core.Info, error) { return b.Info, nil }

// Settings is what the last Configure received.
func (b *Backend) Settings() json.RawMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.settings
}

// TagLister is a fake backend that lists tags.
type TagLister struct {
	Backend
	ListTagsFunc func(ctx context.Context, req core.TagsRequest) ([]string, error)
}

func (l *TagLister) ListTags(ctx context.Context, req core.TagsRequest) ([]string, error) {
	return l.ListTagsFunc(ctx, req)
}

// Loader serves fake backends by name and counts what is running.
type Loader struct {
	Backends map[string]core.Backend

	mu      sync.Mutex
	running int
}

func (l *Loader) Names() ([]string, error) {
	var names []string
	for n := range l.Backends {
		names = append(names, n)
	}
	slices.Sort(names)
	return names, nil
}

func (l *Loader) Load(_ context.Context, name string, _ []*os.File) (core.Backend, func(), error) {
	b, ok := l.Backends[name]
	if !ok {
		return nil, nil, core.Usagef("%w %q", core.ErrUnknownBackend, name)
	}
	l.mu.Lock()
	l.running++
	l.mu.Unlock()
	var once sync.Once
	return b, func() {
		once.Do(func() {
			l.mu.Lock()
			l.running--
			l.mu.Unlock()
		})
	}, nil
}

// Running is how many loaded backends have not been stopped.
func (l *Loader) Running() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.running
}

// Cleaner records the invocations a fresh instance was asked to clean up
// after (core.Cleaner); embed it in a fake job backend.
type Cleaner struct {
	mu       sync.Mutex
	cleanups []string
}

func (c *Cleaner) Cleanup(_ context.Context, invocation string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cleanups = append(c.cleanups, invocation)
	return nil
}

// Cleanups lists the invocations Cleanup was asked about.
func (c *Cleaner) Cleanups() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.cleanups...)
}

// Runner is a fake run backend; it also records Cleanup calls.
type Runner struct {
	Backend
	Cleaner
	RunFunc func(ctx context.Context, req core.RunRequest) (core.RunResult, error)
}

func (r *Runner) Run(ctx context.Context, req core.RunRequest) (core.RunResult, error) {
	return r.RunFunc(ctx, req)
}

// Exporter is a fake export backend; it also records Cleanup calls.
type Exporter struct {
	Backend
	Cleaner
	ExportFunc func(ctx context.Context, req core.ExportRequest) (core.ExportResult, error)
}

func (e *Exporter) Export(ctx context.Context, req core.ExportRequest) (core.ExportResult, error) {
	return e.ExportFunc(ctx, req)
}

// Bundler is a fake runtime backend: it takes a root filesystem from core
// (set Info.NeedsRootfs) and writes bundles.
type Bundler struct {
	Runner
	BundleFunc func(ctx context.Context, req core.BundleRequest) (core.BundleResult, error)
}

func (b *Bundler) Bundle(ctx context.Context, req core.BundleRequest) (core.BundleResult, error) {
	return b.BundleFunc(ctx, req)
}

// Resolver is a fake export backend that resolves references.
type Resolver struct {
	Backend
	ResolveFunc func(ctx context.Context, req core.ResolveRequest) (core.ResolveResult, error)
	ExportFunc  func(ctx context.Context, req core.ExportRequest) (core.ExportResult, error)
}

func (r *Resolver) Resolve(ctx context.Context, req core.ResolveRequest) (core.ResolveResult, error) {
	return r.ResolveFunc(ctx, req)
}

func (r *Resolver) Export(ctx context.Context, req core.ExportRequest) (core.ExportResult, error) {
	return r.ExportFunc(ctx, req)
}

// Rootfs is a fake root filesystem provider: every image is a tree with
// one file, /etc/image, holding its name, and has Config.
type Rootfs struct {
	Config json.RawMessage
}

func (r *Rootfs) Prepare(_ context.Context, req *core.RunRequest) (func(), error) {
	dir, err := os.MkdirTemp("", "coretest-rootfs-")
	if err != nil {
		return nil, err
	}
	req.ScratchDir = dir
	if err := r.Unpack(context.Background(), req, dir+"/rootfs"); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return func() { os.RemoveAll(dir) }, nil
}

func (r *Rootfs) Unpack(_ context.Context, req *core.RunRequest, dir string) error {
	if err := os.MkdirAll(dir+"/etc", 0o755); err != nil {
		return err
	}
	req.Rootfs, req.ImageConfig = dir, r.Config
	return os.WriteFile(dir+"/etc/image", []byte(req.Image), 0o644)
}
