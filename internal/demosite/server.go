package demosite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// Server is a Site served over HTTP on a TCP address. Its methods are safe
// for concurrent use.
type Server struct {
	site *Site
	srv  *http.Server
	url  string
	addr string

	closeOnce sync.Once
	closeErr  error
	done      chan struct{} // closed when srv.Serve has returned
}

// Serve listens on addr ("127.0.0.1:8118"; "127.0.0.1:0" picks a free port)
// and serves the site until Close is called or ctx is done. Requests see ctx
// as their context's parent, so a slow page answers nothing once ctx is
// done. When another process holds addr, the error matches ErrAddrInUse and
// says what to do.
func (s *Site) Serve(ctx context.Context, addr string) (*Server, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, &addrInUseError{addr: addr, err: err}
		}
		return nil, fmt.Errorf("demosite: listen on %s: %w", addr, err)
	}
	sv := &Server{
		site: s,
		addr: ln.Addr().String(),
		srv: &http.Server{
			Handler:           s,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       90 * time.Second,
			BaseContext:       func(net.Listener) context.Context { return ctx },
			ErrorLog:          log.New(io.Discard, "", 0),
		},
		done: make(chan struct{}),
	}
	sv.url = "http://" + dialable(ln.Addr().(*net.TCPAddr))
	go func() {
		defer close(sv.done)
		_ = sv.srv.Serve(ln) // returns http.ErrServerClosed after Close
	}()
	go func() {
		select {
		case <-ctx.Done():
			_ = sv.Close()
		case <-sv.done:
		}
	}()
	return sv, nil
}

// dialable returns a host:port a client on this machine can connect to: an
// unspecified listening address (0.0.0.0, ::) becomes the loopback one.
func dialable(a *net.TCPAddr) string {
	ip := a.IP
	switch {
	case ip == nil || ip.IsUnspecified() && ip.To4() != nil:
		ip = net.IPv4(127, 0, 0, 1)
	case ip.IsUnspecified():
		ip = net.IPv6loopback
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(a.Port))
}

// URL returns the site's base URL, such as "http://127.0.0.1:8118", without
// a trailing slash.
func (sv *Server) URL() string { return sv.url }

// Addr returns the address listened on, with the port chosen.
func (sv *Server) Addr() string { return sv.addr }

// Site returns the site served.
func (sv *Server) Site() *Site { return sv.site }

// Close stops listening, closes every connection (slow pages in progress
// answer nothing) and waits for the server to stop. It may be called more
// than once; later calls return the first one's result.
func (sv *Server) Close() error {
	sv.closeOnce.Do(func() {
		sv.closeErr = sv.srv.Close()
		<-sv.done
	})
	return sv.closeErr
}
