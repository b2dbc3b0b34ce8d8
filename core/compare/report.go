// Package compare runs one job on several backends and says exactly where
// their answers differ: `ocix compare tags|export|run|dirs`.
package compare

import "github.com/ocix/ocix/core"

// Verdicts, and the exit codes they give (diff's convention).
const (
	Agree  = "agree"  // exit 0
	Differ = "differ" // exit 1
	Failed = "error"  // exit 2: a backend failed; the others were compared
)

// Report is what a comparison found. Its JSON form is described by
// schema.json in this package.
type Report struct {
	Mode     string    `json:"mode"`    // tags, export, run or dirs
	Subject  string    `json:"subject"` // the image, or the two directories
	Verdict  string    `json:"verdict"`
	Backends []Outcome `json:"backends"`
	// Tags lists the tags not every backend listed (tags mode).
	Tags []TagPresence `json:"tags,omitempty"`
	// Paths lists how the trees differ path by path (export and dirs).
	Paths []PathDifference `json:"paths,omitempty"`
	// Outputs lists how the runs differ: stdout, stderr, exit (run).
	Outputs []Values `json:"outputs,omitempty"`
}

// Outcome is one backend's run of the job.
type Outcome struct {
	Backend string  `json:"backend"`
	Seconds float64 `json:"seconds"`
	Error   string  `json:"error,omitempty"`
	// Tags mode: how many tags it listed.
	Count int `json:"count,omitempty"`
	// Export mode: the tree it wrote (kept with --keep) and its entries.
	Dir     string `json:"dir,omitempty"`
	Entries int    `json:"entries,omitempty"`
	// Run mode: what the container printed and its exit code.
	Stdout   string `json:"stdout,omitempty"`
	Stderr   string `json:"stderr,omitempty"`
	ExitCode int    `json:"exitCode,omitempty"`
}

// TagPresence is a tag and the backends that listed it.
type TagPresence struct {
	Tag string   `json:"tag"`
	In  []string `json:"in"`
}

// PathDifference is one field of one path whose value is not the same in
// every tree, with each backend's value ("(absent)" when a tree lacks the
// path: Field "presence"). Engine marks a path container engines add to
// every export (/.dockerenv, /etc/hosts…), not something of the image's.
type PathDifference struct {
	Path   string            `json:"path"`
	Field  string            `json:"field"`
	Values map[string]string `json:"values"`
	Engine bool              `json:"engine,omitempty"`
}

// Values is one output field and each backend's value of it.
type Values struct {
	Field  string            `json:"field"`
	Values map[string]string `json:"values"`
}

// ExitCode is diff's: 0 all agree, 1 they differ, 2 trouble.
func (r *Report) ExitCode() int {
	switch r.Verdict {
	case Agree:
		return core.ExitOK
	case Differ:
		return core.ExitFailed
	}
	return core.ExitUsage
}

// settle sets the verdict: an error trumps a difference.
func (r *Report) settle(differ bool) {
	r.Verdict = Agree
	if differ {
		r.Verdict = Differ
	}
	for _, o := range r.Backends {
		if o.Error != "" {
			r.Verdict = Failed
		}
	}
}
