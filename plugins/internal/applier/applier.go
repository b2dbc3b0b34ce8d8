// Package applier applies image layers, OCI or Docker layer tars, in order
// into a root directory with the overlay semantics of the OCI image spec's
// "Applying Changesets": whiteouts and opaque directories hide what lower
// layers wrote, an entry replaces whatever lower layers had at its path, and
// regular files are always new inodes, so a hard link made by a lower layer
// keeps its content when an upper layer rewrites the path it linked to, as
// an overlayfs copy-up does.
//
// Images are untrusted. Every path is resolved inside the root (package
// inroot: openat2 with RESOLVE_IN_ROOT, or on kernels without it a walk
// with the same guarantee, so an absolute symlink such as
// /var/run -> /run means the root's /run, as it will at run time) and every
// change is made by an *at system call on the final component, relative to
// the descriptor of its parent, never following a symlink there. Names that
// climb above the root with ".." are refused.
//
// The same Applier takes a flattened tar (docker export, crane export) as
// a single layer.
package applier

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// copyBufSize is the file copy buffer: large enough that big files are
// written in few system calls, small enough to keep memory flat.
const copyBufSize = 512 << 10

// Options configures an Applier. The zero value extracts everything and
// applies ownership when running as root, as tar does.
type Options struct {
	// Include, when non-empty, extracts only these paths (absolute in the
	// image, like "/etc/passwd" or "/usr/lib") and what they need: their
	// parent directories, everything below a directory, and, for a symlink
	// on the way to one of them or at it, where it points. Filtering is
	// done while streaming: entries that a symlink leads to are kept only
	// if they come after the symlink in the layer order.
	Include []string
	// NoSameOwner leaves the files owned by the current user instead of
	// applying uid and gid from the tar. When not running as root ownership
	// is never applied, and Warn says so once.
	NoSameOwner bool
	// Warn receives, when Finish runs, one line per kind of problem that
	// did not stop extraction, with a count. Nil discards them.
	Warn func(msg string)
}

// Stats counts what Apply read.
type Stats struct {
	Entries int64 // tar entries read
	Bytes   int64 // regular file content written
	Skipped int64 // entries left out by Include or of an unsupported type
}

// Applier applies layers into one root directory. It is not safe for
// concurrent use. Call Apply once per layer, lowest first, then Finish,
// then Close.
type Applier struct {
	rootfd     int
	dirs       dirStack
	owner      bool            // apply uid and gid from the tar
	warnOwner  bool            // ownership is not applied only because we are not root
	euid, egid int             // owner of what we create when owner is false
	umask      uint32          // what the kernel masks off creation modes
	include    *includeFilter  // nil extracts everything
	upper      upperSet        // what the current layer wrote: its whiteouts spare it
	dirMeta    map[string]meta // directory metadata Finish applies after the contents
	warns      warnings
	warnFn     func(string)
	br         *bufio.Reader // reused; tar headers are read 512 bytes at a time
	buf        []byte        // reused file copy buffer
	finished   bool
	done       <-chan struct{} // the current Apply's ctx.Done(), checked while copying
	limits     limits          // zero: the bounds of bounds.go
	used       used
}

// New returns an Applier for root, an existing directory. The directory
// may be non-empty: layers are then applied over what it holds, as
// `tar -x -C root` would.
func New(root string, opts Options) (*Applier, error) {
	inc, err := newIncludeFilter(opts.Include)
	if err != nil {
		return nil, err
	}
	rootfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: root, Err: err}
	}
	euid := os.Geteuid()
	return &Applier{
		rootfd:    rootfd,
		dirs:      dirStack{rootfd: rootfd},
		owner:     !opts.NoSameOwner && euid == 0,
		warnOwner: !opts.NoSameOwner && euid != 0,
		euid:      euid,
		egid:      os.Getegid(),
		umask:     processUmask(),
		include:   inc,
		upper:     newUpperSet(),
		dirMeta:   make(map[string]meta),
		warnFn:    opts.Warn,
		br:        bufio.NewReaderSize(nil, 64<<10),
		buf:       make([]byte, copyBufSize),
	}, nil
}

// Apply applies one layer, an uncompressed tar stream. It stops at the
// first entry it cannot apply, with an error naming that entry, and checks
// ctx between entries.
func (a *Applier) Apply(ctx context.Context, layer io.Reader) (Stats, error) {
	var st Stats
	if a.finished {
		return st, errors.New("layer applier: Apply after Finish")
	}
	a.br.Reset(layer)
	defer a.br.Reset(nil)
	a.upper.reset()
	tr := tar.NewReader(a.br)
	done := ctx.Done()
	a.done = done
	defer func() { a.done = nil }()
	for {
		select {
		case <-done:
			return st, ctx.Err()
		default:
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			return st, nil
		}
		if err != nil {
			return st, fmt.Errorf("reading layer: %w", err)
		}
		st.Entries++
		if err := a.countEntry(); err != nil {
			return st, err
		}
		if err := a.entry(hdr, tr, &st); err != nil {
			if err == errCancelled {
				return st, ctx.Err()
			}
			return st, fmt.Errorf("layer entry %q: %w", hdr.Name, err)
		}
	}
}

// Finish does the work deferred until every layer is applied: directory
// metadata, set after the directories' contents (which change their
// mtimes) and deepest first (so that a read-only directory is still
// writable while its children are done); then it reports the warnings.
func (a *Applier) Finish() error {
	if a.finished {
		return nil
	}
	a.finished = true
	a.dirs.reset()
	defer a.warns.flush(a.warnFn)
	return a.applyDirMeta()
}

// Close releases the descriptors the Applier holds.
func (a *Applier) Close() error {
	a.dirs.reset()
	if a.rootfd < 0 {
		return nil
	}
	err := unix.Close(a.rootfd)
	a.rootfd = -1
	return err
}

// processUmask reads the umask without changing it (umask(2) can only be
// read by setting it, which races with other goroutines creating files).
// Unknown, it is taken as 0777 so that every mode is set explicitly.
func processUmask() uint32 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0o777
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "Umask:"); ok {
			if m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
				return uint32(m)
			}
		}
	}
	return 0o777
}
