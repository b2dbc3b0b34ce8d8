//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ocix/ocix/core/tree"
)

// sameTree checks that root holds want exactly, except where known says it
// differs — which it must, so that a fixed or a newly broken backend is
// noticed. A known entry is a path, which may differ only in content, size
// and hard links (crane's #2002), or "path field", one exact difference
// (an engine's additions, as engineAdditions records them).
func sameTree(t *testing.T, root string, want tree.Manifest, known []string) {
	t.Helper()
	got, err := tree.Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	var unexpected, seen []string
	differs := map[string]bool{}
	for _, d := range tree.Diff(want, got) {
		exact := d.Path + " " + d.Field
		switch {
		case slices.Contains(known, exact):
			differs[exact] = true
		case slices.Contains(known, d.Path) && slices.Contains([]string{"content", "size", "links"}, d.Field):
			differs[d.Path] = true
		default:
			unexpected = append(unexpected, d.String())
			continue
		}
		seen = append(seen, exact)
	}
	if len(seen) > 0 {
		t.Logf("known differences: %s", strings.Join(seen, ", "))
	}
	if len(unexpected) > 0 {
		t.Errorf("the tree differs from the expected one (expected ≠ exported):\n%s", strings.Join(unexpected, "\n"))
	}
	for _, p := range known {
		if !differs[p] {
			t.Errorf("%s no longer differs from the expected tree: the recorded difference must go", p)
		}
	}
}

// sameMtimes checks the mtimes of some paths, except those known to
// differ.
func sameMtimes(t *testing.T, root string, want map[string]time.Time, known []string) {
	t.Helper()
	for p, mtime := range want {
		if slices.Contains(known, p) {
			continue
		}
		st, err := os.Lstat(filepath.Join(root, p))
		if err != nil {
			t.Errorf("%s: %v", p, err)
		} else if !st.ModTime().Equal(mtime) {
			t.Errorf("%s: mtime %s, want %s", p, st.ModTime().UTC(), mtime)
		}
	}
}

// treeDiff is how the tree at root differs from want, at most a few
// differences; "" when it does not.
func treeDiff(root string, want tree.Manifest) string {
	got, err := tree.Scan(root)
	if err != nil {
		return err.Error()
	}
	var diffs []string
	for _, d := range tree.Diff(want, got) {
		diffs = append(diffs, d.String())
	}
	if len(diffs) > 3 {
		diffs = append(diffs[:3], fmt.Sprintf("and %d more", len(diffs)-3))
	}
	return strings.Join(diffs, "; ")
}

// unfinished checks that a failed export's stream is not a whole tar: it
// lacks the two zero blocks that end a tar, and tar does not read it to
// its end with lost — a file of the layer that failed — in it. GNU tar
// 1.34 takes a stream that ends between entries as complete, so that an
// empty or short stream passes tar; one holding lost whole does not.
func unfinished(t *testing.T, stream, lost string) {
	t.Helper()
	if end := stream[max(0, len(stream)-1024):]; len(end) == 1024 && strings.Count(end, "\x00") == 1024 {
		t.Errorf("the failed export's stream (%d bytes) ends as a complete tar", len(stream))
	}
	cmd := exec.Command("tar", "-t", "-f", "-")
	cmd.Stdin = strings.NewReader(stream)
	out, err := cmd.CombinedOutput()
	t.Logf("tar -t on the %d-byte stream: %v: %q", len(stream), err, out)
	listed := func(name string) bool { return strings.TrimLeft(name, "./") == lost }
	if err == nil && slices.ContainsFunc(lines(string(out)), listed) {
		t.Errorf("tar reads the failed export's stream (%d bytes) to its end, %s whole in it", len(stream), lost)
	}
}
