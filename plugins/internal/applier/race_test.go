//go:build race

package applier

// raceEnabled: the race detector makes each entry about ten times dearer,
// so the tests that apply millions of entries apply fewer.
const raceEnabled = true
