// Package smtpsink is a real SMTP server on loopback that stands in for a
// remote mail host in tests and benchmarks: it records what it accepts and
// can be told to defer, refuse, drop the connection or stall. Outside tests,
// Start and Close run one (cmd/gentbench).
//
//	sink := smtpsink.New(t)
//	sink.Fail(3, 451)            // answer the next 3 DATA with 451 4.3.0
//	sink.RejectRcpt("nobody@example.net", 550)
//	... deliver to sink.Addr ...
//	msgs := sink.WaitFor(t, 1, 5*time.Second)
package smtpsink

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one accepted message.
type Message struct {
	From string
	To   []string
	Data []byte
	TLS  bool
	Auth string    // the authenticated user, if any
	At   time.Time // when the sink took it (just before its 250)
}

// Rcpt is one RCPT TO the sink was given (accepted or refused), as its
// SMTP server parsed it: the path and the DSN parameters (RFC 3461).
type Rcpt struct {
	To     string
	Notify []string
	ORCPT  string
}

// Sink is a loopback SMTP server.
type Sink struct {
	Addr string
	Port int

	srv *smtp.Server

	mu          sync.Mutex
	msgs        []Message
	rcpts       []Rcpt
	transcript  *transcript
	failData    int // answer the next n DATA with failCode
	failCode    int
	rejectRcpt  map[string]int
	dropData    int // drop the connection during the next n DATA
	delay       time.Duration
	stallMail   time.Duration
	sessions    int
	user, pass  string
	arrived     chan struct{}
	requireAuth bool
}

// Options configure a sink.
type Options struct {
	// TLS offers STARTTLS with a self-signed certificate.
	TLS bool
	// User and Password require AUTH PLAIN with these credentials
	// (relay tests); they imply TLS.
	User, Password string
	// Transcript records every byte of every session (both directions),
	// for tests that check the exact commands written.
	Transcript bool
}

// New starts a sink for the test.
func New(tb testing.TB, opts ...Options) *Sink {
	tb.Helper()
	s, err := Start(opts...)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// Start starts a sink outside a test (the load generator uses it); stop
// it with Close.
func Start(opts ...Options) (*Sink, error) {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	s := &Sink{rejectRcpt: map[string]int{}, arrived: make(chan struct{}, 1<<16), user: o.User, pass: o.Password,
		requireAuth: o.User != ""}
	srv := smtp.NewServer(s)
	srv.Domain = "sink.test"
	// DSN parameters (NOTIFY, ORCPT) are parsed and recorded, so a test
	// sees any that reach the sink.
	srv.EnableDSN = true
	if o.Transcript {
		s.transcript = &transcript{}
		srv.Debug = s.transcript
	}
	srv.MaxMessageBytes = 64 << 20
	srv.MaxRecipients = 1000
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	if o.TLS || o.User != "" {
		cfg, err := selfSigned()
		if err != nil {
			return nil, fmt.Errorf("smtpsink: %w", err)
		}
		srv.TLSConfig = cfg
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("smtpsink: %w", err)
	}
	s.Addr = ln.Addr().String()
	s.Port = ln.Addr().(*net.TCPAddr).Port
	s.srv = srv
	go func() { _ = srv.Serve(ln) }()
	return s, nil
}

// Close stops the sink.
func (s *Sink) Close() error { return s.srv.Close() }

func selfSigned() (*tls.Config, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sink.test"},
		DNSNames: []string{"sink.test", "localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, nil
}

// Fail answers the next n DATA commands with code (4xx or 5xx).
func (s *Sink) Fail(n, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failData, s.failCode = n, code
}

// RejectRcpt answers RCPT TO:<addr> with code.
func (s *Sink) RejectRcpt(addr string, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejectRcpt[strings.ToLower(addr)] = code
}

// Drop closes the connection during the next n DATA commands, before
// answering.
func (s *Sink) Drop(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropData = n
}

// Delay stalls every DATA by d before answering.
func (s *Sink) Delay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// StallMail stalls every MAIL FROM by d before answering (before anything
// is accepted: a client that dies meanwhile delivered nothing).
func (s *Sink) StallMail(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stallMail = d
}

// Messages returns what was accepted so far.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Rcpts returns every RCPT TO the sink was given so far.
func (s *Sink) Rcpts() []Rcpt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Rcpt(nil), s.rcpts...)
}

