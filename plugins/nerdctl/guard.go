package nerdctl

import (
	"os"
	"os/exec"
	"syscall"
)

// guard removes a container if the plugin dies before it could: a shell
// that waits on a pipe only the plugin holds, and runs `nerdctl rm -f`
// when the pipe ends without the word that all went well.
//
// The host stops a plugin as soon as a job ends — at once on Ctrl-C, when
// the plugin has not yet removed its container — and may kill it; a dying
// process cannot clean up after itself, but the kernel closes its end of
// the pipe whatever the death. The shell has a process group of its own,
// so a Ctrl-C typed at the terminal does not stop it.
type guard struct {
	w   *os.File
	cmd *exec.Cmd
}

// guardScript exits when told "done" and otherwise runs its arguments.
const guardScript = `read -r word; [ "$word" = done ] || exec "$@" >/dev/null 2>&1`

// guard starts the guard of container name.
func (t *tool) guard(name string) (*guard, error) {
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
	return &guard{w: w, cmd: cmd}, nil
}

// release ends the guard: the container is gone, or meant to stay.
func (g *guard) release() {
	g.w.WriteString("done\n")
	g.w.Close()
	g.cmd.Wait()
}
