// Package lines cuts a tool's output, written in pieces, into whole lines:
// the plugins that read a tool's stderr or progress as it comes (nerdctl's
// log and pull table, podman's pull progress) share it.
package lines

import "bytes"

// Splitter keeps what has no line end yet. It is not safe for concurrent
// use: its owner's lock guards it.
type Splitter struct {
	// Ends are the bytes that end a line; "\n" when empty. A table a tool
	// redraws in place also ends its lines with "\r".
	Ends string
	buf  []byte
}

// Feed adds p and calls line with each whole line, without its end.
func (s *Splitter) Feed(p []byte, line func(string)) {
	s.buf = append(s.buf, p...)
	ends := s.Ends
	if ends == "" {
		ends = "\n"
	}
	for {
		i := bytes.IndexAny(s.buf, ends)
		if i < 0 {
			return
		}
		line(string(s.buf[:i]))
		s.buf = s.buf[i+1:]
	}
}

// Flush calls line with what is left without a line end, if anything.
func (s *Splitter) Flush(line func(string)) {
	if len(s.buf) > 0 {
		line(string(s.buf))
		s.buf = nil
	}
}
