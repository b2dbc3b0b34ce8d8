package front

import (
	"context"
	"net"
	"net/http"
	"time"
)

// Server is a front listening on a TCP address.
type Server struct {
	*Front
	Addr string // "127.0.0.1:PORT": the registry part of references through the front
	srv  *listener
}

// Listen starts a front on addr ("127.0.0.1:0" for any free port).
func Listen(addr string, opts Options) (*Server, error) {
	f, err := New(opts)
	if err != nil {
		return nil, err
	}
	l, err := listen(addr, f)
	if err != nil {
		return nil, err
	}
	return &Server{Front: f, Addr: l.addr, srv: l}, nil
}

// Close stops the front; see listener.close.
func (s *Server) Close() error { return s.srv.close() }

// listener serves a handler on a TCP address until closed.
type listener struct {
	addr string
	srv  *http.Server
	// cancel ends every request's context.
	cancel context.CancelFunc
}

func listen(addr string, h http.Handler) (*listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &listener{addr: ln.Addr().String(), cancel: cancel, srv: &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}}
	go func() { _ = l.srv.Serve(ln) }() // returns ErrServerClosed on Close
	return l, nil
}

// close stops serving. The requests still in flight are ended — a test
// closes its front once its client is done, and a request a fault holds
// forever must not keep it waiting — and their connections are closed
// within five seconds.
func (l *listener) close() error {
	l.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.srv.Shutdown(ctx); err != nil {
		return l.srv.Close()
	}
	return nil
}
