package smtpin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"gent/daemon/mail"
	"gent/models"
)

// dbTimeout bounds the database work of one command.
const dbTimeout = 30 * time.Second

type backend struct{ s *Server }

// NewSession starts a session after HELO/EHLO (again after STARTTLS).
func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	l := underlying(c.Conn())
	if l != nil && l.timedOut() {
		return nil, errCmdTimeout
	}
	if l != nil && l.l.draining.Load() {
		return nil, &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "Service shutting down, try again later"}
	}
	var ip net.IP
	if ta, ok := c.Conn().RemoteAddr().(*net.TCPAddr); ok {
		ip = ta.IP
	}
	_, tlsOn := c.TLSConnectionState()
	sess := &session{s: b.s, c: c, ip: ip, helo: c.Hostname(), tls: tlsOn}
	if tlsOn && b.s.met != nil {
		return &tlsCounted{sess}, nil
	}
	return sess, nil
}

type rcpt struct {
	addr string
	r    *mail.Recipient
}

type session struct {
	s    *Server
	c    *smtp.Conn
	ip   net.IP
	helo string
	tls  bool

	from  string
	rcpts []rcpt
}

func (s *session) Reset() {
	s.from, s.rcpts = "", nil
}

func (s *session) Logout() error { return nil }

// timedOut reports a session ended by a read timeout: a command that
// still reaches it was cut short by the timeout and is not run.
func (s *session) timedOut() bool {
	l := underlying(s.c.Conn())
	return l != nil && l.timedOut()
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.timedOut() {
		return errCmdTimeout
	}
	s.Reset()
	s.from = strings.TrimSpace(from)
	return nil
}

// SMTP replies. Every reply the server makes is listed in docs/smtp.md.
func reply(code int, e1, e2, e3 int, msg string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{e1, e2, e3}, Message: msg}
}

var (
	errTempFailure  = reply(451, 4, 3, 0, "Temporary local error, try again later")
	errNoMailbox    = reply(550, 5, 1, 1, "No such mailbox here")
	errRelayDenied  = reply(550, 5, 7, 1, "Relaying denied: this server only receives mail for its own domains")
	errBadAddress   = reply(501, 5, 1, 3, "Bad recipient address syntax")
	errBlocked      = reply(550, 5, 7, 1, "Delivery not authorized: the recipient does not accept mail from this sender")
	errMailboxFull  = reply(452, 4, 2, 2, "Mailbox full, try again later")
	errOverCap      = reply(552, 5, 2, 2, "Mailbox full: this message would exceed the recipient's storage limit")
	errBareLF       = reply(554, 5, 5, 2, "Message refused: bare LF or bare CR in data; lines must end with CRLF")
	errLongLine     = reply(500, 5, 5, 2, "Line too long")
	errDataTimeout  = reply(421, 4, 4, 2, "Timeout reading data, closing connection")
	errCmdTimeout   = reply(421, 4, 4, 2, "Timeout: command incomplete, closing connection")
	errDataAborted  = reply(421, 4, 4, 0, "Error reading data, closing connection")
	errLoop         = reply(554, 5, 4, 6, "Mail loop detected: too many Received header fields")
	errHeaderTooBig = reply(552, 5, 3, 4, "Message header section too large")
	errMIMETooBig   = reply(554, 5, 6, 0, "Message MIME structure too complex")
)

// smtpError maps an error of the mail service to an SMTP reply:
// storage_cap_exceeded is 552 5.2.2, anything unexpected (the database)
// 451 4.3.0 — never a silent 250.
func (s *session) smtpError(err error, what string) *smtp.SMTPError {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se
	}
	switch models.ErrorCode(err) {
	case models.CodeStorageCapExceeded:
		return errOverCap
	case models.CodeNotFound:
		return errNoMailbox
	}
	s.s.log.Error("smtp "+what+" failed", "err", err, "remote", s.ip.String())
	return errTempFailure
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.timedOut() {
		return errCmdTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), dbTimeout)
	defer cancel()
	if _, _, ok := mail.NormalizeRecipient(to); !ok {
		return errBadAddress
	}
	r, hosted, err := s.s.mail.ResolveRecipient(ctx, to, s.from)
	if err != nil {
		return s.smtpError(err, "resolve recipient")
	}
	if r == nil {
		if hosted {
			return errNoMailbox
		}
		return errRelayDenied
	}
	if r.SenderBlocked {
		s.s.log.Info("smtp sender blocked", "remote", s.ip.String(), "from", s.from, "inbox", r.InboxID)
		return errBlocked
	}
	if r.Full() {
		return errMailboxFull
	}
	s.rcpts = append(s.rcpts, rcpt{addr: strings.ToLower(to), r: r})
	return nil
}

