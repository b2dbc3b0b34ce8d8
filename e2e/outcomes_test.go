//go:build e2e

package e2e

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The reliability suites (faults, interruption, crashes, concurrency) judge
// every run one of three ways and count them in one table.

type outcome string

const (
	// survived: the right result.
	survived outcome = "survived"
	// clearFailure: the exit code ocix owes and exactly one "ocix:" line.
	clearFailure outcome = "clear failure"
	// wrong: anything else — a wrong result, no end, several lines,
	// something left behind.
	wrong outcome = "wrong"
)

// outcomeTable counts runs per row (a fault), column (a backend), outcome
// and operation ("" when a row has one).
type outcomeTable struct {
	mu     sync.Mutex
	rows   []string // in the order first seen
	counts map[string]map[string]map[outcome]map[string]int
}

func (ot *outcomeTable) add(row, col, op string, o outcome) {
	ot.mu.Lock()
	defer ot.mu.Unlock()
	if ot.counts == nil {
		ot.counts = map[string]map[string]map[outcome]map[string]int{}
	}
	if ot.counts[row] == nil {
		ot.counts[row] = map[string]map[outcome]map[string]int{}
		ot.rows = append(ot.rows, row)
	}
	if ot.counts[row][col] == nil {
		ot.counts[row][col] = map[outcome]map[string]int{}
	}
	if ot.counts[row][col][o] == nil {
		ot.counts[row][col][o] = map[string]int{}
	}
	ot.counts[row][col][o][op]++
}

// markdown is the table: a row per fault (rows, or the order seen when
// nil), a column per backend that ran, each cell the runs per outcome and
// the operations they were.
func (ot *outcomeTable) markdown(rows []string) string {
	ot.mu.Lock()
	defer ot.mu.Unlock()
	if rows == nil {
		rows = ot.rows
	}
	var cols []string
	for _, b := range backends {
		for _, r := range rows {
			if ot.counts[r][b.name] != nil && !slices.Contains(cols, b.name) {
				cols = append(cols, b.name)
			}
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "| fault | %s |\n|---|%s\n", strings.Join(cols, " | "), strings.Repeat("---|", len(cols)))
	for _, r := range rows {
		fmt.Fprintf(&sb, "| %s |", r)
		for _, c := range cols {
			var cell []string
			for _, o := range []outcome{survived, clearFailure, wrong} {
				runs, ops := 0, []string{}
				for op, n := range ot.counts[r][c][o] {
					runs += n
					if op != "" {
						ops = append(ops, op)
					}
				}
				if runs == 0 {
					continue
				}
				s := fmt.Sprintf("%s %d", o, runs)
				if len(ops) > 0 {
					slices.Sort(ops)
					s += " (" + strings.Join(ops, ", ") + ")"
				}
				cell = append(cell, s)
			}
			if len(cell) == 0 {
				cell = []string{"—"}
			}
			fmt.Fprintf(&sb, " %s |", strings.Join(cell, "; "))
		}
		sb.WriteString("\n")
	}
	return sb.String()
}

// expect is how a run must end.
type expect struct {
	code int
	as   outcome // what ending so counts as
	// line is what ocix's one stderr line holds; "" wants no stderr at
	// all (a container's own exit code is not ocix's error).
	line string
	// within bounds the exit after the (last) signal or kill; after is
	// the earliest it may come (a stop timeout).
	within, after time.Duration
}

// ending is what a run did and what it left.
type ending struct {
	code     int
	took     time.Duration // from the (last) signal or kill to ocix's exit
	stderr   string
	problems []string // what makes the run wrong whatever its exit
	notes    []string // facts worth the log line
}

func (e *ending) problem(format string, a ...any) {
	e.problems = append(e.problems, fmt.Sprintf(format, a...))
}

func (e *ending) note(format string, a ...any) { e.notes = append(e.notes, fmt.Sprintf(format, a...)) }

// judge is the run's verdict and, when wrong, why.
func (x expect) judge(e ending) (outcome, []string) {
	var why []string
	if e.code != x.code {
		why = append(why, fmt.Sprintf("exit %d, want %d", e.code, x.code))
	}
	if e.took > x.within {
		why = append(why, fmt.Sprintf("exited %v after the signal, bound %v", e.took.Round(time.Millisecond), x.within))
	}
	if e.took < x.after {
		why = append(why, fmt.Sprintf("exited %v after the signal, before the stop timeout %v", e.took.Round(time.Millisecond), x.after))
	}
	got := lines(e.stderr)
	switch {
	case x.line == "" && len(got) > 0:
		why = append(why, fmt.Sprintf("stderr %q, want none", got))
	case x.line != "" && (len(got) != 1 || !strings.HasPrefix(got[0], "ocix: ") || !strings.Contains(got[0], x.line)):
		why = append(why, fmt.Sprintf("stderr %q, want one line with %q", got, x.line))
	}
	why = append(why, e.problems...)
	if len(why) > 0 {
		return wrong, why
	}
	return x.as, nil
}

// tally counts the runs' outcomes per fault and backend.
type tally struct{ outcomeTable }

// record judges a run, logs its outcome line, fails the test if it is
// wrong, and counts it.
func (tl *tally) record(t *testing.T, fault, backend string, run int, x expect, e ending) {
	t.Helper()
	v, why := x.judge(e)
	tl.add(fault, backend, "", v)
	line := fmt.Sprintf("outcome: %s | %s | run %d | %s | exit %d after %v", fault, backend, run, v, e.code, e.took.Round(time.Millisecond))
	if s := strings.TrimSpace(e.stderr); s != "" {
		line += " | " + s
	}
	if len(e.notes) > 0 {
		line += " | " + strings.Join(e.notes, "; ")
	}
	if v == wrong {
		t.Errorf("%s | %s", line, strings.Join(why, "; "))
		return
	}
	t.Log(line)
}
