package docker

import (
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/moby/moby/api/types/jsonstream"

	"github.com/ocix/ocix/core"
)

// readPull reads the message stream of a pull to its end: it sends each
// layer's download progress to events (nil drops them) and returns the
// digest docker reports for what it pulled. An error in the stream — a
// pull fails after its answer has begun — is the pull's error.
func readPull(r io.Reader, events func(core.Event)) (string, error) {
	p := &pullProgress{events: events, layers: map[string]int{}, totals: map[string]int64{}}
	dec := json.NewDecoder(r)
	for {
		var m jsonstream.Message
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return p.digest, nil
		}
		if err != nil {
			return "", err
		}
		if m.Error != nil {
			return "", errors.New(m.Error.Message)
		}
		p.message(m)
	}
}

// pullProgress turns docker's pull messages into ocix's progress: one bar
// per layer, numbered in the order docker first names them. docker names
// every layer ("Pulling fs layer") before it downloads any, so by the first
// byte the number of layers is known.
type pullProgress struct {
	events func(core.Event)
	layers map[string]int   // docker's short layer id → its number
	totals map[string]int64 // the size each layer was announced with
	digest string
}

func (p *pullProgress) message(m jsonstream.Message) {
	if d, ok := strings.CutPrefix(m.Status, "Digest: "); ok {
		p.digest = strings.TrimSpace(d)
		return
	}
	if m.ID == "" || !isLayerStatus(m.Status) {
		// "Pulling from …" (whose id is the tag), "Status: …".
		return
	}
	i, ok := p.layers[m.ID]
	if !ok {
		i = len(p.layers)
		p.layers[m.ID] = i
	}
	switch m.Status {
	case "Downloading":
		if m.Progress != nil {
			p.totals[m.ID] = m.Progress.Total
			p.send(i, m.ID, m.Progress.Current, m.Progress.Total)
		}
	case "Download complete", "Pull complete":
		if total := p.totals[m.ID]; total > 0 {
			p.send(i, m.ID, total, total)
		}
	case "Already exists":
		// The engine has it: no bytes to come, and docker does not say
		// how many there were.
		p.send(i, m.ID, 0, 0)
	}
}

func (p *pullProgress) send(layer int, id string, done, total int64) {
	if p.events == nil {
		return
	}
	p.events(core.Event{Progress: &core.Progress{
		Layer: layer, Layers: len(p.layers), Digest: id, Done: done, Total: total,
	}})
}

// isLayerStatus tells the statuses docker gives a layer from the others.
func isLayerStatus(s string) bool {
	switch s {
	case "Pulling fs layer", "Waiting", "Downloading", "Verifying Checksum", "Download complete",
		"Extracting", "Pull complete", "Already exists":
		return true
	}
	return strings.HasPrefix(s, "Retrying in ")
}
