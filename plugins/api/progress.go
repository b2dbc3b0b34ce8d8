package api

import (
	"sync"
	"time"

	"github.com/ocix/ocix/core"
)

// progressEvery is the least time between two progress events of one
// layer: often enough for a display, rare enough to cost nothing.
const progressEvery = 100 * time.Millisecond

// events sends an export's progress and warnings to the request's
// callback, one at a time: the downloads report from several goroutines.
type events struct {
	mu   sync.Mutex
	send func(core.Event) // nil drops them
}

func (e *events) emit(ev core.Event) {
	if e.send == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.send(ev)
}

func (e *events) warn(msg string) { e.emit(core.Event{Warning: msg}) }

// layerProgress is an io.Writer that counts one layer's compressed bytes
// as they arrive and reports them, throttled.
type layerProgress struct {
	ev   *events
	p    core.Progress
	last time.Time
}

func (l *layerProgress) Write(b []byte) (int, error) {
	l.p.Done += int64(len(b))
	if now := time.Now(); now.Sub(l.last) >= progressEvery {
		l.last = now
		l.report()
	}
	return len(b), nil
}

// report sends the count as it is; the download sends it once more when
// the layer is complete, Done equal to Total.
func (l *layerProgress) report() {
	p := l.p
	l.ev.emit(core.Event{Progress: &p})
}
