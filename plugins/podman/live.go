package podman

import (
	"context"
	"sync"
	"time"

	"github.com/containers/podman/v5/pkg/bindings/containers"
	"github.com/hashicorp/go-hclog"
)

// live is every container this plugin process created and has not removed
// yet, with a connection to remove it by.
//
// Why: when ocix stops a job (Ctrl-C), it cancels the call and then asks
// the plugin to shut down, and go-plugin's shutdown stops the gRPC server
// at once — the process would end while the cancelled job is still
// unwinding, before its deferred removal. plugin.Serve calls Drain last,
// which removes what is left.
var live = &liveSet{m: map[string]liveEntry{}}

type liveSet struct {
	mu sync.Mutex
	m  map[string]liveEntry
}

type liveEntry struct {
	ctx context.Context // the connection, without the job's cancellation
	log hclog.Logger
}

func (l *liveSet) add(ctx context.Context, id string, log hclog.Logger) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.m[id] = liveEntry{ctx: context.WithoutCancel(ctx), log: log}
}

func (l *liveSet) done(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, id)
}

func (l *liveSet) all() map[string]liveEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]liveEntry, len(l.m))
	for id, e := range l.m {
		out[id] = e
	}
	return out
}

// removeContainer removes a container and its anonymous volumes. One
// still running is killed at once (timeout 0), not given podman's 10 s
// stop timeout; one already gone is no error.
func removeContainer(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), removeTimeout)
	defer cancel()
	opts := new(containers.RemoveOptions).WithForce(true).WithTimeout(0).WithVolumes(true).WithIgnore(true)
	_, err := containers.Remove(ctx, id, opts)
	return err
}

// drainTimeout bounds Drain: ocix kills a plugin that has not exited a
// second after it asked it to stop.
const drainTimeout = 900 * time.Millisecond

// Drain removes the containers of jobs cut short (plugin.Drainer): every
// container this process created and has not removed yet, at once.
func (b *backend) Drain() { drain(drainTimeout) }

func drain(timeout time.Duration) {
	left := live.all()
	if len(left) == 0 {
		return
	}
	var wg sync.WaitGroup
	for id, e := range left {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := removeContainer(e.ctx, id); err != nil {
				e.log.Error("cannot remove container", "id", id, "error", err)
				return
			}
			live.done(id)
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
	}
}
