package runc

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// host is what config.json must fit on this machine: the hard resource
// limits ocix runs under. runc sets a container's limits as root but
// without raising them past these unless it has CAP_SYS_RESOURCE, which
// some sandboxes drop: there, a limit above them fails the whole start
// with EPERM. So a limit is lowered to fit, never raised.
type host struct {
	// hard is the hard limit of each resource by its rlimit name.
	hard map[string]uint64
}

var rlimits = map[string]int{
	"RLIMIT_NOFILE": unix.RLIMIT_NOFILE,
	"RLIMIT_NPROC":  unix.RLIMIT_NPROC,
	"RLIMIT_CORE":   unix.RLIMIT_CORE,
	"RLIMIT_STACK":  unix.RLIMIT_STACK,
}

// thisHost reads the limits ocix's process has.
func thisHost() host {
	h := host{hard: map[string]uint64{}}
	for name, res := range rlimits {
		var l unix.Rlimit
		if unix.Getrlimit(res, &l) == nil {
			h.hard[name] = l.Max
		}
	}
	return h
}

// fit lowers each limit to the host's hard limit.
func (h host) fit(limits []specs.POSIXRlimit) []specs.POSIXRlimit {
	out := make([]specs.POSIXRlimit, len(limits))
	for i, l := range limits {
		if max, ok := h.hard[l.Type]; ok {
			l.Hard, l.Soft = min(l.Hard, max), min(l.Soft, max)
		}
		out[i] = l
	}
	return out
}
