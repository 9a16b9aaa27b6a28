package smtpin_test

import (
	"bufio"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"gent/daemon/config"
)

// TestPartialCommandAtTimeout: a command line cut short by the read
// timeout (no CRLF) is not run: the reply is 421 4.4.2 and the connection
// closes, in plaintext and under STARTTLS.
func TestPartialCommandAtTimeout(t *testing.T) {
	cert, key := selfSigned(t)
	h := newHarness(t, func(c *config.Config) {
		c.SMTP.ReadTimeout = config.Duration(300 * time.Millisecond)
		c.SMTP.TLSCert, c.SMTP.TLSKey = cert, key
	})
	t.Run("plaintext", func(t *testing.T) {
		d := h.dial()
		d.t = t
		d.cmd("EHLO client.example.org", "250 ")
		d.write("MAIL FROM:<x@ext.test>")
		d.expect("421 4.4.2 ")
		if !d.closed() {
			t.Fatal("connection left open after the timeout")
		}
	})
	t.Run("partial RCPT after a whole MAIL", func(t *testing.T) {
		d := h.dial()
		d.t = t
		d.cmd("EHLO client.example.org", "250 ")
		d.cmd("MAIL FROM:<x@ext.test>", "250 ")
		d.write("RCPT TO:<agent@mail.example.com>")
		d.expect("421 4.4.2 ")
		if !d.closed() {
			t.Fatal("connection left open after the timeout")
		}
	})
	t.Run("STARTTLS", func(t *testing.T) {
		d := h.dial()
		d.t = t
		d.cmd("EHLO client.example.org", "250 ")
		d.cmd("STARTTLS", "220 ")
		tc := tls.Client(d.conn, &tls.Config{ServerName: "mx.gent.test", InsecureSkipVerify: true})
		if err := tc.Handshake(); err != nil {
			t.Fatalf("handshake: %v", err)
		}
		td := &dialog{t: t, conn: tc, r: bufio.NewReader(tc)}
		td.cmd("EHLO client.example.org", "250 ")
		td.write("MAIL FROM:<x@ext.test>")
		td.expect("421 4.4.2 ")
		if !td.closed() {
			t.Fatal("connection left open after the timeout")
		}
	})
}

// TestTrickleEndsAtMaxSession: a client sending a command one byte at a
// time, each within the read timeout, is cut at smtp.max_session with 421
// 4.4.2, and the unfinished command is not run.
func TestTrickleEndsAtMaxSession(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.SMTP.ReadTimeout = config.Duration(time.Minute)
		c.SMTP.MaxSession = config.Duration(time.Second)
	})
	d := h.dial()
	d.cmd("EHLO client.example.org", "250 ")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, b := range []byte(strings.Repeat("MAIL FROM:<x@ext.test>", 50)) {
			if _, err := d.conn.Write([]byte{b}); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	d.expect("421 4.4.2 ")
	if !d.closed() {
		t.Fatal("connection left open after max_session")
	}
	<-done
}
