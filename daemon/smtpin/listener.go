package smtpin

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"gent/daemon/metrics"
)

// writeGrace is how long past the session cap a final reply may take.
const writeGrace = 5 * time.Second

// listener caps concurrent connections, in all and per remote address,
// and wraps each accepted connection so that the session length cap and
// shutdown draining apply to every deadline go-smtp sets.
type listener struct {
	net.Listener
	max, perIP int
	maxSession time.Duration
	hostname   string
	onReject   func(ip, why string)
	met        *metrics.Metrics

	mu       sync.Mutex
	total    int
	byIP     map[string]int
	conns    map[*conn]struct{}
	draining atomic.Bool
	close    sync.Once
	closeErr error
}

func newListener(ln net.Listener, max, perIP int, maxSession time.Duration, hostname string, onReject func(ip, why string)) *listener {
	return &listener{Listener: ln, max: max, perIP: perIP, maxSession: maxSession, hostname: hostname,
		onReject: onReject, byIP: map[string]int{}, conns: map[*conn]struct{}{}}
}

func hostOf(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	h, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return h
}

// Accept returns the next connection within the caps; connections beyond
// them are answered 421 4.7.0 and closed here, never reaching go-smtp.
func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := hostOf(c.RemoteAddr())
		l.mu.Lock()
		why := ""
		switch {
		case l.draining.Load():
			why = "service shutting down"
		case l.total >= l.max:
			why = "too many connections"
		case l.byIP[ip] >= l.perIP:
			why = "too many connections from your address"
		}
		if why != "" {
			l.mu.Unlock()
			if l.onReject != nil {
				l.onReject(ip, why)
			}
			go refuse(c, "421 4.7.0 "+l.hostname+" "+why+", try again later\r\n")
			continue
		}
		l.total++
		l.byIP[ip]++
		wc := &conn{Conn: c, l: l, ip: ip, end: time.Now().Add(l.maxSession)}
		l.conns[wc] = struct{}{}
		l.mu.Unlock()
		l.met.SMTPSession()
		return wc, nil
	}
}

func refuse(c net.Conn, reply string) {
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = c.Write([]byte(reply))
	_ = c.Close()
}

func (l *listener) release(c *conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.conns[c]; !ok {
		return
	}
	delete(l.conns, c)
	l.total--
	if l.byIP[c.ip]--; l.byIP[c.ip] <= 0 {
		delete(l.byIP, c.ip)
	}
}

// Close closes the listening socket (once).
func (l *listener) Close() error {
	l.close.Do(func() { l.closeErr = l.Listener.Close() })
	return l.closeErr
}

// drain makes every session that is not transferring a message end at its
// next read (go-smtp answers it 421 4.4.2 and closes); sessions in DATA
// finish their message first.
func (l *listener) drain() {
	l.draining.Store(true)
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.conns {
		if !c.inData.Load() {
			_ = c.Conn.SetReadDeadline(time.Now())
		}
	}
}

// active returns the number of open connections.
func (l *listener) active() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// conn is an accepted connection: deadlines are clamped to the session's
// end (and to now while draining, outside DATA).
//
// A read timeout ends the session. go-smtp reads commands with
// bufio.Reader.ReadLine, which returns the bytes read before a timeout as
// if they were a whole line: a command missing its CRLF would be run. So
// the first timeout is kept: every later read fails with it, the first
// reply written after it is replaced (plaintext) by 421 4.4.2 unless it
// already is a 421, and the connection is closed after that reply. Under
// TLS the records cannot be rewritten here; the session refuses every
// command that reaches it once timed out (session.timedOut), and that
// refusal is the reply let through.
type conn struct {
	net.Conn
	l      *listener
	ip     string
	end    time.Time
	inData atomic.Bool
	closed sync.Once

	tls      atomic.Bool // a TLS handshake started (STARTTLS)
	replies  replyCounter
	mu       sync.Mutex
	timeout  error // the first read timeout
	answered bool  // the reply after it was written; the connection is closed
}

// errTimedOutLine is the reply to a command left incomplete by a timeout.
const errTimedOutLine = "421 4.4.2 %s Timeout: command incomplete, closing connection\r\n"

func (c *conn) Read(b []byte) (int, error) {
	c.mu.Lock()
	err := c.timeout
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(b)
	var ne net.Error
	if err != nil && errors.As(err, &ne) && ne.Timeout() {
		c.mu.Lock()
		if c.timeout == nil {
			c.timeout = err
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *conn) Write(b []byte) (int, error) {
	c.mu.Lock()
	if c.timeout == nil {
		c.mu.Unlock()
		if !c.tls.Load() {
			c.replies.scan(b, c.l.met)
		}
		return c.Conn.Write(b)
	}
	defer c.mu.Unlock()
	if c.answered {
		return 0, net.ErrClosed
	}
	c.answered = true
	if !c.tls.Load() && !bytes.HasPrefix(b, []byte("421 ")) {
		c.l.met.SMTPReply('4')
		_, _ = fmt.Fprintf(c.Conn, errTimedOutLine, c.l.hostname)
	} else {
		if !c.tls.Load() {
			c.replies.scan(b, c.l.met)
		}
		_, _ = c.Conn.Write(b)
	}
	_ = c.Conn.Close()
	return len(b), nil
}

// replyCounter finds the replies in what the server writes in plaintext:
// a reply's last line is its code and a space ("250 2.0.0 OK"; the lines
// before it use a hyphen), and only such a line is counted. Writes may end
// mid-line; the state carries over. After STARTTLS the bytes here are
// TLS records: the session counts its own replies there (session.count).
type replyCounter struct {
	head [4]byte
	n    int  // bytes of head filled
	skip bool // inside a line whose head is decided
}

func (r *replyCounter) scan(b []byte, m *metrics.Metrics) {
	if m == nil {
		return
	}
	for _, ch := range b {
		if ch == '\n' {
			r.n, r.skip = 0, false
			continue
		}
		if r.skip {
			continue
		}
		r.head[r.n] = ch
		r.n++
		if r.n == len(r.head) {
			r.skip = true
			h := r.head
			if h[3] == ' ' && isDigit(h[0]) && isDigit(h[1]) && isDigit(h[2]) {
				m.SMTPReply(h[0])
			}
		}
	}
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// timedOut reports whether a read has timed out: the session is over.
func (c *conn) timedOut() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.timeout != nil
}

func (c *conn) readLimit(t time.Time) time.Time {
	lim := c.end
	if c.l.draining.Load() && !c.inData.Load() {
		lim = time.Now()
	}
	if t.IsZero() || t.After(lim) {
		return lim
	}
	return t
}

func (c *conn) SetReadDeadline(t time.Time) error {
	return c.Conn.SetReadDeadline(c.readLimit(t))
}

func (c *conn) SetWriteDeadline(t time.Time) error {
	lim := c.end.Add(writeGrace)
	if t.IsZero() || t.After(lim) {
		t = lim
	}
	return c.Conn.SetWriteDeadline(t)
}

func (c *conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.closed.Do(func() { c.l.release(c) })
	return err
}

// underlying finds our conn under a go-smtp connection (which may have
// been upgraded to TLS).
func underlying(nc net.Conn) *conn {
	for i := 0; i < 4 && nc != nil; i++ {
		switch c := nc.(type) {
		case *conn:
			return c
		case *tls.Conn:
			nc = c.NetConn()
		default:
			return nil
		}
	}
	return nil
}
