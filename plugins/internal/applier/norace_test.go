//go:build !race

package applier

const raceEnabled = false
