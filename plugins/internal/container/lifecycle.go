package container

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/core/plugin"
)

// The lifecycle of the containers an engine backend (docker, podman,
// nerdctl) creates: every one is removed once its job is over, however it
// ended, unless the user asked to keep it.
//
// Why it needs care: when ocix stops a job (Ctrl-C), it cancels the call
// and then stops the plugin, and go-plugin's shutdown ends the gRPC server
// at once — the process would end while the cancelled job is still
// unwinding (a write to a pipe nobody reads may never return), before its
// deferred removal. So a container's removal starts as soon as its job's
// context ends, and the plugin's Drain waits for the removals under way,
// within what the host allows (plugin.StopGrace). A plugin that dies
// outright is cleaned up after by core, through a fresh instance's Cleanup.

// removeTimeout bounds one removal, which runs on a context of its own:
// the job's may be cancelled.
const removeTimeout = 30 * time.Second

// drainBound is what Drain may take: the host kills a plugin that has not
// exited StopGrace after it asked it to, and the process needs a moment
// to exit after Drain.
const drainBound = plugin.StopGrace * 9 / 10

// Engine is what the lifecycle needs of a container engine, reached
// through one connection.
type Engine interface {
	// Remove force-removes container id — killed if it runs — and its
	// anonymous volumes. One already gone is no error.
	Remove(ctx context.Context, id string) error
	// Labelled lists the containers, running or not, that carry
	// invocation's label (core.InvocationLabel).
	Labelled(ctx context.Context, invocation string) ([]string, error)
}

// Guarder is an Engine that can have a container removed by a process
// that outlives the plugin (nerdctl: a shell that runs `nerdctl rm -f`),
// should the plugin die before it removed the container itself. Core's
// cleanup through a fresh plugin comes later; a CLI engine needs one call
// to its CLI per step, and a guard starts the removal at the death.
type Guarder interface {
	Engine
	// Guard arranges container id's removal at this process's death;
	// release, called once the container is gone or kept, cancels it.
	Guard(id string) (release func(), err error)
}

// Tracker follows every container its plugin process created and has not
// removed yet. A backend has one, made by New, and drains it from its
// Drain (plugin.Drainer).
type Tracker struct {
	log hclog.Logger

	mu      sync.Mutex
	live    map[*Container]struct{}
	pending int           // creates and removals under way
	idle    chan struct{} // closed when pending drops to zero
}

// NewTracker returns an empty tracker logging to log (nil: nowhere).
func NewTracker(log hclog.Logger) *Tracker {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Tracker{log: log, live: map[*Container]struct{}{}}
}

// Container is a container a job created, tracked until it is removed.
type Container struct {
	ID string

	t        *Tracker
	engine   Engine
	ctx      context.Context // the job's, for its values (a connection)
	stop     func() bool     // stops the removal on cancellation; set under t.mu
	release  func()          // ends the engine's guard, if any
	once     sync.Once
	err      error
	removing bool // guarded by t.mu
}

// Create creates a container with create, which must label it with
// invocation, and tracks it (see Track). A create cut short by
// cancellation is followed by a sweep of invocation's containers: the
// engine may finish creating one whose ID never reached us. create's
// error is returned as it is.
func (t *Tracker) Create(ctx context.Context, e Engine, invocation string, create func(context.Context) (string, error)) (*Container, error) {
	t.begin()
	defer t.end()
	id, err := create(ctx)
	if err != nil {
		if ctx.Err() != nil && invocation != "" {
			sweepCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), removeTimeout)
			defer cancel()
			t.removeLabelled(sweepCtx, e, invocation)
		}
		return nil, err
	}
	return t.Track(ctx, e, id), nil
}

