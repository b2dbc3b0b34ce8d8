package api

import (
	"context"
	"io"
	"os"
	"sync"
)

// spool holds one layer's compressed bytes on their way from its download
// to its decompression: a file in the scratch directory, which the reader
// follows as it grows. So a layer downloaded ahead of its turn waits on
// disk, not in memory, and the layer being applied is read as it arrives.
// One goroutine writes; one at a time reads or waits.
type spool struct {
	f *os.File
	// more has a token when something was written or the download ended
	// since the reader last looked.
	more chan struct{}

	mu   sync.Mutex
	n    int64 // bytes written
	done bool
	err  error // why the download failed, once done
}

func newSpool(dir string) (*spool, error) {
	f, err := os.CreateTemp(dir, "layer-*")
	if err != nil {
		return nil, err
	}
	return &spool{f: f, more: make(chan struct{}, 1)}, nil
}

func (s *spool) Write(b []byte) (int, error) {
	n, err := s.f.Write(b)
	s.mu.Lock()
	s.n += int64(n)
	s.mu.Unlock()
	s.signal()
	return n, err
}

// finish records the end of the download: err nil means every byte is
// in and verified.
func (s *spool) finish(err error) {
	s.mu.Lock()
	s.done, s.err = true, err
	s.mu.Unlock()
	s.signal()
}

func (s *spool) signal() {
	select {
	case s.more <- struct{}{}:
	default:
	}
}

// state is what the reader may read: up to n bytes, and, once done, the
// download's verdict.
func (s *spool) state() (n int64, done bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n, s.done, s.err
}

// wait waits for the end of the download and returns its error.
func (s *spool) wait(ctx context.Context) error {
	for {
		if _, done, err := s.state(); done {
			return err
		}
		select {
		case <-s.more:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// remove deletes the file, once the download has ended and the reader is
// done; again is harmless.
func (s *spool) remove() {
	s.f.Close()
	os.Remove(s.f.Name())
}

// reader reads the blob as it arrives. It ends with io.EOF once the
// download succeeded, with the download's error if it failed, and at
// once when ctx is done.
func (s *spool) reader(ctx context.Context) io.Reader {
	return &spoolReader{s: s, ctx: ctx}
}

type spoolReader struct {
	s   *spool
	ctx context.Context
	off int64
}

func (r *spoolReader) Read(b []byte) (int, error) {
	for {
		// Checked at every read, not only when waiting: a complete spool
		// never makes its reader wait.
		if err := r.ctx.Err(); err != nil {
			return 0, err
		}
		n, done, err := r.s.state()
		if r.off < n {
			m, err := r.s.f.ReadAt(b[:min(int64(len(b)), n-r.off)], r.off)
			r.off += int64(m)
			if err == io.EOF && m > 0 {
				err = nil
			}
			return m, err
		}
		if done {
			if err != nil {
				return 0, err
			}
			return 0, io.EOF
		}
		select {
		case <-r.s.more:
		case <-r.ctx.Done():
			return 0, r.ctx.Err()
		}
	}
}
