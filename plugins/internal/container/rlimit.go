package container

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// rlimitFailure matches how the runtimes report a resource limit they were
// refused: runc's "error setting rlimit type 7: operation not permitted",
// crun's "setrlimit `RLIMIT_NOFILE`: Operation not permitted".
var rlimitFailure = regexp.MustCompile(`(?i)(?:setting rlimit type (\d+)|setrlimit\W+(RLIMIT_[A-Z]+))\W*:?\s*(operation not permitted|permission denied)`)

// rlimitNames are Linux's resource numbers, as runc prints them.
var rlimitNames = []string{
	"RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS",
	"RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS",
	"RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
}

// RlimitError tells a container that could not start because its runtime
// was refused a resource limit the engine asked for — a host without
// CAP_SYS_RESOURCE cannot raise a limit above its own hard limit — in one
// line naming the limit and fix, the setting to change (such as
// "default_ulimits in the podman service's containers.conf"). Other
// errors are returned as they are. The original error stays wrapped.
func RlimitError(err error, fix string) error {
	if err == nil {
		return nil
	}
	m := rlimitFailure.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	name := strings.ToUpper(m[2])
	if m[1] != "" {
		name = "rlimit " + m[1]
		if n, convErr := strconv.Atoi(m[1]); convErr == nil && n < len(rlimitNames) {
			name = rlimitNames[n]
		}
	}
	return &rlimitError{err: err, msg: fmt.Sprintf(
		"the container runtime was refused %s (%s): the engine asks for more than this host's hard limit allows (see ulimit -H -a); %s",
		name, strings.ToLower(m[3]), fix)}
}

type rlimitError struct {
	err error
	msg string
}

func (e *rlimitError) Error() string { return e.msg }
func (e *rlimitError) Unwrap() error { return e.err }
