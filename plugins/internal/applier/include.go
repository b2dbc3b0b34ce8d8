package applier

import "fmt"

// maxIncludes bounds the include list, which symlinks extend, so that a
// web of symlinks in a hostile image cannot grow it without end.
const maxIncludes = 1024

// includeFilter decides, while streaming, which entries Options.Include
// keeps: an included path, everything below it, and its ancestors. A
// symlink kept because an included path lies at or below it adds where it
// points, so "/lib/x" also brings "/usr/lib/x" when /lib -> usr/lib.
type includeFilter struct {
	paths []string // cleaned, relative
	seen  map[string]bool
}

// newIncludeFilter returns nil, meaning everything, for no paths or for
// the root.
func newIncludeFilter(paths []string) (*includeFilter, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	f := &includeFilter{seen: make(map[string]bool)}
	for _, p := range paths {
		c, err := cleanName(p)
		if err != nil {
			return nil, fmt.Errorf("include path %q: %w", p, err)
		}
		if c == "." {
			return nil, nil
		}
		f.add(c)
	}
	return f, nil
}

func (f *includeFilter) add(p string) {
	if len(f.paths) < maxIncludes && !f.seen[p] {
		f.seen[p] = true
		f.paths = append(f.paths, p)
	}
}

// match reports whether the entry name is kept.
func (f *includeFilter) match(name string) bool {
	for _, p := range f.paths {
		if within(name, p) || within(p, name) {
			return true
		}
	}
	return false
}

// follow adds, for each included path at or below symlink name, the same
// path through the symlink's destination (resolved in the image as the
// kernel would resolve it in the root).
func (f *includeFilter) follow(name, target string) {
	dir, _ := split(name)
	dest := linkDest(dir, target)
	for _, p := range f.paths {
		switch {
		case p == name:
			f.add(dest)
		case within(p, name):
			f.add(join(dest, p[len(name)+1:]))
		}
	}
}
