package nerdctl

import (
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/plugins/internal/lines"
)

// pullProgress turns the progress table `nerdctl pull` redraws on its
// stdout every 100 ms (terminal or not, with cursor movements) into layer
// progress for core:
//
//	layer-sha256:c227…:    downloading    |+++++-----|    1.0 MiB/8.0 MiB
//	layer-sha256:4994…:    done           |++++++++++|
//
// Sizes are nerdctl's rounded, human ones ("1.0 MiB", the offset cut to 8
// characters); the exact sizes come from the manifest once the pull is
// done (see finish). A layer that is already in the store ("exists") is
// reported complete.
type pullProgress struct {
	events func(core.Event)

	mu    sync.Mutex
	lines lines.Splitter   // cut at "\r" too: nerdctl redraws its table
	order []string         // layer digests, in the order nerdctl lists them
	done  map[string]int64 // the last Done reported per layer
	total map[string]int64
}

func newPullProgress(events func(core.Event)) *pullProgress {
	return &pullProgress{events: events, lines: lines.Splitter{Ends: "\n\r"}, done: map[string]int64{}, total: map[string]int64{}}
}

// ansi matches the escape sequences the table is redrawn with.
var ansi = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)

// layerRow reads one row of the table: digest, status, and done/total
// when the layer is under way.
var layerRow = regexp.MustCompile(`^layer-(sha256:[0-9a-f]{64}):\s+(\w+)\s+\|[^|]*\|\s*(?:(\S+ \S+)/(\S+ \S+))?`)

func (p *pullProgress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lines.Feed(b, func(l string) { p.row(ansi.ReplaceAllString(l, "")) })
	return len(b), nil
}

func (p *pullProgress) row(s string) {
	m := layerRow.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return
	}
	digest, status := m[1], m[2]
	if _, seen := p.done[digest]; !seen {
		p.order = append(p.order, digest)
		p.done[digest] = -1
	}
	done, total := p.done[digest], p.total[digest]
	switch status {
	case "downloading", "committing":
		if m[3] != "" {
			done, total = humanBytes(m[3]), humanBytes(m[4])
		}
	case "done", "exists":
		if total == 0 {
			return // finish reports it with its exact size
		}
		done = total
	default: // waiting, resolving
		return
	}
	p.total[digest] = total
	if done == p.done[digest] {
		return
	}
	p.done[digest] = done
	p.send(digest, done, total)
}

func (p *pullProgress) send(digest string, done, total int64) {
	if p.events == nil {
		return
	}
	layer := 0
	for i, d := range p.order {
		if d == digest {
			layer = i
		}
	}
	p.events(core.Event{Progress: &core.Progress{
		Layer: layer, Layers: len(p.order), Digest: digest, Done: done, Total: total,
	}})
}

// finish reports every layer of the pulled image complete, with its exact
// size, in the manifest's order.
func (p *pullProgress) finish(layers []descriptor) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.events == nil {
		return
	}
	for i, l := range layers {
		p.events(core.Event{Progress: &core.Progress{
			Layer: i, Layers: len(layers), Digest: l.Digest, Done: l.Size, Total: l.Size,
		}})
	}
}

// humanBytes reads a size as nerdctl prints it: "1.0 MiB", "512.0 B",
// "1023.5 K" (cut short). Unreadable sizes are 0.
func humanBytes(s string) int64 {
	num, unit, _ := strings.Cut(s, " ")
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || unit == "" {
		return 0
	}
	i := strings.IndexByte("BKMGTP", unit[0])
	if i < 0 {
		return 0
	}
	for ; i > 0; i-- {
		f *= 1024
	}
	return int64(f)
}