// bareLineEnding reports a LF not preceded by CR or a CR not followed by
// LF: both are refused rather than stored, since receivers that read them
// as line ends are what SMTP smuggling exploits.
func bareLineEnding(b []byte) bool {
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '\n':
			if i == 0 || b[i-1] != '\r' {
				return true
			}
		case '\r':
			if i+1 >= len(b) || b[i+1] != '\n' {
				return true
			}
		}
	}
	return false
}

func (s *session) Data(r io.Reader) error {
	if s.timedOut() {
		return errCmdTimeout
	}
	lc := underlying(s.c.Conn())
	if lc != nil {
		lc.inData.Store(true)
		defer lc.inData.Store(false)
		_ = lc.SetReadDeadline(time.Now().Add(s.s.cfg.DataTimeout.D()))
	}
	var buf bytes.Buffer
	_, err := io.Copy(&buf, r)
	var ne net.Error
	switch {
	case err == nil:
	case errors.Is(err, smtp.ErrDataTooLarge):
		return smtp.ErrDataTooLarge
	case errors.Is(err, smtp.ErrTooLongLine):
		return errLongLine
	case errors.As(err, &ne) && ne.Timeout():
		return errDataTimeout
	default:
		return errDataAborted
	}
	data := buf.Bytes()
	p, rerr := checkData(data, s.s.mail.Limits(), s.s.cfg.MaxReceived)
	if rerr != nil {
		s.s.log.Info("smtp message refused", "remote", s.ip.String(), "code", rerr.Code, "reason", rerr.Message)
		return rerr
	}

	ctx, cancel := context.WithTimeout(context.Background(), authBudget+dbTimeout)
	defer cancel()
	var fromDomains []string
	for _, f := range p.Headers {
		if strings.EqualFold(f.Name, "From") {
			for _, a := range fromAddresses(f.Value) {
				fromDomains = append(fromDomains, domainOf(a))
			}
		}
	}
	auth := s.s.auth.check(ctx, authInput{IP: s.ip, Helo: s.helo, MailFrom: s.from, Raw: data, FromDomains: fromDomains})

	// Recipients reaching the same inbox (plus-tags, case) store one copy.
	byInbox := map[string]rcpt{}
	postmaster := map[string]bool{}
	for _, rc := range s.rcpts {
		if _, ok := byInbox[rc.r.InboxID]; !ok {
			byInbox[rc.r.InboxID] = rc
		}
		if rc.r.Postmaster {
			postmaster[rc.r.InboxID] = true
		}
	}
	ids := make([]string, 0, len(byInbox))
	for id := range byInbox {
		ids = append(ids, id)
	}
	// A fixed order of inbox row locks: concurrent deliveries to the same
	// inboxes never deadlock.
	sort.Strings(ids)

	received := s.receivedValue(models.NewID(""))
	header := traceHeader(received, auth)
	raw := append(header, data...)
	stored := *p
	stored.Headers = append([]models.HeaderField{
		{Name: "Received", Value: received},
		{Name: "Authentication-Results", Value: auth.Summary},
	}, p.Headers...)
	stored.Received++
	stored.HeaderBytes += len(header)
	// The content analysis is made here, beside other sessions, not in
	// the group commit; the verdict is decided in the transaction.
	stored.Prescreen(&auth)

	// The 250 is sent only after the transaction holding the message
	// has committed; several sessions' messages may share it.
	var kept []string
	err = s.s.mail.Commit(ctx, func(b *mail.Batch) error {
		kept = kept[:0]
		for _, id := range ids {
			rc := byInbox[id]
			// The envelope sender passed this inbox's rules at RCPT; a
			// header From that differs from it is checked too.
			if !strings.EqualFold(p.From.Address, s.from) {
				ok, err := s.s.mail.SenderAllowed(ctx, b.Tx(), id, p.From.Address)
				if err != nil {
					return err
				}
				if !ok {
					continue // the header From is blocked by this inbox
				}
			}
			var labels []string
			if postmaster[id] {
				labels = []string{"postmaster"} // routed here as the domain's postmaster
			}
			if _, err := b.Store(ctx, mail.StoreInput{
				OrgID: rc.r.OrgID, InboxID: id, Direction: models.DirectionInbound, Status: models.StatusReceived,
				Raw: raw, Parsed: &stored, Auth: &auth, MailFrom: s.from, RcptTo: rc.addr, Seen: rc.r, Labels: labels,
			}); err != nil {
				return err
			}
			kept = append(kept, id)
		}
		if len(kept) == 0 {
			return errBlocked
		}
		return nil
	})
	if err != nil {
		e := s.smtpError(err, "store message")
		s.s.log.Info("smtp message refused", "remote", s.ip.String(), "from", s.from, "code", e.Code, "reason", e.Message)
		return e
	}
	s.s.log.Info("smtp message stored", "remote", s.ip.String(), "from", s.from, "inboxes", len(kept),
		"size", len(raw), "spf", auth.SPF, "dkim", auth.DKIM, "dmarc", auth.DMARC)
	return nil
}

