package smtpin_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"gent/daemon/config"
)

func TestBareLineEndingsRefused(t *testing.T) {
	h := newHarness(t)
	for name, body := range map[string]string{
		"bare LF in body":   "Subject: lf\r\n\r\nline one\nline two\r\n",
		"bare LF in header": "Subject: lf\nFrom: a@example.org\r\n\r\nbody\r\n",
		"bare CR in body":   "Subject: cr\r\n\r\nline one\rline two\r\n",
		"CR before CRLF":    "Subject: cr\r\n\r\nline one\r\r\nline two\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			d := h.dial()
			d.envelope()
			d.cmd("DATA", "354 ")
			d.write(body + ".\r\n")
			d.expect("554 5.5.2 ")
			d.cmd("NOOP", "250 ")
		})
	}
	if n := h.messages(); n != 0 {
		t.Fatalf("stored %d", n)
	}
}

// TestSmuggling sends every end-of-data look-alike followed by a second,
// smuggled transaction: none ends DATA, so the server answers once, at the
// real end, and the smuggled commands are never run.
func TestSmuggling(t *testing.T) {
	h := newHarness(t)
	variants := []struct {
		name, seq, want string
	}{
		{"LF.LF", "\n.\n", "554 5.5.2"},
		{"LF.CRLF", "\n.\r\n", "554 5.5.2"},
		{"CR.CRLF", "\r.\r\n", "554 5.5.2"},
		{"CRLF.LF", "\r\n.\n", "554 5.5.2"},
		{"CR.LF", "\r.\n", "554 5.5.2"},
		{"CR.CR", "\r.\r", "554 5.5.2"},
		{"LF.CR", "\n.\r", "554 5.5.2"},
		{"CRLF.NUL.CRLF", "\r\n.\x00\r\n", "250 2.0.0"},
		// RFC 5321 dot-unstuffing removes the dot of "\r\n." and the CR after
		// it: the rest stays inside the message, stored without a bare CR.
		{"CRLF.CR", "\r\n.\r", "250 2.0.0"},
	}
	smuggled := "MAIL FROM:<evil@example.org>\r\nRCPT TO:<agent@mail.example.com>\r\nDATA\r\n" +
		"From: evil@example.org\r\nSubject: smuggled\r\n\r\nsmuggled\r\n"
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			before := h.messages()
			d := h.dial()
			d.envelope()
			d.cmd("DATA", "354 ")
			d.write("From: ada@example.org\r\nSubject: carrier " + v.name + "\r\n\r\nbody" + v.seq + smuggled + ".\r\n")
			d.expect(v.want + " ")
			d.cmd("QUIT", "221 ") // no reply was left over for smuggled commands
			stored := h.messages() - before
			if (v.want == "250 2.0.0") != (stored == 1) || stored > 1 {
				t.Fatalf("stored %d for %s", stored, v.want)
			}
			if n := h.count(`SELECT count(*) FROM messages WHERE subject = 'smuggled'`); n != 0 {
				t.Fatal("a smuggled message was stored")
			}
			if stored == 1 {
				raw := string(h.rawOf(t, "carrier "+v.name))
				if !strings.Contains(raw, "MAIL FROM:<evil@example.org>") {
					t.Fatalf("the would-be commands are message text: %q", raw)
				}
				for i := 0; i < len(raw); i++ {
					if raw[i] == '\n' && (i == 0 || raw[i-1] != '\r') || raw[i] == '\r' && (i+1 == len(raw) || raw[i+1] != '\n') {
						t.Fatalf("a bare line ending was stored: %q", raw)
					}
				}
			}
		})
	}
}

func (h *harness) rawOf(t *testing.T, subject string) []byte {
	t.Helper()
	var row struct{ Raw []byte }
	if err := h.env.Store.DB.Raw(`SELECT raw FROM messages WHERE subject = ?`, subject).Scan(&row).Error; err != nil || row.Raw == nil {
		t.Fatalf("no message %q: %v", subject, err)
	}
	return row.Raw
}

// selfSigned writes a certificate for mx.gent.test and its key.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCert(t, certFile, keyFile, "mx.gent.test", time.Now().Add(time.Hour))
	return certFile, keyFile
}

// writeCert writes a self-signed certificate for name, valid until
// notAfter, and its key to the given files; it returns the certificate.
func writeCert(t *testing.T, certFile, keyFile, name string, notAfter time.Time) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		DNSNames: []string{name}, NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	if err := os.MkdirAll(filepath.Dir(certFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestStartTLS(t *testing.T) {
	cert, key := selfSigned(t)
	h := newHarness(t, func(c *config.Config) { c.SMTP.TLSCert, c.SMTP.TLSKey = cert, key })
	tlsCfg := &tls.Config{ServerName: "mx.gent.test", InsecureSkipVerify: true}

	t.Run("delivery over TLS", func(t *testing.T) {
		c, err := smtp.DialStartTLS(h.addr, tlsCfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Mail("ada@example.org", nil); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt("agent@mail.example.com", nil); err != nil {
			t.Fatal(err)
		}
		w, _ := c.Data()
		w.Write([]byte(simpleMessage("over tls")))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if raw := string(h.rawOf(t, "over tls")); !strings.Contains(raw, "with ESMTPS id") {
			t.Fatalf("raw %q", raw[:200])
		}
	})

	t.Run("pipelined commands after STARTTLS are discarded", func(t *testing.T) {
		d := h.dial()
		if r := d.cmd("EHLO client.example.org", "250 "); !strings.Contains(r, "STARTTLS") {
			t.Fatalf("STARTTLS not offered: %q", r)
		}
		// The classic injection: plaintext commands in the same packet as
		// STARTTLS must not be run inside the TLS session.
		d.write("STARTTLS\r\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<agent@mail.example.com>\r\n")
		d.expect("220 ")
		tc := tls.Client(d.conn, tlsCfg)
		if err := tc.Handshake(); err != nil {
			t.Fatalf("handshake: %v", err)
		}
		td := &dialog{t: t, conn: tc, r: bufio.NewReader(tc)}
		td.cmd("EHLO client.example.org", "250 ")
		td.cmd("RCPT TO:<agent@mail.example.com>", "502 5.5.1 ") // no MAIL in this session
		td.cmd("DATA", "502 5.5.1 ")
		td.cmd("QUIT", "221 ")
	})
}

// TestShutdownDrains: Shutdown lets a message in transfer finish and be
// stored, and closes idle sessions with 421.
func TestShutdownDrains(t *testing.T) {
	h := newHarness(t)
	idle := h.dial()
	idle.cmd("EHLO client.example.org", "250 ")
	busy := h.dial()
	busy.envelope()
	busy.cmd("DATA", "354 ")
	busy.write("From: ada@example.org\r\nSubject: in flight\r\n\r\nfirst half\r\n")
	time.Sleep(100 * time.Millisecond)

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- h.env.SMTP.Shutdown(ctx)
	}()
	idle.expect("421 4.4.2 ")
	select {
	case err := <-done:
		t.Fatalf("shutdown returned (%v) while a message was in transfer", err)
	case <-time.After(200 * time.Millisecond):
	}
	busy.write("second half\r\n.\r\n")
	busy.expect("250 2.0.0 ")
	busy.expect("421 4.4.2 ")
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if n := h.count(`SELECT count(*) FROM messages WHERE subject = 'in flight'`); n != 1 {
		t.Fatal("the in-flight message was not stored")
	}
}
