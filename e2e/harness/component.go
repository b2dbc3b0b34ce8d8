package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// newDir makes a directory of its own for one component. A start that
// fails before launch leaves it for Harness.Close to remove.
func (h *Harness) newDir(name string) (string, error) {
	dir, err := os.MkdirTemp(h.dir, name+"-")
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return dir, nil
}

// launch starts a component, waits until it serves and hands it to the
// harness. On any failure nothing of it is left running and its directory
// is removed.
func (h *Harness) launch(ctx context.Context, s spec) (*process, error) {
	p, err := startProcess(s)
	if err != nil {
		return nil, errors.Join(err, removeDir(s.dir))
	}
	if err := p.waitReady(ctx, s.ready); err != nil {
		return nil, errors.Join(err, p.stop())
	}
	if err := h.track(p); err != nil {
		return nil, err
	}
	return p, nil
}

// handle is what every component's handle embeds: its Close.
type handle struct {
	h *Harness
	p *process
}

// Dir is the component's own directory: its configuration and state.
// Close removes it.
func (c handle) Dir() string { return c.p.dir }

// Log is the file the component's stdout and stderr go to, in Dir.
func (c handle) Log() string { return c.p.log }

// Close stops the component and removes its directory.
func (c handle) Close() error {
	c.h.untrack(c.p)
	return c.p.stop()
}