// checkData applies the content rules to a received message — line
// endings, header size, MIME structure, Received hops — and parses it.
func checkData(data []byte, lim mail.Limits, maxReceived int) (*mail.Parsed, *smtp.SMTPError) {
	if bareLineEnding(data) {
		return nil, errBareLF
	}
	p, err := mail.Parse(data, lim)
	if err != nil {
		var le *mail.LimitError
		if errors.As(err, &le) && le.What == "header" {
			return nil, errHeaderTooBig
		}
		return nil, errMIMETooBig
	}
	if p.Received > maxReceived {
		return nil, errLoop
	}
	return p, nil
}

// fromAddresses returns the addresses of a From value (decoded).
func fromAddresses(v string) []string {
	var out []string
	for _, m := range strings.Split(v, ",") {
		if i := strings.LastIndexByte(m, '<'); i >= 0 {
			m = strings.TrimSuffix(strings.TrimSpace(m[i+1:]), ">")
		}
		m = strings.TrimSpace(m)
		if strings.Contains(m, "@") {
			out = append(out, m)
		}
	}
	return out
}

func (s *session) receivedValue(id string) string {
	helo := s.helo
	if helo == "" {
		helo = "unknown"
	}
	proto := "ESMTP"
	if s.tls {
		proto = "ESMTPS"
	}
	return fmt.Sprintf("from %s ([%s]) by %s (gentd) with %s id %s; %s",
		sanitizeToken(helo), s.ip.String(), s.s.host, proto, strings.ToUpper(id), time.Now().UTC().Format(time.RFC1123Z))
}

// traceHeader is what gentd prepends to a received message: a Received
// trace field and the Authentication-Results of RFC 8601, folded.
func traceHeader(received string, auth models.AuthResults) []byte {
	var b bytes.Buffer
	b.WriteString("Received: " + fold(received, " ") + "\r\n")
	b.WriteString("Authentication-Results: " + fold(auth.Summary, "; ") + "\r\n")
	return b.Bytes()
}

// fold breaks a header value after sep so lines stay short.
func fold(v, sep string) string {
	parts := strings.Split(v, sep)
	var b strings.Builder
	line := 0
	for i, p := range parts {
		if i > 0 {
			b.WriteString(strings.TrimRight(sep, " "))
			if line+len(p) > 70 {
				b.WriteString("\r\n\t")
				line = 0
			} else {
				b.WriteString(" ")
			}
		}
		b.WriteString(p)
		line += len(p) + len(sep)
	}
	return b.String()
}

// sanitizeToken keeps a client-supplied name printable and short for a
// header.
func sanitizeToken(s string) string {
	s = strings.Map(func(r rune) rune {
		if r <= ' ' || r > '~' || r == '(' || r == ')' || r == ';' {
			return -1
		}
		return r
	}, s)
	if len(s) > 255 {
		s = s[:255]
	}
	return s
}
