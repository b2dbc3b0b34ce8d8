package runc

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ocix/ocix/plugins/internal/inroot"
)

// The image's files are read and written as the container will see them:
// every path resolved with the root filesystem as "/" (package inroot,
// with or without openat2), so an absolute symlink or ".." in the image
// never reaches the host's files.

// openRoot opens the root filesystem's directory.
func openRoot(root string) (int, error) {
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: root, Err: err}
	}
	return fd, nil
}

// inRoot opens name, an absolute path in the container, relative to the
// root directory rootfd.
func inRoot(rootfd int, name string, flags int) (int, error) {
	return inroot.Open(rootfd, strings.TrimPrefix(path.Clean("/"+name), "/"), flags)
}

// readInRoot reads file name of the root filesystem at root; a file that
// does not exist reads as nil with fs.ErrNotExist.
func readInRoot(root, name string) ([]byte, error) {
	rootfd, err := openRoot(root)
	if err != nil {
		return nil, err
	}
	defer unix.Close(rootfd)
	// Non-blocking, and then only a regular file: an image's FIFO or
	// device at that path must not hang or flood ocix.
	fd, err := inRoot(rootfd, name, unix.O_RDONLY|unix.O_NONBLOCK)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s in the image is not a regular file", name)
	}
	// /etc/passwd and /etc/group are small; a huge one is not read whole.
	const limit = 16 << 20
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if len(b) > limit {
		return nil, fmt.Errorf("%s: larger than %d MiB", name, limit>>20)
	}
	return b, nil
}

// mkdirInRoot makes directory dir (absolute in the container) and its
// missing parents in the root filesystem at root, owned by root, mode
// 0755, as docker and runc create a missing working directory.
func mkdirInRoot(root, dir string) error {
	rootfd, err := openRoot(root)
	if err != nil {
		return err
	}
	defer unix.Close(rootfd)
	parent, done := "/", ""
	for _, name := range strings.Split(strings.Trim(path.Clean("/"+dir), "/"), "/") {
		if name == "" {
			continue
		}
		done = path.Join(parent, name)
		fd, err := inRoot(rootfd, done, unix.O_PATH|unix.O_DIRECTORY)
		if err == nil {
			unix.Close(fd)
			parent = done
			continue
		}
		if !errors.Is(err, unix.ENOENT) {
			return &fs.PathError{Op: "open", Path: done, Err: err}
		}
		pfd, err := inRoot(rootfd, parent, unix.O_PATH|unix.O_DIRECTORY)
		if err != nil {
			return &fs.PathError{Op: "open", Path: parent, Err: err}
		}
		err = unix.Mkdirat(pfd, name, 0o755)
		unix.Close(pfd)
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return &fs.PathError{Op: "mkdir", Path: done, Err: err}
		}
		parent = done
	}
	return nil
}
