package smtpin_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	proxyproto "github.com/pires/go-proxyproto"

	"gent/daemon/config"
)

// proxyDial connects to addr and opens with a PROXY v2 header (go-proxyproto's
// writer) claiming the client src.
func proxyDial(t *testing.T, addr, src string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	h := proxyproto.HeaderProxyFromAddrs(2, &net.TCPAddr{IP: net.ParseIP(src), Port: 40000}, conn.RemoteAddr())
	if _, err := h.WriteTo(conn); err != nil {
		t.Fatal(err)
	}
	return conn
}

// sendOn runs one SMTP transaction on an open connection.
func sendOn(t *testing.T, conn net.Conn, from, msg string) error {
	t.Helper()
	c := smtp.NewClient(conn)
	if err := c.Hello("client.example.org"); err != nil {
		return err
	}
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	if err := c.Rcpt("agent@mail.example.com", nil); err != nil {
		return err
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

// A balancer in smtp.proxy_trusted names the client in a PROXY v2 header:
// SPF is checked against that address, the Received field names it, and
// the per-address connection limit counts it. Without the header, a
// trusted balancer's connection is closed before the greeting.
func TestProxyProtocolTrusted(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.SMTP.ProxyTrusted = "192.0.2.0/24, 127.0.0.1"
		c.SMTP.MaxPerIP = 1
	})
	// Only the claimed client may send for proxied.example; the balancer
	// (127.0.0.1) may not.
	h.dns.SetTXT("proxied.example", "v=spf1 ip4:203.0.113.7 -all")

	conn := proxyDial(t, h.addr, "203.0.113.7")
	if err := sendOn(t, conn, "ada@proxied.example", mailFrom("ada@proxied.example", "via-balancer")); err != nil {
		t.Fatalf("send through the balancer: %v", err)
	}
	if a := h.authOf("via-balancer"); a.SPF != "pass" {
		t.Fatalf("SPF for the proxied client: %s, want pass (%s)", a.SPF, a.Summary)
	}
	raw := string(h.rawOf(t, "via-balancer"))
	if !strings.Contains(raw, "[203.0.113.7]") || strings.Contains(raw[:strings.Index(raw, "\r\n\r\n")], "127.0.0.1") {
		t.Fatalf("the Received field does not name the proxied client:\n%s", raw[:strings.Index(raw, "\r\n\r\n")])
	}

	// Per-address limit (1): two clients through one balancer both get
	// in; a second connection of the same client does not.
	a := proxyDial(t, h.addr, "203.0.113.8")
	b := proxyDial(t, h.addr, "203.0.113.9")
	for _, c := range []net.Conn{a, b} {
		if r := readReply(t, c); !strings.HasPrefix(r, "220 ") {
			t.Fatalf("client through the balancer: %q, want 220", r)
		}
	}
	again := proxyDial(t, h.addr, "203.0.113.8")
	if r := readReply(t, again); !strings.HasPrefix(r, "421 4.7.0") {
		t.Fatalf("second connection of one proxied client: %q, want 421 4.7.0", r)
	}

	// The trusted balancer without a header: closed, no greeting.
	d := rawDial(t, h.addr)
	d.write("EHLO client.example.org\r\n")
	if r := d.reply(); r != "" {
		t.Fatalf("a trusted balancer's connection without a PROXY header got %q, want it closed", r)
	}
}

// From an address outside smtp.proxy_trusted, a PROXY header (v2 or v1)
// is refused: the connection is closed and nothing is stored; a plain
// client is served as usual and SPF sees its own address.
func TestProxyProtocolUntrusted(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.SMTP.ProxyTrusted = "192.0.2.1" })
	h.dns.SetTXT("proxied.example", "v=spf1 ip4:203.0.113.7 -all")

	for _, v1 := range []bool{false, true} {
		conn, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		hdr := proxyproto.HeaderProxyFromAddrs(2, &net.TCPAddr{IP: net.ParseIP("203.0.113.7"), Port: 40000}, conn.RemoteAddr())
		if v1 {
			hdr = proxyproto.HeaderProxyFromAddrs(1, &net.TCPAddr{IP: net.ParseIP("203.0.113.7"), Port: 40000}, conn.RemoteAddr())
		}
		if _, err := hdr.WriteTo(conn); err != nil {
			t.Fatal(err)
		}
		_, _ = conn.Write([]byte("EHLO client.example.org\r\nMAIL FROM:<ada@proxied.example>\r\n"))
		// The greeting goes out before anything is read (SMTP's server
		// speaks first); then the connection ends without another reply.
		r := bufio.NewReader(conn)
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		var lines []string
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				break
			}
			lines = append(lines, strings.TrimSpace(l))
		}
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "220 ") {
			t.Fatalf("untrusted PROXY header (v1=%v): replies %q, want only the greeting, then the connection closed", v1, lines)
		}
	}

	msg := mailFrom("ada@proxied.example", "direct")
	if err := h.send("ada@proxied.example", []string{"agent@mail.example.com"}, msg); err != nil {
		t.Fatal(err)
	}
	if a := h.authOf("direct"); a.SPF != "fail" {
		t.Fatalf("SPF for a direct client at 127.0.0.1: %s, want fail", a.SPF)
	}
	if n := h.messages(); n != 1 {
		t.Fatalf("%d messages stored, want only the direct one", n)
	}
}

func readReply(t *testing.T, c net.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	l, _ := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(l)
}
