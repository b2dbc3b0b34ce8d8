package nerdctl

import (
	"os"
	"os/exec"
	"syscall"
)

// A guard removes a container if the plugin dies before it could: a shell
// that waits on a pipe only the plugin holds, and runs `nerdctl rm -f`
// when the pipe ends without the word that all went well.
//
// Why, on top of core's cleanup through a fresh plugin: a dying process
// cannot clean up after itself, but the kernel closes its end of the pipe
// whatever the death, so the removal starts at once — a nerdctl call costs
// as much as a plugin start, and core's cleanup would need two (ps, rm)
// after it. The shell has a process group of its own, so a Ctrl-C typed
// at the terminal does not stop it.

// guardScript exits when told "done" and otherwise runs its arguments.
const guardScript = `read -r word; [ "$word" = done ] || exec "$@" >/dev/null 2>&1`

// Guard starts the guard of container name (container.Guarder); release
// ends it once the container is gone, or meant to stay.
func (t *tool) Guard(name string) (release func(), err error) {
	r, w, err := os.Pipe() // close-on-exec: no other child holds it open
	if err != nil {
		return nil, err
	}
	defer r.Close()
	args := append([]string{"-c", guardScript, "ocix-nerdctl-guard", t.path}, t.global...)
	cmd := exec.Command("/bin/sh", append(args, "rm", "-f", name)...)
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, err
	}
	return func() {
		w.WriteString("done\n")
		w.Close()
		cmd.Wait()
	}, nil
}
