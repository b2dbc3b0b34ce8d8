package applier

import "fmt"

// warnKind is a kind of problem that does not stop extraction. Each kind
// is reported once, with a count, so an image with a thousand device nodes
// gives one line, not a thousand.
type warnKind int

const (
	warnOwner        warnKind = iota // not root: files belong to the current user
	warnChown                        // root, but the kernel refused an owner (user namespace)
	warnDevice                       // device node not permitted
	warnXattr                        // extended attribute refused by the filesystem
	warnXattrDropped                 // extended attribute a root filesystem does not carry (keepXattr)
	warnType                         // entry of a type that has no meaning here
	warnLinkExcluded                 // hard link whose target Include left out
	warnWhiteoutDir                  // entry below a whiteout-named directory
	numWarnKinds
)

// warnFormats take the count and the first occurrence's detail.
var warnFormats = [numWarnKinds]string{
	warnOwner:        "ownership not applied to %d entries (not running as root): they belong to the current user; first: %s",
	warnChown:        "could not set the owner of %d entries (ids not mapped in this user namespace?); first: %s",
	warnDevice:       "%d device nodes not created (not permitted; not running as root?); first: %s",
	warnXattr:        "%d extended attributes not set (refused by the filesystem); first: %s",
	warnXattrDropped: "%d extended attributes dropped (trusted.*, security.* but security.capability, system.* but POSIX ACLs: a root filesystem export does not carry them); first: %s",
	warnType:         "%d entries of unsupported types skipped; first: %s",
	warnLinkExcluded: "%d hard links skipped because their targets are not included; first: %s",
	warnWhiteoutDir:  "%d entries below whiteout-named directories skipped; first: %s",
}

type warnings struct {
	count [numWarnKinds]int
	first [numWarnKinds]string
}

// add counts a problem; the detail is formatted for the first one only.
func (w *warnings) add(k warnKind, format string, args ...any) {
	if w.count[k] == 0 {
		w.first[k] = fmt.Sprintf(format, args...)
	}
	w.count[k]++
}

// flush sends one line per kind seen to fn and forgets them.
func (w *warnings) flush(fn func(string)) {
	for k := range numWarnKinds {
		if w.count[k] > 0 && fn != nil {
			fn(fmt.Sprintf(warnFormats[k], w.count[k], w.first[k]))
		}
	}
	*w = warnings{}
}
