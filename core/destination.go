package core

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/term"
)

// Destination is where an export goes — a directory, a tar file or a tar
// stream — and how it is made final. Every backend's export goes through
// one, so DEST is handled the same way whichever backend wrote it:
//
//   - a directory that does not exist is written as .DEST.ocix-XXXX/rootfs
//     beside it and renamed into place only when complete;
//   - an existing empty directory (a mount point, say) is filled in place
//     and emptied again on failure;
//   - a non-empty directory is refused unless forced, and then extracted
//     over as `tar -x -C DEST` would;
//   - a tar file is written as FILE.ocix-XXXX and renamed on success;
//   - a tar stream (stdout) cannot be taken back: the backend withholds the
//     end-of-archive blocks unless it succeeds, so `tar -x` sees a failure.
//
// ocix's temporary directory beside DEST also holds the backend's scratch
// space; for a stream, scratch space is in ocix's cache directory.
type Destination struct {
	// Dir is the directory the backend writes the tree into; empty for tar.
	Dir string
	// Tar is the file the backend writes the tar stream into; nil for a tree.
	Tar *os.File
	// Scratch is the backend's private temporary directory.
	Scratch string

	final    string // the path the user named, made final by Commit
	tempDir  string // ocix's own directory: beside DEST, or in the cache for a stream
	tempFile string // the tar being written beside FILE
	inPlace  bool   // Dir is the user's existing directory
	wasEmpty bool   // …and it was empty: emptied again on failure
}

// tempSuffix marks ocix's temporary files and directories beside DEST.
const tempSuffix = ".ocix-"

// DirDestination prepares an export into directory path.
func DirDestination(path string, force bool) (*Destination, error) {
	path = filepath.Clean(path)
	parent, base := filepath.Split(path)
	if parent == "" {
		parent = "."
	}
	d := &Destination{final: path}
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if pst, perr := os.Stat(parent); perr != nil || !pst.IsDir() {
			return nil, Usagef("cannot export into %s: its parent directory %s does not exist", path, parent)
		}
	case err != nil:
		return nil, fmt.Errorf("cannot export into %s: %w", path, err)
	case !st.IsDir():
		return nil, Usagef("cannot export into %s: it exists and is not a directory", path)
	default:
		empty, err := isEmptyDir(path)
		if err != nil {
			return nil, fmt.Errorf("cannot export into %s: %w", path, err)
		}
		if !empty && !force {
			return nil, Usagef("cannot export into %s: it is not empty (--force extracts over it, as tar -x would)", path)
		}
		d.Dir, d.inPlace, d.wasEmpty = path, true, empty
	}
	if err := d.makeTemp(parent, "."+base+tempSuffix); err != nil {
		return nil, fmt.Errorf("cannot export into %s: %w", path, err)
	}
	if !d.inPlace {
		d.Dir = filepath.Join(d.tempDir, "rootfs")
		if err := os.Mkdir(d.Dir, 0o755); err != nil {
			d.Abort()
			return nil, err
		}
	}
	return d, nil
}

// FileDestination prepares a tar export into file path.
func FileDestination(path string) (*Destination, error) {
	path = filepath.Clean(path)
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return nil, Usagef("cannot write the tar to %s: it is a directory", path)
	}
	f, err := os.CreateTemp(dir, base+tempSuffix)
	if err != nil {
		return nil, Usagef("cannot write the tar to %s: %v", path, err)
	}
	d := &Destination{Tar: f, final: path, tempFile: f.Name()}
	if err := d.makeTemp(dir, "."+base+tempSuffix); err != nil {
		d.Abort()
		return nil, err
	}
	return d, nil
}

// StreamDestination prepares a tar export to out, the user's stdout, with
// scratch space under cacheDir. A terminal is refused, as docker does.
func StreamDestination(out *os.File, cacheDir string) (*Destination, error) {
	if term.IsTerminal(int(out.Fd())) {
		return nil, Usagef("refusing to write a tar stream to a terminal: redirect stdout or use -o FILE")
	}
	if err := os.MkdirAll(cacheDir, 0o700); err != nil {
		return nil, fmt.Errorf("cache directory: %w", err)
	}
	d := &Destination{Tar: out}
	if err := d.makeTemp(cacheDir, "export"+tempSuffix); err != nil {
		return nil, fmt.Errorf("cache directory: %w", err)
	}
	return d, nil
}

// makeTemp makes ocix's own temporary directory, with the backend's
// scratch space in it.
func (d *Destination) makeTemp(parent, pattern string) error {
	var err error
	if d.tempDir, err = os.MkdirTemp(parent, pattern); err != nil {
		return err
	}
	d.Scratch = filepath.Join(d.tempDir, "scratch")
	return os.Mkdir(d.Scratch, 0o700)
}

// Commit makes a finished export final. Call it only after the backend
// reported success.
func (d *Destination) Commit() error {
	defer os.RemoveAll(d.tempDir)
	switch {
	case d.tempFile != "":
		if err := d.Tar.Close(); err != nil {
			return err
		}
		return os.Rename(d.tempFile, d.final)
	case d.Dir != "" && !d.inPlace:
		if err := os.Rename(d.Dir, d.final); err != nil {
			return fmt.Errorf("cannot move the exported tree into place: %w", err)
		}
	}
	return nil
}

// Abort throws away whatever the export wrote, except a forced export into
// a non-empty directory, which stays as far as it got (as tar -x would).
func (d *Destination) Abort() {
	if d.tempFile != "" {
		d.Tar.Close()
		os.Remove(d.tempFile)
	}
	if d.inPlace && d.wasEmpty {
		emptyDir(d.Dir)
	}
	if d.tempDir != "" {
		os.RemoveAll(d.tempDir)
	}
}

func isEmptyDir(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	return false, err
}

// emptyDir removes everything inside dir, keeping dir itself.
func emptyDir(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}
