package delivery

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"gent/daemon/mail"
)

// result is what one attempt learned about one recipient.
type result struct {
	code     int    // SMTP reply code (0: no reply, e.g. connection failure)
	enhanced string // e.g. "5.1.1"
	text     string // the remote's reply, or our description
	ok       bool   // accepted after DATA
	perm     bool   // permanent failure: bounce
}

func (r result) response() string {
	if r.code == 0 {
		return r.text
	}
	if r.enhanced != "" {
		return fmt.Sprintf("%d %s %s", r.code, r.enhanced, r.text)
	}
	return fmt.Sprintf("%d %s", r.code, r.text)
}

func fromSMTPError(err error) result {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		r := result{code: se.Code, text: se.Message, perm: se.Code >= 500}
		if se.EnhancedCode != (smtp.EnhancedCode{}) && se.EnhancedCode != smtp.NoEnhancedCode {
			r.enhanced = fmt.Sprintf("%d.%d.%d", se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
		}
		return r
	}
	return result{text: err.Error()}
}

// hostTarget is one host to try, with the name to present for TLS.
type hostTarget struct {
	name string // MX host name (TLS server name)
	addr string // ip:port
}

// session delivers one message to a set of recipients on one host. It
// returns per-recipient results, or a session-level error when the host
// could not take the transaction at all (try the next host).
type session struct {
	hostname    string // our EHLO name
	dialTimeout time.Duration
	cmdTimeout  time.Duration
	dataTimeout time.Duration
	// relay: STARTTLS required, then AUTH PLAIN.
	relay           bool
	relayUser       string
	relayPass       string
	relaySkipVerify bool
	forcePlain      bool // after a failed TLS handshake on this host
	// pool, when set, keeps sessions open between deliveries.
	pool *connPool
}

// errNoTLS is returned when a TLS handshake failed and the host should be
// retried in plain text (opportunistic STARTTLS).
var errNoTLS = errors.New("TLS handshake failed")

// badPath is the result for an address that is not an RFC 5321 mailbox
// (mail.CheckMailbox): it is never written into a command, since go-smtp's
// client writes the path as it is, and any quote, bracket or space in it
// would change the command.
func badPath(enhanced, what string, err error) result {
	return result{code: 553, enhanced: enhanced, perm: true, text: what + " mailbox address syntax, not sent: " + err.Error()}
}

// checkPaths splits the recipients into those that may be written into
// RCPT TO and the results of those that may not.
func checkPaths(from string, rcpts []string) (ok []string, bad map[string]result) {
	bad = map[string]result{}
	if err := mail.CheckMailbox(from); err != nil {
		return nil, all(rcpts, badPath("5.1.7", "bad sender", err))
	}
	for _, rc := range rcpts {
		if err := mail.CheckMailbox(rc); err != nil {
			bad[rc] = badPath("5.1.3", "bad destination", err)
			continue
		}
		ok = append(ok, rc)
	}
	return ok, bad
}

func (s *session) deliver(ctx context.Context, h hostTarget, from string, rcpts []string, data []byte) (map[string]result, bool, error) {
	rcpts, out := checkPaths(from, rcpts)
	if len(rcpts) == 0 {
		return out, false, nil
	}
	key := s.poolKey(h)
	// An open session to the host from an earlier delivery first. If it
	// turns out to be gone (closed by the server while idle), nothing was
	// sent on it: a new connection carries the transaction.
	if pc := s.pool.get(key); pc != nil {
		res, reusable, err := s.transact(ctx, pc, h, from, rcpts, data, out, true)
		if !errors.Is(err, errStale) {
			s.release(key, pc, reusable)
			return res, pc.tls, err
		}
		pc.c.Close()
	}
	pc, err := s.connect(ctx, h)
	if err != nil {
		return nil, false, err
	}
	res, reusable, err := s.transact(ctx, pc, h, from, rcpts, data, out, false)
	s.release(key, pc, reusable)
	return res, pc.tls, err
}

// errStale: a kept session failed before its transaction began.
var errStale = errors.New("kept SMTP session is gone")

