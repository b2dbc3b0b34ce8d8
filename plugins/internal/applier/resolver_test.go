package applier

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/ocix/ocix/e2e/oldkernel"
	"github.com/ocix/ocix/plugins/internal/inroot"
)

// wantResolverEnv names the resolver a child test binary must be using:
// a run meant for the fallback that silently used openat2 would prove
// nothing.
const wantResolverEnv = "OCIX_TEST_WANT_RESOLVER"

func TestMain(m *testing.M) {
	if want := os.Getenv(wantResolverEnv); want != "" && inroot.Resolver() != want {
		fmt.Fprintf(os.Stderr, "resolver %s, want %s\n", inroot.Resolver(), want)
		os.Exit(2)
	}
	os.Exit(m.Run())
}

// rerunExcept is the -test.skip pattern that keeps a child from running
// the tests that start children.
const rerunExcept = "^(TestFallbackResolver|TestOldKernel)$"

// TestFallbackResolver runs every test of this package again, the hostile
// suite and FuzzApply's corpus included, with the fallback resolver
// forced: both resolvers must pass the same tests.
func TestFallbackResolver(t *testing.T) {
	rerun(t, nil, ".", inroot.NoOpenat2Env+"=1")
}

// TestOldKernel runs the hostile suite and FuzzApply's corpus under a
// seccomp filter that answers openat2 and the other system calls newer
// than Linux 4.14 with ENOSYS, as an old kernel would: the resolver must
// notice by itself and fall back.
func TestOldKernel(t *testing.T) {
	rerun(t, oldkernel.Start, "^(TestHostile.*|FuzzApply)$")
}

// rerun runs the tests matching pattern in a child test binary, started
// by start (nil: exec.Cmd.Start) with env added, which must use the
// fallback resolver; it fails when the child fails or ran no hostile
// test.
func rerun(t *testing.T, start func(*exec.Cmd) error, pattern string, env ...string) {
	cmd := exec.Command(os.Args[0], "-test.run", pattern, "-test.skip", rerunExcept, "-test.count=1", "-test.v")
	cmd.Env = append(append(os.Environ(), wantResolverEnv+"="+inroot.Fallback), env...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if start == nil {
		start = (*exec.Cmd).Start
	}
	err := start(cmd)
	if err == nil {
		err = cmd.Wait()
	}
	if err != nil {
		t.Fatalf("child tests with the fallback resolver: %v\n%s", err, out.String())
	}
	passed := regexp.MustCompile(`(?m)^--- PASS: (TestHostile\w*)`).FindAllStringSubmatch(out.String(), -1)
	if len(passed) == 0 || !strings.Contains(out.String(), "--- PASS: FuzzApply") {
		t.Fatalf("the child ran no hostile test or no FuzzApply seed:\n%s", out.String())
	}
	t.Logf("passed with the fallback resolver: %d hostile tests and FuzzApply's corpus", len(passed))
}

// BenchmarkApplyResolver is BenchmarkApply with each resolver: the
// fallback may cost at most 1.2× openat2 (make bench compares whole
// exports the same way).
func BenchmarkApplyResolver(b *testing.B) {
	for _, r := range []string{inroot.Openat2, inroot.Fallback} {
		b.Run(r, func(b *testing.B) {
			inroot.ForceFallback(r == inroot.Fallback)
			defer inroot.ForceFallback(false)
			if got := inroot.Resolver(); got != r {
				b.Fatalf("resolver %s, want %s", got, r)
			}
			BenchmarkApply(b)
		})
	}
}
