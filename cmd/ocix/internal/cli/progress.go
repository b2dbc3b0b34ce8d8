package cli

import (
	"fmt"
	"io"
	"sync"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/ocix/ocix/core"
)

// progressView draws a job's progress, one bar per layer, on a terminal.
// Plugins send the progress as messages; this is the only place it is
// drawn. Off a terminal, or with -q, it draws nothing, and warnings are
// printed as they come.
type progressView struct {
	f    *Factory
	p    *mpb.Progress
	mu   sync.Mutex
	bars map[int]*mpb.Bar
}

func newProgressView(f *Factory, quiet bool) *progressView {
	v := &progressView{f: f, bars: map[int]*mpb.Bar{}}
	if f.Streams.ErrTTY && !quiet {
		v.p = mpb.New(mpb.WithOutput(f.Streams.Err), mpb.WithWidth(40))
	}
	return v
}

// event takes one export event.
func (v *progressView) event(e core.Event) {
	if e.Warning != "" {
		v.warn(e.Warning)
	}
	if e.Progress == nil || v.p == nil {
		return
	}
	pr := e.Progress
	v.mu.Lock()
	defer v.mu.Unlock()
	bar, ok := v.bars[pr.Layer]
	if !ok {
		bar = v.p.New(pr.Total, mpb.BarStyle(),
			mpb.PrependDecorators(decor.Name(layerName(pr), decor.WCSyncSpaceR)),
			mpb.AppendDecorators(decor.CountersKibiByte("% .1f / % .1f", decor.WCSyncSpace)),
		)
		v.bars[pr.Layer] = bar
	}
	if pr.Total > 0 {
		bar.SetTotal(pr.Total, false)
	}
	bar.SetCurrent(pr.Done)
	if pr.Total > 0 && pr.Done >= pr.Total {
		bar.SetTotal(pr.Total, true)
	}
}

func layerName(p *core.Progress) string {
	if p.Layer < 0 {
		return "image"
	}
	d := p.Digest
	if len(d) > 19 {
		d = d[:19]
	}
	return fmt.Sprintf("layer %d/%d %s", p.Layer+1, p.Layers, d)
}

// warn prints a warning above the bars, or as a line.
func (v *progressView) warn(msg string) {
	if v.p != nil {
		fmt.Fprintf(io.Writer(v.p), "ocix: warning: %s\n", msg)
		return
	}
	v.f.Warn(msg)
}

// done completes every bar and stops drawing.
func (v *progressView) done() {
	if v.p == nil {
		return
	}
	v.mu.Lock()
	for _, b := range v.bars {
		if !b.Completed() {
			b.Abort(false)
		}
	}
	v.mu.Unlock()
	v.p.Wait()
}
