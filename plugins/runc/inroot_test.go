package runc

import (
	"testing"

	"github.com/ocix/ocix/plugins/internal/inroot"
)

// TestInRootWithoutOpenat2 runs the in-root cases again with the resolver
// kernels before 5.6 get: its answers must be the same.
func TestInRootWithoutOpenat2(t *testing.T) {
	inroot.ForceFallback(true)
	defer inroot.ForceFallback(false)
	if r := inroot.Resolver(); r != inroot.Fallback {
		t.Fatalf("resolver %s with the fallback forced", r)
	}
	t.Run("user-files", TestUserFilesAreReadInsideTheRoot)
	t.Run("working-directory", TestWorkingDirectoryIsMadeInsideTheRoot)
}
