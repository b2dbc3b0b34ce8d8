//go:build e2e

package e2e

import (
	"fmt"
	"slices"
	"strings"
	"sync"
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
