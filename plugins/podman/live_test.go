package podman

import (
	"testing"

	"github.com/ocix/ocix/core/plugin"
)

// plugin.Serve drains the backend before the process ends.
func TestBackendDrains(t *testing.T) {
	if _, ok := New(nil).(plugin.Drainer); !ok {
		t.Fatal("the podman backend is no plugin.Drainer: containers of cancelled jobs would stay")
	}
}
