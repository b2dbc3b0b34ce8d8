package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"
)

// What export and run share to clean up after a plugin that died mid-job:
// everything a job creates outside its destination (an engine's container)
// carries a label naming the ocix command, and a fresh instance of the
// plugin removes what carries it.

// InvocationLabel is the label every container ocix creates carries.
const InvocationLabel = "ocix.invocation"

// Cleaner removes what an invocation of ocix left behind (containers
// carrying its label) after the plugin serving it died.
type Cleaner interface {
	Cleanup(ctx context.Context, invocation string) error
}

// newInvocation names one ocix command for the labels of what it creates.
func newInvocation() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// cleanupAfter has a fresh instance of a dead plugin remove what this
// invocation created. It is bounded: the user is waiting for an error.
func (c *Core) cleanupAfter(backend, invocation string) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	h, err := c.Open(ctx, backend, "")
	if err != nil {
		return
	}
	defer h.Close()
	if cl, ok := h.Backend.(Cleaner); ok {
		cl.Cleanup(ctx, invocation)
	}
}
