package core

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// leftovers lists ocix's temporary names in dir.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.Contains(e.Name(), tempSuffix) {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestNewDirectoryIsRenamedIntoPlaceOnlyOnCommit(t *testing.T) {
	parent := t.TempDir()
	dest := filepath.Join(parent, "rootfs")
	d, err := DirDestination(dest, false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(filepath.Base(filepath.Dir(d.Dir)), ".rootfs.ocix-") || d.Scratch == "" {
		t.Fatalf("tree %s, scratch %s: want them in .rootfs.ocix-XXXX beside DEST", d.Dir, d.Scratch)
	}
	os.WriteFile(filepath.Join(d.Dir, "file"), []byte("x"), 0o644)
	if _, err := os.Stat(dest); !os.IsNotExist(err) {
		t.Fatal("DEST exists before the commit")
	}
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "file")); err != nil || string(b) != "x" {
		t.Fatalf("after commit: %q %v", b, err)
	}
	if l := leftovers(t, parent); len(l) != 0 {
		t.Fatalf("left behind: %v", l)
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	parent := t.TempDir()
	dest := filepath.Join(parent, "rootfs")
	d, err := DirDestination(dest, false)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(d.Dir, "half"), []byte("x"), 0o644)
	d.Abort()
	if _, err := os.Stat(dest); !os.IsNotExist(err) {
		t.Fatal("DEST exists after an abort")
	}
	if l := leftovers(t, parent); len(l) != 0 {
		t.Fatalf("left behind: %v", l)
	}
}

func TestEmptyDirectoryIsFilledInPlaceAndEmptiedOnFailure(t *testing.T) {
	parent := t.TempDir()
	dest := filepath.Join(parent, "mnt")
	os.Mkdir(dest, 0o755)
	d, err := DirDestination(dest, false)
	if err != nil || d.Dir != dest {
		t.Fatalf("dir %q, %v", d.Dir, err)
	}
	os.MkdirAll(filepath.Join(dest, "a/b"), 0o755)
	d.Abort()
	if empty, _ := isEmptyDir(dest); !empty {
		t.Fatal("DEST not emptied after a failed export")
	}
	if l := leftovers(t, parent); len(l) != 0 {
		t.Fatalf("left behind: %v", l)
	}
}

func TestNonEmptyDirectoryNeedsForce(t *testing.T) {
	dest := t.TempDir()
	os.WriteFile(filepath.Join(dest, "keep"), []byte("mine"), 0o644)
	if _, err := DirDestination(dest, false); err == nil || ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("err = %v", err)
	}
	d, err := DirDestination(dest, true)
	if err != nil || d.Dir != dest {
		t.Fatalf("--force: %q %v", d.Dir, err)
	}
	d.Abort()
	if b, _ := os.ReadFile(filepath.Join(dest, "keep")); string(b) != "mine" {
		t.Fatal("a forced export's abort removed the user's files")
	}
}

func TestBadDirectoryDestinations(t *testing.T) {
	parent := t.TempDir()
	file := filepath.Join(parent, "file")
	os.WriteFile(file, nil, 0o644)
	for dest, want := range map[string]string{
		file:                               "not a directory",
		filepath.Join(parent, "no/such/x"): "parent directory",
	} {
		if _, err := DirDestination(dest, false); err == nil || ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want a usage error with %q", dest, err, want)
		}
	}
}

func TestTarFileIsRenamedOnCommitOnly(t *testing.T) {
	parent := t.TempDir()
	out := filepath.Join(parent, "image.tar")
	d, err := FileDestination(out)
	if err != nil {
		t.Fatal(err)
	}
	d.Tar.WriteString("data")
	d.Abort()
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatal("FILE exists after an abort")
	}
	if l := leftovers(t, parent); len(l) != 0 {
		t.Fatalf("left behind: %v", l)
	}
	d, err = FileDestination(out)
	if err != nil {
		t.Fatal(err)
	}
	d.Tar.WriteString("data")
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); string(b) != "data" {
		t.Fatalf("FILE holds %q", b)
	}
	if l := leftovers(t, parent); len(l) != 0 {
		t.Fatalf("left behind: %v", l)
	}
}

func TestStreamScratchLivesInTheCache(t *testing.T) {
	cache := t.TempDir()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	d, err := StreamDestination(w, cache)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(d.Scratch, cache) || d.Tar != w {
		t.Fatalf("scratch %s", d.Scratch)
	}
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	if l := leftovers(t, cache); len(l) != 0 {
		t.Fatalf("left in the cache: %v", l)
	}
}
