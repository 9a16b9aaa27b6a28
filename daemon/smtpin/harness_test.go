package smtpin_test

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"gent/daemon/config"
	"gent/daemon/dnstest"
	"gent/daemon/server/servertest"
	"gent/daemon/store/storetest"
	"gent/models"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// harness is a daemon with a verified domain mail.example.com and the
// inbox agent@ on it, its SMTP server on a loopback port and a loopback
// DNS server as its resolver.
type harness struct {
	t     *testing.T
	env   *servertest.Env
	org   servertest.Org
	inbox models.Inbox
	addr  string
	dns   *dnstest.Server
}

func newHarness(t *testing.T, mutate ...func(*config.Config)) *harness {
	t.Helper()
	dns := dnstest.New(t)
	env := servertest.New(t, append([]func(*config.Config){func(c *config.Config) {
		c.Hostname = "mx.gent.test"
		c.DNS.Resolver = dns.Addr
		c.DNS.Timeout = config.Duration(2 * time.Second)
	}}, mutate...)...)
	org := env.Setup()
	env.VerifiedDomain(org, "mail.example.com")
	h := &harness{t: t, env: env, org: org, dns: dns}
	h.inbox = env.Inbox(org, "agent@mail.example.com")
	h.addr = env.ListenSMTP()
	return h
}

// send delivers one message with go-smtp's client and returns the error
// of the first refused step (nil: 250 at the end of DATA).
func (h *harness) send(from string, to []string, msg string) error {
	h.t.Helper()
	c, err := smtp.Dial(h.addr)
	if err != nil {
		h.t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	if err := c.Hello("client.example.org"); err != nil {
		return err
	}
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	for _, r := range to {
		if err := c.Rcpt(r, nil); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// wantCode checks an SMTP error's code and enhanced code ("550 5.1.1").
func wantCode(t *testing.T, err error, want string) {
	t.Helper()
	var se *smtp.SMTPError
	if !errors.As(err, &se) {
		t.Fatalf("want %s, got %v", want, err)
	}
	got := fmt.Sprintf("%d %d.%d.%d", se.Code, se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
	if got != want {
		t.Fatalf("want %s, got %s %s", want, got, se.Message)
	}
}

func (h *harness) count(q string, args ...any) int64 {
	h.t.Helper()
	var n int64
	if err := h.env.Store.DB.Raw(q, args...).Scan(&n).Error; err != nil {
		h.t.Fatal(err)
	}
	return n
}

func (h *harness) messages() int64 {
	return h.count(`SELECT count(*) FROM messages`)
}

func simpleMessage(subject string) string {
	return "From: Ada <ada@example.org>\r\nTo: agent@mail.example.com\r\nSubject: " + subject +
		"\r\nMessage-ID: <" + strings.ReplaceAll(subject, " ", "-") + "@example.org>\r\n\r\nHello agent.\r\n"
}

// dialog is a raw SMTP conversation, to assert exact replies.
type dialog struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func (h *harness) dial() *dialog {
	h.t.Helper()
	d := rawDial(h.t, h.addr)
	d.expect("220 ")
	return d
}

// rawDial connects without reading the greeting.
func rawDial(t *testing.T, addr string) *dialog {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &dialog{t: t, conn: conn, r: bufio.NewReader(conn)}
}

func (d *dialog) write(s string) {
	d.t.Helper()
	if _, err := d.conn.Write([]byte(s)); err != nil {
		d.t.Fatalf("write: %v", err)
	}
}

// reply reads one (possibly multi-line) reply; "" when the connection
// ends first.
func (d *dialog) reply() string {
	d.t.Helper()
	_ = d.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var lines []string
	for {
		l, err := d.r.ReadString('\n')
		if err != nil {
			return strings.Join(lines, "\n")
		}
		l = strings.TrimRight(l, "\r\n")
		lines = append(lines, l)
		if len(l) < 4 || l[3] != '-' {
			return strings.Join(lines, "\n")
		}
	}
}

// expect reads a reply and checks its last line starts with prefix.
func (d *dialog) expect(prefix string) string {
	d.t.Helper()
	r := d.reply()
	last := r[strings.LastIndex(r, "\n")+1:]
	if !strings.HasPrefix(last, prefix) {
		d.t.Fatalf("want a reply starting %q, got %q", prefix, r)
	}
	return r
}

// cmd sends a command line and checks the reply.
func (d *dialog) cmd(line, prefix string) string {
	d.t.Helper()
	d.write(line + "\r\n")
	return d.expect(prefix)
}

// envelope runs EHLO, MAIL and RCPT for agent@.
func (d *dialog) envelope() {
	d.t.Helper()
	d.cmd("EHLO client.example.org", "250 ")
	d.cmd("MAIL FROM:<ada@example.org>", "250 ")
	d.cmd("RCPT TO:<agent@mail.example.com>", "250 ")
}

// closed reports whether the server has closed the connection.
func (d *dialog) closed() bool {
	_ = d.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := d.r.ReadByte()
	return err != nil
}
