package container

import (
	"errors"
	"strings"
	"testing"
)

func TestRlimitError(t *testing.T) {
	const fix = "set default_ulimits"
	for msg, want := range map[string]string{
		"runc: runc create failed: unable to start container process: error during container init: error setting rlimits for ready process: error setting rlimit type 7: operation not permitted: OCI permission denied": "refused RLIMIT_NOFILE (operation not permitted)",
		"crun: setrlimit `RLIMIT_NPROC`: Operation not permitted: OCI permission denied": "refused RLIMIT_NPROC (operation not permitted)",
		"error setting rlimit type 99: operation not permitted":                          "refused rlimit 99 (operation not permitted)",
	} {
		orig := errors.New(msg)
		err := RlimitError(orig, fix)
		if !strings.Contains(err.Error(), want) || !strings.HasSuffix(err.Error(), "; "+fix) || !errors.Is(err, orig) {
			t.Errorf("%q: got %q, want it to contain %q and end with the fix", msg, err, want)
		}
	}
	other := errors.New("exec: \"nope\": executable file not found in $PATH")
	if err := RlimitError(other, fix); err != other {
		t.Errorf("an unrelated error changed: %v", err)
	}
	if RlimitError(nil, fix) != nil {
		t.Error("nil is not nil")
	}
}