// Track follows container id (a name the engine takes for one will do,
// even before it exists) until it is removed: by the job, which calls
// Remove on every path; at once when ctx ends; or by Drain, whichever
// comes first.
func (t *Tracker) Track(ctx context.Context, e Engine, id string) *Container {
	c := &Container{ID: id, t: t, engine: e, ctx: context.WithoutCancel(ctx), release: func() {}}
	if g, ok := e.(Guarder); ok {
		release, err := g.Guard(id)
		if err != nil {
			// Core's cleanup after a dead plugin remains.
			t.log.Warn("no guard for a container", "container", id, "error", err)
		} else {
			c.release = release
		}
	}
	// c.stop is set under t.mu, which Remove and Keep take to read it: a
	// ctx already done runs the removal at once, and Drain may find c as
	// soon as it is live.
	t.mu.Lock()
	t.live[c] = struct{}{}
	c.stop = context.AfterFunc(ctx, func() { c.Remove() })
	t.mu.Unlock()
	return c
}

// stopFollowing ends the removal's wait for the job's context.
func (c *Container) stopFollowing() {
	c.t.mu.Lock()
	stop := c.stop
	c.t.mu.Unlock()
	stop()
}

// Remove removes the container, once: later and concurrent calls wait for
// that removal and return its error. A failure is logged too.
func (c *Container) Remove() error {
	c.once.Do(func() {
		c.t.begin()
		defer c.t.end()
		c.stopFollowing()
		ctx, cancel := context.WithTimeout(c.ctx, removeTimeout)
		defer cancel()
		if c.err = c.engine.Remove(ctx, c.ID); c.err != nil {
			c.t.log.Warn("could not remove a container", "container", c.ID, "error", c.err)
		}
		c.release()
		c.t.forget(c)
	})
	return c.err
}

// Keep stops tracking the container: the user asked to keep it (run
// --keep). Remove does nothing after it.
func (c *Container) Keep() {
	c.once.Do(func() {
		c.stopFollowing()
		c.release()
		c.t.forget(c)
	})
}

// Drain removes every container still tracked and waits for the creates
// and removals under way, within what the host allows before it kills the
// plugin. A backend's Drain calls it.
func (t *Tracker) Drain() { t.drain(drainBound) }

func (t *Tracker) drain(bound time.Duration) {
	deadline := time.After(bound)
	for {
		t.mu.Lock()
		for c := range t.live {
			if !c.removing {
				c.removing = true
				t.pending++
				t.idleLocked()
				go func() {
					defer t.end()
					c.Remove()
				}()
			}
		}
		idle := t.idle
		t.mu.Unlock()
		if idle == nil {
			return
		}
		select {
		case <-idle:
			// A create that ended meanwhile may have left a container.
		case <-deadline:
			t.log.Warn("containers may be left: their removal did not end in time", "bound", bound)
			return
		}
	}
}

// Cleanup removes the containers of an invocation whose plugin died: core
// asks a fresh instance of the plugin, which finds them by their label
// and removes them with force (a run's may still be running). An empty
// invocation is refused: it would select every container ocix made.
func (t *Tracker) Cleanup(ctx context.Context, invocation string, connect func(context.Context) (Engine, error)) error {
	if invocation == "" {
		return core.Usagef("cleanup: no invocation given")
	}
	e, err := connect(ctx)
	if err != nil {
		return err
	}
	return t.removeLabelled(ctx, e, invocation)
}

// removeLabelled removes every container labelled with invocation.
func (t *Tracker) removeLabelled(ctx context.Context, e Engine, invocation string) error {
	ids, err := e.Labelled(ctx, invocation)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		if err := e.Remove(ctx, id); err != nil {
			errs = append(errs, err)
			continue
		}
		t.log.Info("removed a container left behind", "container", id, "invocation", invocation)
	}
	return errors.Join(errs...)
}

func (t *Tracker) begin() {
	t.mu.Lock()
	t.pending++
	t.idleLocked()
	t.mu.Unlock()
}

// idleLocked makes the channel that tells the end of what is pending.
func (t *Tracker) idleLocked() {
	if t.idle == nil {
		t.idle = make(chan struct{})
	}
}

func (t *Tracker) end() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pending--; t.pending == 0 {
		close(t.idle)
		t.idle = nil
	}
}

func (t *Tracker) forget(c *Container) {
	t.mu.Lock()
	delete(t.live, c)
	t.mu.Unlock()
}
