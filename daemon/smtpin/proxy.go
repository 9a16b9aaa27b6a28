package smtpin

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	proxyproto "github.com/pires/go-proxyproto"
)

// proxyHeaderTimeout bounds how long a trusted balancer may take to send
// its PROXY header after connecting.
const proxyHeaderTimeout = 10 * time.Second

// errUntrustedProxy ends a connection that opened with a PROXY header
// from an address outside smtp.proxy_trusted.
var errUntrustedProxy = errors.New("PROXY header from an untrusted address")

// proxyListener applies smtp.proxy_trusted to accepted connections.
//
// From a trusted balancer every connection must open with a PROXY header
// (v2 or v1; go-proxyproto's REQUIRE): its source address becomes the
// connection's RemoteAddr, so per-address limits, SPF, Received and logs
// see the client. The header is read off the accept loop, so a slow
// balancer connection does not hold up others. A LOCAL header (a
// balancer's health check) keeps the balancer's own address.
//
// From any other address nothing is read before the greeting (SMTP's
// server speaks first); a connection whose first bytes are a PROXY
// signature is closed (sniffConn).
type proxyListener struct {
	net.Listener
	trusted []*net.IPNet
	log     *slog.Logger

	start sync.Once
	conns chan net.Conn
	errs  chan error
	done  chan struct{}
	stop  sync.Once
}

func newProxyListener(ln net.Listener, trusted []*net.IPNet, log *slog.Logger) *proxyListener {
	return &proxyListener{Listener: ln, trusted: trusted, log: log,
		conns: make(chan net.Conn), errs: make(chan error), done: make(chan struct{})}
}

func (l *proxyListener) isTrusted(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return false
	}
	for _, n := range l.trusted {
		if n.Contains(ta.IP) {
			return true
		}
	}
	return false
}

func (l *proxyListener) Accept() (net.Conn, error) {
	l.start.Do(func() { go l.acceptLoop() })
	select {
	case c := <-l.conns:
		return c, nil
	case err := <-l.errs:
		return nil, err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *proxyListener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			select {
			case l.errs <- err:
			case <-l.done:
				return
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if !l.isTrusted(c.RemoteAddr()) {
			l.hand(&sniffConn{Conn: c, log: l.log})
			continue
		}
		go func() {
			pc := proxyproto.NewConn(c, proxyproto.WithPolicy(proxyproto.REQUIRE),
				proxyproto.SetReadHeaderTimeout(proxyHeaderTimeout))
			if pc.ProxyHeader() == nil {
				l.log.Warn("smtp connection from a trusted balancer without a valid PROXY header closed",
					"balancer", hostOf(c.RemoteAddr()))
				_ = c.Close()
				return
			}
			l.hand(pc)
		}()
	}
}

func (l *proxyListener) hand(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		_ = c.Close()
	}
}

func (l *proxyListener) Close() error {
	l.stop.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// sniffConn closes a connection from an untrusted address whose first
// bytes are a PROXY protocol signature: such a client claims another
// source address, which only smtp.proxy_trusted may do. The first bytes
// are held back until they can no longer be a signature, so no part of
// the header reaches the SMTP session.
type sniffConn struct {
	net.Conn
	log     *slog.Logger
	decided bool
	held    []byte
	err     error
}

var proxySigV1 = []byte("PROXY ")

func (c *sniffConn) Read(b []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if !c.decided {
		// Read as much as the caller asked for, not only the signature's
		// length: a command line must reach the session in the reads the
		// client's segments give (go-smtp checks the line length per read,
		// and a line cut after its first bytes would pass as a short one).
		buf := make([]byte, max(len(b), len(proxyproto.SIGV2)))
		for !c.decided {
			n, err := c.Conn.Read(buf)
			c.held = append(c.held, buf[:n]...)
			switch {
			case bytes.HasPrefix(c.held, proxyproto.SIGV2) || bytes.HasPrefix(c.held, proxySigV1):
				c.log.Warn("smtp PROXY header from an untrusted address refused", "remote", hostOf(c.Conn.RemoteAddr()))
				c.err = errUntrustedProxy
				_ = c.Conn.Close()
				return 0, c.err
			case len(c.held) >= len(proxyproto.SIGV2) ||
				!(bytes.HasPrefix(proxyproto.SIGV2, c.held) || bytes.HasPrefix(proxySigV1, c.held)):
				c.decided = true
			}
			if err != nil {
				c.decided = true
				if len(c.held) == 0 {
					return 0, err
				}
				c.err = err
			}
		}
	}
	if len(c.held) > 0 {
		n := copy(b, c.held)
		c.held = c.held[n:]
		if len(c.held) == 0 && c.err != nil {
			return n, c.err
		}
		return n, nil
	}
	return c.Conn.Read(b)
}