// connect opens a session: connection, greeting, EHLO (STARTTLS when
// offered), AUTH with a relay.
func (s *session) connect(ctx context.Context, h hostTarget) (*pooledClient, error) {
	d := net.Dialer{Timeout: s.dialTimeout}
	conn, err := d.DialContext(ctx, "tcp", h.addr)
	if err != nil {
		return nil, fmt.Errorf("connect to %s (%s): %w", h.name, h.addr, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c, tlsUsed, err := s.open(conn, h)
	if err != nil {
		conn.Close()
		return nil, err
	}
	c.CommandTimeout = s.cmdTimeout
	c.SubmissionTimeout = s.dataTimeout
	if err := c.Hello(s.hostname); err != nil {
		c.Close()
		return nil, fmt.Errorf("EHLO at %s: %w", h.name, err)
	}
	if s.relay {
		if ok, _ := c.Extension("AUTH"); ok && s.relayUser != "" {
			if err := c.Auth(sasl.NewPlainClient("", s.relayUser, s.relayPass)); err != nil {
				c.Close()
				return nil, fmt.Errorf("AUTH at relay %s: %w", h.name, err)
			}
		} else if s.relayUser != "" {
			c.Close()
			return nil, fmt.Errorf("relay %s does not offer AUTH", h.name)
		}
	}
	return &pooledClient{c: c, conn: conn, tls: tlsUsed, opened: time.Now()}, nil
}

// release keeps a session whose transaction ended cleanly for the next
// delivery to the host, or ends it.
func (s *session) release(key string, pc *pooledClient, reusable bool) {
	if reusable && s.pool.put(key, pc) {
		return
	}
	if reusable {
		_ = pc.c.Quit()
	}
	pc.c.Close()
}

// transact runs one mail transaction on an open session. reusable reports
// whether the session is back in its initial state (no transaction open,
// every reply read) and may carry another. On a kept session (kept), a
// failure before the server took MAIL FROM is errStale.
func (s *session) transact(ctx context.Context, pc *pooledClient, h hostTarget, from string, rcpts []string, data []byte,
	out map[string]result, kept bool) (res map[string]result, reusable bool, err error) {
	c := pc.c
	stop := context.AfterFunc(ctx, func() { pc.conn.Close() })
	defer func() {
		if !stop() {
			reusable = false // the context ended: the connection is closed
		}
	}()
	mopts := &smtp.MailOptions{Size: int64(len(data))}
	if ok, _ := c.Extension("8BITMIME"); ok && bytes.IndexFunc(data, func(r rune) bool { return r >= 0x80 }) >= 0 {
		// A forwarded original travels as 8bit message/rfc822.
		mopts.Body = smtp.Body8BitMIME
	}
	if err := c.Mail(from, mopts); err != nil {
		var se *smtp.SMTPError
		if kept && (!errors.As(err, &se) || se.Code == 421) {
			return nil, false, errStale
		}
		r := fromSMTPError(err)
		if r.perm {
			for _, rc := range rcpts {
				out[rc] = r
			}
			return out, errors.As(err, &se), nil
		}
		return nil, false, fmt.Errorf("MAIL FROM at %s: %w", h.name, err)
	}
	var accepted []string
	for _, rc := range rcpts {
		if err := c.Rcpt(rc, nil); err != nil {
			out[rc] = fromSMTPError(err)
			continue
		}
		accepted = append(accepted, rc)
	}
	if len(accepted) == 0 {
		// End the open transaction; the session stays usable.
		return out, c.Reset() == nil, nil
	}
	w, err := c.Data()
	if err != nil {
		r := fromSMTPError(err)
		for _, rc := range accepted {
			out[rc] = r
		}
		return out, false, nil
	}
	if _, err := w.Write(data); err != nil {
		for _, rc := range accepted {
			out[rc] = result{text: "connection lost while sending the message: " + err.Error()}
		}
		return out, false, nil
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		r := fromSMTPError(err)
		for _, rc := range accepted {
			out[rc] = r
		}
		var se *smtp.SMTPError
		return out, errors.As(err, &se) && se.Code != 421, nil
	}
	for _, rc := range accepted {
		out[rc] = result{code: 250, text: resp.StatusText, ok: true}
	}
	return out, true, nil
}

// poolKey names the sessions that may carry a delivery to h: the same
// address, reached the same way.
func (s *session) poolKey(h hostTarget) string {
	return fmt.Sprintf("%s|%s|relay=%t|plain=%t", h.addr, h.name, s.relay, s.forcePlain)
}

// pooledClient is an open SMTP session.
type pooledClient struct {
	c      *smtp.Client
	conn   net.Conn
	tls    bool
	opened time.Time
	idle   time.Time // when it was last put back
}

// Sessions are kept open after a transaction for the next delivery to the
// same host, as MTAs do: one connection (and TLS handshake) carries many
// messages instead of one. A kept session is used again within
// keepIdle, at most up to keepAge after it was opened; at most keepPerHost
// sessions per host wait at once.
const (
	keepIdle    = 5 * time.Second
	keepAge     = 5 * time.Minute
	keepPerHost = 16
)

// connPool holds the idle sessions, by poolKey.
type connPool struct {
	mu    sync.Mutex
	idle  map[string][]*pooledClient
	sweep *time.Timer
	now   func() time.Time
}

func newConnPool() *connPool {
	return &connPool{idle: map[string][]*pooledClient{}, now: time.Now}
}

// get takes the most recently used idle session for key, or nil.
func (p *connPool) get(key string) *pooledClient {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	list := p.idle[key]
	for len(list) > 0 {
		pc := list[len(list)-1]
		list = list[:len(list)-1]
		if now.Sub(pc.idle) < keepIdle && now.Sub(pc.opened) < keepAge {
			p.setList(key, list)
			return pc
		}
		go pc.c.Close()
	}
	p.setList(key, list)
	return nil
}

// put keeps a session; false when it is not kept (too old, or enough
// kept for the host).
func (p *connPool) put(key string, pc *pooledClient) bool {
	if p == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if now.Sub(pc.opened) >= keepAge || len(p.idle[key]) >= keepPerHost {
		return false
	}
	pc.idle = now
	p.idle[key] = append(p.idle[key], pc)
	if p.sweep == nil {
		p.sweep = time.AfterFunc(keepIdle, p.expire)
	}
	return true
}

func (p *connPool) setList(key string, list []*pooledClient) {
	if len(list) == 0 {
		delete(p.idle, key)
		return
	}
	p.idle[key] = list
}

// expire ends the sessions idle for keepIdle, and looks again later while
// some are kept.
func (p *connPool) expire() {
	p.mu.Lock()
	now := p.now()
	var done []*pooledClient
	for key, list := range p.idle {
		kept := list[:0]
		for _, pc := range list {
			if now.Sub(pc.idle) >= keepIdle || now.Sub(pc.opened) >= keepAge {
				done = append(done, pc)
				continue
			}
			kept = append(kept, pc)
		}
		p.setList(key, kept)
	}
	p.sweep = nil
	if len(p.idle) > 0 {
		p.sweep = time.AfterFunc(keepIdle, p.expire)
	}
	p.mu.Unlock()
	for _, pc := range done {
		_ = pc.c.Quit()
		pc.c.Close()
	}
}

func all(rcpts []string, r result) map[string]result {
	out := make(map[string]result, len(rcpts))
	for _, rc := range rcpts {
		out[rc] = r
	}
	return out
}

// open reads the greeting and says EHLO itself, so that it can upgrade with
// STARTTLS under our own EHLO name; go-smtp's client then continues on the
// (possibly encrypted) connection.
func (s *session) open(conn net.Conn, h hostTarget) (*smtp.Client, bool, error) {
	_ = conn.SetDeadline(time.Now().Add(s.cmdTimeout))
	tp := textproto.NewConn(conn)
	if _, _, err := tp.ReadResponse(220); err != nil {
		return nil, false, fmt.Errorf("greeting from %s: %w", h.name, err)
	}
	if err := tp.PrintfLine("EHLO %s", s.hostname); err != nil {
		return nil, false, err
	}
	_, msg, err := tp.ReadResponse(250)
	if err != nil {
		return nil, false, fmt.Errorf("EHLO at %s: %w", h.name, err)
	}
	starttls := false
	for _, line := range strings.Split(msg, "\n") {
		if strings.EqualFold(strings.TrimSpace(line), "STARTTLS") {
			starttls = true
		}
	}
	greeting := "220 " + h.name + " ESMTP\r\n"
	if s.relay && !starttls {
		return nil, false, fmt.Errorf("relay %s does not offer STARTTLS, which relay mode requires", h.name)
	}
	if !starttls || s.forcePlain {
		_ = conn.SetDeadline(time.Time{})
		return smtp.NewClient(prefixed(conn, tp.R, greeting)), false, nil
	}
	if err := tp.PrintfLine("STARTTLS"); err != nil {
		return nil, false, err
	}
	if _, _, err := tp.ReadResponse(220); err != nil {
		return nil, false, fmt.Errorf("STARTTLS at %s: %w", h.name, err)
	}
	cfg := &tls.Config{ServerName: strings.TrimSuffix(h.name, "."), MinVersion: tls.VersionTLS12}
	if !s.relay || s.relaySkipVerify {
		// Opportunistic TLS to MX hosts encrypts without authenticating
		// (RFC 7435): a certificate that does not verify still beats plain
		// text.
		cfg.InsecureSkipVerify = true
	}
	tc := tls.Client(conn, cfg)
	if err := tc.Handshake(); err != nil {
		if s.relay {
			return nil, false, fmt.Errorf("TLS with relay %s: %w", h.name, err)
		}
		return nil, false, fmt.Errorf("%w with %s: %v", errNoTLS, h.name, err)
	}
	_ = conn.SetDeadline(time.Time{})
	return smtp.NewClient(prefixed(tc, nil, greeting)), true, nil
}

// prefixedConn replays a greeting (and any buffered bytes) before reading
// from the connection, so go-smtp's client starts as on a fresh session.
type prefixedConn struct {
	net.Conn
	r io.Reader
}

func (p *prefixedConn) Read(b []byte) (int, error) { return p.r.Read(b) }

func prefixed(c net.Conn, buffered *bufio.Reader, greeting string) net.Conn {
	var rest io.Reader = c
	if buffered != nil && buffered.Buffered() > 0 {
		b, _ := buffered.Peek(buffered.Buffered())
		rest = io.MultiReader(strings.NewReader(string(b)), c)
	}
	return &prefixedConn{Conn: c, r: io.MultiReader(strings.NewReader(greeting), rest)}
}

func joinHostPort(ip net.IP, port int) string {
	return net.JoinHostPort(ip.String(), strconv.Itoa(port))
}
