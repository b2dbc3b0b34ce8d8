package applier

import (
	"errors"
	"path"
	"strings"
)

var errClimbs = errors.New("path climbs above the root")

// cleanName returns a tar entry name (or hard link target) as a cleaned
// path relative to the root: "./usr//bin/../bin/x" is "usr/bin/x",
// "/etc/x" is "etc/x", "/" and "./" are ".". A name that climbs above the
// root is refused rather than clamped: no layer built from a real
// filesystem has one, so it is an attack or a broken archive.
func cleanName(name string) (string, error) {
	c := path.Clean(strings.TrimLeft(name, "/"))
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", errClimbs
	}
	return c, nil
}

// split returns the directory and last component of a cleaned relative
// path; the directory of a top-level name is ".".
func split(name string) (dir, base string) {
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return ".", name
	}
	return name[:i], name[i+1:]
}

// join appends a component to a cleaned relative path.
func join(dir, name string) string {
	if dir == "." {
		return name
	}
	return dir + "/" + name
}

// within reports whether name is dir or below it (both cleaned, relative).
func within(name, dir string) bool {
	if dir == "." {
		return true
	}
	return strings.HasPrefix(name, dir) && (len(name) == len(dir) || name[len(dir)] == '/')
}
