package nerdctl

import (
	"strings"
	"testing"

	"github.com/ocix/ocix/core"
)

const (
	layerA = "sha256:c2272135e79f2544fccf5d1f12b512bee8fd3d6d7a427178392f5ed9c25b50cd"
	layerB = "sha256:49947c66d66e73f5e8e62c4c417673108bfdaae42518438ce933a9d809c58874"
)

// frame is one redraw of nerdctl pull's table, as it writes it: the
// cursor moved up over the previous one, colours in the bars.
func frame(rows ...string) string {
	var b strings.Builder
	b.WriteString("\x1b[1A\x1b[2K\r\x1b[1A\x1b[2K\r")
	for _, r := range rows {
		b.WriteString(r + "\n")
	}
	b.WriteString("elapsed: 0.3 s                                                                    total:  75.5 K (251.4 KiB/s)\n")
	return b.String()
}

func TestPullProgress(t *testing.T) {
	var got []core.Progress
	p := newPullProgress(func(e core.Event) { got = append(got, *e.Progress) })
	bar := "|\x1b[32m++++++++++\x1b[0m----------|"
	stream := frame(
		"127.0.0.1:5000/rules/index:latest:                                                resolved       "+bar+" ",
		"layer-"+layerA+":    waiting        |--------------------| ",
		"layer-"+layerB+":    waiting        |--------------------| ",
	) + frame(
		"layer-"+layerA+":    downloading    "+bar+"    1.0 MiB/8.0 MiB ",
		"layer-"+layerB+":    downloading    "+bar+"    1023.5 K/2.0 MiB ",
	) + frame(
		"layer-"+layerA+":    downloading    "+bar+"    1.0 MiB/8.0 MiB ", // unchanged: no event
		"layer-"+layerB+":    done           "+bar+" ",
	)
	// Written in pieces that cut rows, as a pipe delivers them.
	for len(stream) > 0 {
		n := min(len(stream), 37)
		p.Write([]byte(stream[:n]))
		stream = stream[n:]
	}
	want := []core.Progress{
		{Layer: 0, Layers: 2, Digest: layerA, Done: 1 << 20, Total: 8 << 20},
		{Layer: 1, Layers: 2, Digest: layerB, Done: int64(1023.5 * 1024), Total: 2 << 20},
		{Layer: 1, Layers: 2, Digest: layerB, Done: 2 << 20, Total: 2 << 20},
	}
	if len(got) != len(want) {
		t.Fatalf("events %+v\nwant %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d: %+v, want %+v", i, got[i], want[i])
		}
	}

	// Once pulled, every layer is reported complete with its exact size.
	got = nil
	p.finish([]descriptor{{Digest: layerA, Size: 8388608 + 10}, {Digest: layerB, Size: 5}})
	if len(got) != 2 || got[0].Done != 8388618 || got[0].Total != 8388618 || got[1].Layer != 1 || got[1].Layers != 2 {
		t.Errorf("finish: %+v", got)
	}
}

func TestHumanBytes(t *testing.T) {
	for s, want := range map[string]int64{
		"0.0 B": 0, "512.0 B": 512, "1.0 KiB": 1024, "1.5 MiB": 1572864, "1023.5 K": 1048064, "2.0 GiB": 2 << 30,
		"nonsense": 0, "1.0 QiB": 0,
	} {
		if got := humanBytes(s); got != want {
			t.Errorf("%q: %d, want %d", s, got, want)
		}
	}
}
