package rootfs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The cache's layout under its directory (cache.dir):
//
//	rootfs/sha256-HEX/        one image: rootfs/ (the files as exported,
//	                          read-only by convention), config.json (the
//	                          image config) and meta.json
//	rootfs/sha256-HEX.lock    shared by each run using the image, exclusive
//	                          while it is filled or pruned
//	rootfs/.fill-*/           a fill under way: renamed to sha256-HEX when
//	                          complete, so no one ever sees part of an image
//	rootfs/refs/HASH.json     what an image reference last resolved to, for
//	                          --pull never and missing
//	runs/ID/                  one run: its writable view, the backend's
//	                          scratch space
const (
	imagesDir  = "rootfs"
	refsDir    = "refs"
	runsDir    = "runs"
	fillPrefix = ".fill-"
	metaFile   = "meta.json"
	configFile = "config.json"
	treeDir    = "rootfs"
)

// meta is what the cache records of an image besides its files.
type meta struct {
	Image    string    `json:"image"`
	Digest   string    `json:"digest"`
	Platform string    `json:"platform"`
	Size     int64     `json:"size"`
	Entries  int64     `json:"entries"`
	Created  time.Time `json:"created"`
}

// ref records what an image reference resolved to for a platform.
type ref struct {
	Image    string `json:"image"`
	Platform string `json:"platform"`
	Digest   string `json:"digest"`
}

// store is the cache's directory.
type store struct{ dir string }

func (s store) images() string { return filepath.Join(s.dir, imagesDir) }

// name is an image's directory name: the digest with ":" made a
// filename-safe "-" (sha256-HEX).
func entryName(digest string) (string, error) {
	alg, hexPart, ok := strings.Cut(digest, ":")
	if !ok || alg == "" || hexPart == "" || strings.ContainsAny(digest, "/\\.") {
		return "", fmt.Errorf("invalid image digest %q", digest)
	}
	return alg + "-" + hexPart, nil
}

// digestOf is entryName backwards.
func digestOf(name string) string {
	alg, hexPart, _ := strings.Cut(name, "-")
	return alg + ":" + hexPart
}

func (s store) entryPath(name string) string { return filepath.Join(s.images(), name) }
func (s store) lockPath(name string) string  { return filepath.Join(s.images(), name+".lock") }

// entry is one cached image, held with a shared lock while a run uses it.
type entry struct {
	digest string
	path   string
	config json.RawMessage
	lock   *lock
}

func (e *entry) rootfs() string { return filepath.Join(e.path, treeDir) }
func (e *entry) release()       { e.lock.unlock() }

// open returns the cached image digest with a shared lock held, or nil
// when the cache does not have it. Using an image marks it as used now.
func (s store) open(ctx context.Context, digest string) (*entry, error) {
	name, err := entryName(digest)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.images(), 0o700); err != nil {
		return nil, err
	}
	l, err := lockFile(ctx, s.lockPath(name), unix.LOCK_SH, true)
	if err != nil {
		return nil, err
	}
	path := s.entryPath(name)
	config, err := os.ReadFile(filepath.Join(path, configFile))
	if errors.Is(err, fs.ErrNotExist) {
		l.unlock()
		return nil, nil
	}
	if err != nil {
		l.unlock()
		return nil, err
	}
	now := time.Now()
	os.Chtimes(filepath.Join(path, metaFile), now, now)
	return &entry{digest: digest, path: path, config: config, lock: l}, nil
}

// refPath is where the record of image (for platform) is: named by a
// hash, since references hold characters a filename cannot.
func (s store) refPath(image, platform string) string {
	sum := sha256.Sum256([]byte(image + "\x00" + platform))
	return filepath.Join(s.images(), refsDir, hex.EncodeToString(sum[:16])+".json")
}

// lookupRef is the digest image last resolved to, if recorded.
func (s store) lookupRef(image, platform string) (string, bool) {
	b, err := os.ReadFile(s.refPath(image, platform))
	if err != nil {
		return "", false
	}
	var r ref
	if json.Unmarshal(b, &r) != nil || r.Image != image || r.Platform != platform || r.Digest == "" {
		return "", false
	}
	return r.Digest, true
}

// recordRef records what image resolved to, unless it already says so.
func (s store) recordRef(image, platform, digest string) error {
	if d, ok := s.lookupRef(image, platform); ok && d == digest {
		return nil
	}
	b, err := json.Marshal(ref{Image: image, Platform: platform, Digest: digest})
	if err != nil {
		return err
	}
	return writeAtomic(s.refPath(image, platform), b)
}

// refs lists every record.
func (s store) refs() []ref {
	dir := filepath.Join(s.images(), refsDir)
	names, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	var out []ref
	for _, n := range names {
		b, err := os.ReadFile(n)
		var r ref
		if err == nil && json.Unmarshal(b, &r) == nil {
			out = append(out, r)
		}
	}
	return out
}

// dropRefs removes the records that name digest.
func (s store) dropRefs(digest string) {
	for _, r := range s.refs() {
		if r.Digest == digest {
			os.Remove(s.refPath(r.Image, r.Platform))
		}
	}
}

// writeAtomic writes a small file whole or not at all: a reader sees the
// old content or the new one.
func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// readMeta reads an image's record.
func readMeta(path string) (meta, time.Time, error) {
	var m meta
	p := filepath.Join(path, metaFile)
	b, err := os.ReadFile(p)
	if err != nil {
		return m, time.Time{}, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, time.Time{}, fmt.Errorf("%s: %v", p, err)
	}
	st, err := os.Stat(p)
	if err != nil {
		return m, time.Time{}, err
	}
	return m, st.ModTime(), nil
}
