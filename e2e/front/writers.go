package front

import (
	"errors"
	"net"
	"net/http"
	"strconv"
)

// errSpoiled ends an answer a fault cut short. The proxy copying the
// body gets it from Write and aborts the handler (http.ErrAbortHandler),
// which net/http takes quietly.
var errSpoiled = errors.New("front: answer spoiled by a fault")

// afterWriter passes the first left bytes of a body, flushes them so that
// they reach the client, then calls then once: nil lets the rest through,
// an error ends the body there. A body no longer than left passes whole.
type afterWriter struct {
	http.ResponseWriter
	left  int64
	then  func() error
	fired bool
	err   error
}

func (w *afterWriter) Write(p []byte) (int, error) {
	switch {
	case w.err != nil:
		return 0, w.err
	case w.fired:
		return w.ResponseWriter.Write(p)
	case int64(len(p)) <= w.left:
		w.left -= int64(len(p))
		return w.ResponseWriter.Write(p)
	}
	n, err := w.ResponseWriter.Write(p[:w.left])
	if err != nil {
		return n, err
	}
	w.fired = true
	if err := http.NewResponseController(w.ResponseWriter).Flush(); err != nil {
		w.err = err
		return n, err
	}
	if w.err = w.then(); w.err != nil {
		return n, w.err
	}
	m, err := w.ResponseWriter.Write(p[n:])
	return n + m, err
}

// Unwrap lets http.ResponseController reach the server's writer: to
// flush, and to hijack the connection.
func (w *afterWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// hangUp takes the connection from net/http and closes it: with an RST
// when reset is set (SO_LINGER 0), else with a FIN, as a server that
// thinks it is done does.
func hangUp(w http.ResponseWriter, reset bool) error {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return err
	}
	if tc, ok := conn.(*net.TCPConn); ok && reset {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
	return errSpoiled
}

// lengthWriter changes the Content-Length of an answer that has one by
// delta, never below 0. Shorter, it sends the body up to the length it
// announced, as a client of a server with a wrong length reads it (the
// rest would be junk before the next answer on the connection); longer,
// net/http closes the connection after the real body, short of the length.
type lengthWriter struct {
	http.ResponseWriter
	delta int64
	wrote bool
	left  int64 // what the announced length still allows; -1: no limit
}

func (w *lengthWriter) WriteHeader(status int) {
	if w.wrote {
		return
	}
	w.wrote, w.left = true, -1
	if n, err := strconv.ParseInt(w.Header().Get("Content-Length"), 10, 64); err == nil {
		n = max(n+w.delta, 0)
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		if w.delta < 0 {
			w.left = n
		}
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *lengthWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	if w.left < 0 {
		return w.ResponseWriter.Write(p)
	}
	// What lies beyond the announced length is dropped, unsaid.
	keep := p[:min(int64(len(p)), w.left)]
	n, err := w.ResponseWriter.Write(keep)
	w.left -= int64(n)
	if err != nil {
		return n, err
	}
	return len(p), nil
}

func (w *lengthWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
