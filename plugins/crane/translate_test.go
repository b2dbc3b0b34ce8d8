package crane

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/ocix/ocix/core"
)

// A hard link in crane's flattened stream to a file crane dropped fails
// in the applier: the error names crane and the entry, and says nothing of
// reaching a registry.
func TestAFlatteningFailureNamesCraneAndTheEntry(t *testing.T) {
	ep := core.Endpoint{Registry: "127.0.0.1:5000", Host: "127.0.0.1:5000"}
	link := &os.LinkError{Op: "linkat", Old: "etc/y", New: "etc/x", Err: syscall.ENOENT}
	err := translate(ep, "app", fmt.Errorf(`layer entry "etc/x": %w`, fmt.Errorf(`hard link to "etc/y": %w`, link)))
	msg := err.Error()
	want := `crane: applying its flattened stream: layer entry "etc/x": hard link to "etc/y": `
	if !strings.HasPrefix(msg, want) || strings.Contains(msg, "cannot reach") || strings.Contains(msg, "connection") {
		t.Fatalf("got %q, want it to start %q and say nothing of the network", msg, want)
	}
}
