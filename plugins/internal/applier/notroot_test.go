package applier

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ocix/ocix/e2e/testenv"
)

const notRootEnv = "APPLIER_NOT_ROOT_DIR"

// TestNotRoot applies, as an unprivileged user, a layer with device nodes
// and files owned by others: the devices are skipped and the files belong
// to the user, each said once by a warning with a count. The test binary
// runs itself as nobody.
func TestNotRoot(t *testing.T) {
	if dir := os.Getenv(notRootEnv); dir != "" {
		notRootChild(t, dir)
		return
	}
	testenv.RequireRoot(t)
	base := t.TempDir()
	bin := filepath.Join(base, "applier.test")
	root := filepath.Join(base, "root")
	copyFile(t, os.Args[0], bin)
	for _, p := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(root, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestNotRoot$", "-test.v")
	cmd.Env = append(os.Environ(), notRootEnv+"="+root)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
	checkTree(t, root, map[string]want{
		"fifo":   want{typ: 'p', mode: 0o600, uid: 65534, gid: 65534},
		"file":   f("f", 0o644).owned(65534, 65534),
		"setuid": f("s", 0o4755).owned(65534, 65534),
		"ro":     d(0o555).owned(65534, 65534),
		"ro/f":   f("r", 0o444).owned(65534, 65534),
	})
}

func notRootChild(t *testing.T, root string) {
	warns, err := applyAll(root, Options{}, layer(t,
		chr("null", 1, 3), chr("zero", 1, 5), fifo("fifo").perm(0o600),
		reg("file", "f").owner(0, 0), reg("setuid", "s").perm(0o4755).owner(0, 0),
		dir("ro/").perm(0o555), reg("ro/f", "r").perm(0o444),
	))
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 2 ||
		!strings.HasPrefix(warns[0], "ownership not applied to 5 entries") ||
		!strings.HasPrefix(warns[1], "2 device nodes not created") {
		t.Errorf("warnings:\n%s", strings.Join(warns, "\n"))
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
