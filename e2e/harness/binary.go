package harness

import (
	"go/build"
	"os"
	"os/exec"
	"path/filepath"
)

// lookPath finds a component's binary on $PATH, then in the directory
// `go install` writes to, which .ci/run puts on $PATH but a developer's
// shell may not have.
func lookPath(name, fix string) (string, error) {
	if path, err := exec.LookPath(name); err == nil {
		return path, nil
	}
	path := filepath.Join(goBin(), name)
	if _, err := exec.LookPath(path); err == nil {
		return path, nil
	}
	return "", &MissingError{What: name + " not found", Fix: fix}
}

// goBin is where `go install` puts binaries: $GOBIN, else the first
// $GOPATH entry's bin.
func goBin() string {
	if bin := os.Getenv("GOBIN"); bin != "" {
		return bin
	}
	return filepath.Join(filepath.SplitList(build.Default.GOPATH)[0], "bin")
}

// needRoot refuses to start a daemon that only runs as root.
func needRoot(name string) error {
	if os.Geteuid() != 0 {
		return &MissingError{What: name + " needs root", Fix: "run the e2e tests as root"}
	}
	return nil
}