// Transcript returns what was said in every session so far (with
// Options.Transcript; empty otherwise).
func (s *Sink) Transcript() string {
	if s.transcript == nil {
		return ""
	}
	return s.transcript.String()
}

// ResetTranscript forgets the transcript so far.
func (s *Sink) ResetTranscript() {
	if s.transcript != nil {
		s.transcript.reset()
	}
}

type transcript struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (t *transcript) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.Write(b)
}

func (t *transcript) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}

func (t *transcript) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Reset()
}

// Count returns how many messages were accepted so far.
func (s *Sink) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

// Sessions counts the connections the sink has seen.
func (s *Sink) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}

// WaitFor waits until at least n messages have been accepted.
func (s *Sink) WaitFor(tb testing.TB, n int, timeout time.Duration) []Message {
	tb.Helper()
	deadline := time.After(timeout)
	for {
		if m := s.Messages(); len(m) >= n {
			return m
		}
		select {
		case <-s.arrived:
		case <-deadline:
			tb.Fatalf("smtpsink: want %d messages, got %d after %s", n, len(s.Messages()), timeout)
		}
	}
}

// NewSession implements smtp.Backend.
func (s *Sink) NewSession(c *smtp.Conn) (smtp.Session, error) {
	s.mu.Lock()
	s.sessions++
	s.mu.Unlock()
	return &session{s: s, c: c}, nil
}

type session struct {
	s    *Sink
	c    *smtp.Conn
	from string
	to   []string
	user string
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != ss.s.user || password != ss.s.pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		ss.user = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.s.mu.Lock()
	stall := ss.s.stallMail
	ss.s.mu.Unlock()
	if stall > 0 {
		time.Sleep(stall)
	}
	if ss.s.requireAuth && ss.user == "" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	rc := Rcpt{To: to}
	if opts != nil {
		for _, n := range opts.Notify {
			rc.Notify = append(rc.Notify, string(n))
		}
		if opts.OriginalRecipient != "" {
			rc.ORCPT = string(opts.OriginalRecipientType) + ";" + opts.OriginalRecipient
		}
	}
	ss.s.mu.Lock()
	ss.s.rcpts = append(ss.s.rcpts, rc)
	code := ss.s.rejectRcpt[strings.ToLower(to)]
	ss.s.mu.Unlock()
	if code != 0 {
		return &smtp.SMTPError{Code: code, EnhancedCode: enhanced(code, 1, 1), Message: "recipient refused by the sink"}
	}
	ss.to = append(ss.to, to)
	return nil
}

func enhanced(code, sub, detail int) smtp.EnhancedCode {
	return smtp.EnhancedCode{code / 100, sub, detail}
}

var errDropped = errors.New("connection dropped by the sink")

func (ss *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s := ss.s
	s.mu.Lock()
	delay, drop, fail, code := s.delay, s.dropData > 0, s.failData > 0, s.failCode
	if drop {
		s.dropData--
	} else if fail {
		s.failData--
	}
	s.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	if drop {
		_ = ss.c.Conn().Close()
		return errDropped
	}
	if fail {
		return &smtp.SMTPError{Code: code, EnhancedCode: enhanced(code, 3, 0), Message: "the sink says try again later"}
	}
	_, isTLS := ss.c.TLSConnectionState()
	s.mu.Lock()
	s.msgs = append(s.msgs, Message{From: ss.from, To: append([]string(nil), ss.to...), Data: b, TLS: isTLS, Auth: ss.user, At: time.Now()})
	s.mu.Unlock()
	select {
	case s.arrived <- struct{}{}:
	default:
	}
	return nil
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error { return nil }
