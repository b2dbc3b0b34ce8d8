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
	srv  *http.Server
}

// Listen starts a front on addr ("127.0.0.1:0" for any free port).
func Listen(addr string, opts Options) (*Server, error) {
	f, err := New(opts)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{Front: f, Addr: l.Addr().String(), srv: &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.srv.Serve(l) }() // returns ErrServerClosed on Close
	return s, nil
}

// Close stops the front, letting requests in flight finish for up to
// five seconds.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		return s.srv.Close()
	}
	return nil
}
