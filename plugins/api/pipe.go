package api

import (
	"errors"
	"io"
	"sync"
)

// A layer's tar goes from the goroutine that decompresses it to the
// applier in chunks, pipeChunks of them in flight: inflating runs on one
// core while the applier writes files on the other. io.Pipe would make
// each side wait for the other at every write.
const (
	pipeChunk  = 256 << 10
	pipeChunks = 16
)

// errReaderGone is what the writer gets once the reader has stopped.
var errReaderGone = errors.New("layer pipe: the reader stopped")

// pipe is a buffered pipe for one writer and one reader goroutine. The
// writer must end with closeWithError; the reader must end with stop, so
// that a writer still at work returns.
type pipe struct {
	full     chan []byte   // chunks written, in order; closed at the end
	free     chan []byte   // chunks to fill
	gone     chan struct{} // closed by stop
	stopOnce sync.Once
	err      error // why the writer ended; set before full is closed

	w        []byte // the writer's chunk being filled
	r, chunk []byte // the reader's chunk: its unread rest, and all of it
}

func newPipe() *pipe {
	p := &pipe{
		full: make(chan []byte, pipeChunks),
		free: make(chan []byte, pipeChunks),
		gone: make(chan struct{}),
	}
	for range pipeChunks {
		p.free <- make([]byte, 0, pipeChunk)
	}
	return p
}

func (p *pipe) Write(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		if p.w == nil {
			select {
			case p.w = <-p.free:
			case <-p.gone:
				return n, errReaderGone
			}
		}
		m := copy(p.w[len(p.w):cap(p.w)], b)
		p.w, b, n = p.w[:len(p.w)+m], b[m:], n+m
		if len(p.w) == cap(p.w) && !p.flush() {
			return n, errReaderGone
		}
	}
	return n, nil
}

// flush hands the writer's chunk to the reader.
func (p *pipe) flush() bool {
	select {
	case p.full <- p.w:
		p.w = nil
		return true
	case <-p.gone:
		return false
	}
}

// closeWithError ends the stream: the reader gets what was written, then
// err, or io.EOF for nil.
func (p *pipe) closeWithError(err error) {
	if len(p.w) > 0 {
		p.flush()
	}
	p.err = err
	close(p.full)
}

func (p *pipe) Read(b []byte) (int, error) {
	for len(p.r) == 0 {
		if p.chunk != nil {
			p.free <- p.chunk[:0] // never blocks: free holds every chunk
			p.chunk = nil
		}
		c, ok := <-p.full
		if !ok {
			if p.err != nil {
				return 0, p.err
			}
			return 0, io.EOF
		}
		p.chunk, p.r = c, c
	}
	n := copy(b, p.r)
	p.r = p.r[n:]
	return n, nil
}

// stop tells the writer the reader is gone.
func (p *pipe) stop() { p.stopOnce.Do(func() { close(p.gone) }) }
