package runc

import (
	"errors"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/ocix/ocix/plugins/internal/container"
)

var subreaper struct {
	once sync.Once
	err  error
}

// becomeSubreaper makes this plugin the process a detached container's
// process is reparented to when runc exits, so that it can wait for it and
// read its exit status, as containerd's shims do.
func becomeSubreaper() error {
	subreaper.once.Do(func() {
		subreaper.err = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	})
	return subreaper.err
}

// waitExit waits for pid, this process's child since runc exited, and
// returns its exit code as a shell reports it (128+n for signal n).
func waitExit(pid int) (int, error) {
	for {
		var ws unix.WaitStatus
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return 0, err
		}
		switch {
		case ws.Exited():
			return ws.ExitStatus(), nil
		case ws.Signaled():
			return container.ExitFromSignal(int(ws.Signal())), nil
		}
	}
}
