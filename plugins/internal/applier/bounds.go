package applier

import (
	"bytes"
	"fmt"
)

// Bounds on what one Applier takes, across all its layers. Layers are
// untrusted and compress well: a few megabytes of gzip can hold millions
// of empty entries or a terabyte of zeros. Each bound is far above any
// real image, so that what meets one is refused with a clear error
// instead of filling memory or running for hours.
const (
	// maxEntries bounds tar entries. Memory grows with them (the current
	// layer's paths for its whiteouts, directory metadata until Finish)
	// and so does time. The largest real images hold about a million.
	maxEntries = 1 << 22
	// maxContent bounds the logical bytes of file content. Runs of zeros
	// are written as holes (copyData), so a sparse or all-zero file takes
	// no disk, but reading a terabyte still takes minutes.
	maxContent = 1 << 40
	// maxDirMeta bounds the memory held for directory metadata until
	// Finish: paths, extended attributes and a fixed cost per directory.
	maxDirMeta = 256 << 20
	// dirMetaCost is what a directory's entry in dirMeta costs beyond its
	// path and attributes: the map slot and the meta struct.
	dirMetaCost = 96
)

// limits are the bounds an Applier enforces; the zero value means the
// constants above (tests set smaller ones).
type limits struct {
	entries, content, dirMeta int64
}

func (l limits) or(v, def int64) int64 {
	if v > 0 {
		return v
	}
	return def
}

// used counts what an Applier has taken against its limits.
type used struct {
	entries, content, dirMeta int64
}

// countEntry counts one tar entry against maxEntries.
func (a *Applier) countEntry() error {
	a.used.entries++
	if max := a.limits.or(a.limits.entries, maxEntries); a.used.entries > max {
		return fmt.Errorf("the layers hold more than %d entries: refusing what looks like an entry-count bomb", max)
	}
	return nil
}

// countContent counts n bytes of file content against maxContent.
func (a *Applier) countContent(n int64) error {
	a.used.content += n
	if max := a.limits.or(a.limits.content, maxContent); a.used.content > max {
		return fmt.Errorf("the layers hold more than %d bytes of file content: refusing what looks like a decompression bomb", max)
	}
	return nil
}

// countDirMeta counts the metadata of directory name, held until Finish,
// against maxDirMeta.
func (a *Applier) countDirMeta(name string, m *meta) error {
	n := int64(len(name) + dirMetaCost)
	for _, x := range m.xattrs {
		n += int64(len(x.name) + len(x.value))
	}
	a.used.dirMeta += n
	if max := a.limits.or(a.limits.dirMeta, maxDirMeta); a.used.dirMeta > max {
		return fmt.Errorf("the layers' directories need more than %d bytes of metadata held until the end: refusing what looks like a memory bomb", max)
	}
	return nil
}

// zeros is compared with what copyData reads to find runs of zeros.
var zeros [copyBufSize]byte

func allZero(b []byte) bool { return bytes.Equal(b, zeros[:len(b)]) }
