package pluginhost

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Prefix is how every plugin executable's name starts: ocix-plugin-NAME.
const Prefix = "ocix-plugin-"

var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// Finder looks for plugin executables, in order: the configured plugin
// directory, the directory of the ocix binary, then $PATH.
type Finder struct {
	PluginDir string // --plugin-dir / OCIX_PLUGIN_DIR / config plugin-dir
	SelfDir   string // where the running ocix binary lives
	Path      string // $PATH
	// Warn reports a candidate that is skipped, naming it.
	Warn func(msg string)
}

// searchDir is one place plugins are looked up, and how to name it.
type searchDir struct{ dir, label string }

func (f Finder) dirs() []searchDir {
	var out []searchDir
	add := func(dir, label string) {
		if dir == "" {
			return
		}
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs
		}
		if !slices.ContainsFunc(out, func(d searchDir) bool { return d.dir == dir }) {
			out = append(out, searchDir{dir, label})
		}
	}
	add(f.PluginDir, "plugin-dir "+f.PluginDir)
	add(f.SelfDir, f.SelfDir+" (ocix's directory)")
	for _, d := range filepath.SplitList(f.Path) {
		add(d, "$PATH")
	}
	return out
}

// Candidates lists the executables that may serve backend name, best first.
// A file with the right name that cannot be executed is skipped with a
// warning; a candidate that turns out to speak another protocol is the
// caller's to skip.
func (f Finder) Candidates(name string) []string {
	var out []string
	for _, d := range f.dirs() {
		p := filepath.Join(d.dir, Prefix+name)
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
			f.warn(fmt.Sprintf("skipping plugin %s: not an executable file", p))
			continue
		}
		out = append(out, p)
	}
	return out
}

// Names lists every backend some directory has a plugin for, sorted.
func (f Finder) Names() []string {
	var names []string
	for _, d := range f.dirs() {
		entries, err := os.ReadDir(d.dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			name, ok := strings.CutPrefix(e.Name(), Prefix)
			if !ok || !validName.MatchString(name) || slices.Contains(names, name) {
				continue
			}
			if st, err := os.Stat(filepath.Join(d.dir, e.Name())); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0 {
				names = append(names, name)
			}
		}
	}
	slices.Sort(names)
	return names
}

// Where says where Candidates looked, for a "not found" error.
func (f Finder) Where() string {
	var parts []string
	path := false
	for _, d := range f.dirs() {
		if d.label == "$PATH" {
			path = true
			continue
		}
		parts = append(parts, d.label)
	}
	if path {
		parts = append(parts, "$PATH")
	}
	return strings.Join(parts, ", ")
}

func (f Finder) warn(msg string) {
	if f.Warn != nil {
		f.Warn(msg)
	}
}
