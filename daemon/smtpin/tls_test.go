package smtpin_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"gent/daemon/config"
	"gent/daemon/server/servertest"
	"gent/daemon/smtpin"
)

// TestStartTLSSelfSigned: with no smtp.tls_cert, STARTTLS is still
// offered, with a certificate for hostname that gentd made under
// data_dir (key 0600); a client that trusts that certificate verifies
// the server, and the Received field says ESMTPS (ESMTP in plaintext).
func TestStartTLSSelfSigned(t *testing.T) {
	h := newHarness(t)
	d := h.dial()
	if r := d.cmd("EHLO client.example.org", "250 "); !strings.Contains(r, "STARTTLS") {
		t.Fatalf("STARTTLS not offered without smtp.tls_cert: %q", r)
	}
	certFile, keyFile := smtpin.SelfSignedPaths(h.env.Config.DataDir)
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %s: %v %v", keyFile, fi.Mode(), err)
	}
	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("no certificate in " + certFile)
	}
	c, err := dialTLS(h.addr, &tls.Config{ServerName: "mx.gent.test", RootCAs: pool})
	if err != nil {
		t.Fatalf("STARTTLS with the self-signed certificate trusted: %v", err)
	}
	state, _ := c.TLSConnectionState()
	leaf := state.PeerCertificates[0]
	if days := time.Until(leaf.NotAfter).Hours() / 24; days < 360 || days > 366 {
		t.Fatalf("self-signed certificate valid for %.0f days", days)
	}
	sendOverTLS(t, c, "self signed tls")
	if raw := unfold(h.rawOf(t, "self signed tls")); !strings.Contains(raw, "with ESMTPS id") {
		t.Fatalf("Received of a TLS session: %q", raw[:200])
	}
	if err := h.send("ada@example.org", []string{"agent@mail.example.com"}, simpleMessage("plain text")); err != nil {
		t.Fatal(err)
	}
	if raw := unfold(h.rawOf(t, "plain text")); !strings.Contains(raw, "with ESMTP id") {
		t.Fatalf("Received of a plaintext session: %q", raw[:200])
	}
}

// TestSelfSignedKeptAndRenewed: the self-signed certificate is made once
// and kept across starts; one within 30 days of its end, or not naming
// hostname, is made again.
func TestSelfSignedKeptAndRenewed(t *testing.T) {
	cfg := servertest.Config(t)
	cfg.Hostname = "mx.gent.test"
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	served := func() *x509.Certificate {
		t.Helper()
		s, err := smtpin.New(cfg, nil, nil, log)
		if err != nil {
			t.Fatal(err)
		}
		c, selfSigned := s.Certificate()
		if !selfSigned {
			t.Fatal("not the self-signed certificate")
		}
		return c.Leaf
	}
	first := served()
	if !bytes.Equal(served().Raw, first.Raw) {
		t.Fatal("the self-signed certificate was made again on the next start")
	}
	certFile, keyFile := smtpin.SelfSignedPaths(cfg.DataDir)
	for name, c := range map[string]struct {
		host     string
		notAfter time.Time
		kept     bool
	}{
		"valid for 100 days": {"mx.gent.test", time.Now().Add(100 * 24 * time.Hour), true},
		"expires in 10 days": {"mx.gent.test", time.Now().Add(10 * 24 * time.Hour), false},
		"expired":            {"mx.gent.test", time.Now().Add(-time.Minute), false},
		"another host name":  {"old.gent.test", time.Now().Add(100 * 24 * time.Hour), false},
	} {
		t.Run(name, func(t *testing.T) {
			old := writeCert(t, certFile, keyFile, c.host, c.notAfter)
			got := served()
			if kept := bytes.Equal(got.Raw, old.Raw); kept != c.kept {
				t.Fatalf("kept = %v, want %v", kept, c.kept)
			}
			if !c.kept && (got.VerifyHostname("mx.gent.test") != nil || time.Until(got.NotAfter) < 300*24*time.Hour) {
				t.Fatalf("renewed certificate names %v until %s", got.DNSNames, got.NotAfter)
			}
		})
	}
}

// TestReloadTLS: after the certificate files are replaced, ReloadTLS (what
// SIGHUP calls) makes new sessions get the new certificate, while a
// session opened before finishes its message on the old one. Unreadable
// files leave the certificate in use.
func TestReloadTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	oldCert := writeCert(t, certFile, keyFile, "mx.gent.test", time.Now().Add(time.Hour))
	h := newHarness(t, func(c *config.Config) { c.SMTP.TLSCert, c.SMTP.TLSKey = certFile, keyFile })
	tlsCfg := &tls.Config{ServerName: "mx.gent.test", InsecureSkipVerify: true}
	peer := func(c *smtp.Client) *x509.Certificate {
		state, ok := c.TLSConnectionState()
		if !ok {
			t.Fatal("not TLS")
		}
		return state.PeerCertificates[0]
	}

	before, err := dialTLS(h.addr, tlsCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer before.Close()
	if !bytes.Equal(peer(before).Raw, oldCert.Raw) {
		t.Fatal("not the configured certificate")
	}
	if err := before.Mail("ada@example.org", nil); err != nil {
		t.Fatal(err)
	}
	if err := before.Rcpt("agent@mail.example.com", nil); err != nil {
		t.Fatal(err)
	}

	newCert := writeCert(t, certFile, keyFile, "mx.gent.test", time.Now().Add(2*time.Hour))
	if err := h.env.SMTP.ReloadTLS(); err != nil {
		t.Fatal(err)
	}
	after, err := dialTLS(h.addr, tlsCfg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(peer(after).Raw, newCert.Raw) {
		t.Fatal("a session after the reload got the old certificate")
	}
	sendOverTLS(t, after, "after reload")

	// The session opened before the reload completes its message.
	w, err := before.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(simpleMessage("before reload")))
	if err := w.Close(); err != nil {
		t.Fatalf("session opened before the reload: %v", err)
	}
	if err := before.Quit(); err != nil {
		t.Fatal(err)
	}
	h.rawOf(t, "before reload")
	h.rawOf(t, "after reload")

	// A broken file: the reload fails and the certificate in use stays.
	if err := os.WriteFile(certFile, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := h.env.SMTP.ReloadTLS(); err == nil {
		t.Fatal("reload of a broken certificate file succeeded")
	}
	c, err := dialTLS(h.addr, tlsCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !bytes.Equal(peer(c).Raw, newCert.Raw) {
		t.Fatal("a failed reload changed the certificate")
	}
}

// sendOn sends simpleMessage(subject) on an open client and quits.
func sendOverTLS(t *testing.T, c *smtp.Client, subject string) {
	t.Helper()
	defer c.Close()
	if err := c.Mail("ada@example.org", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("agent@mail.example.com", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(simpleMessage(subject)))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
}

// dialTLS connects, runs STARTTLS and EHLO in TLS (so the handshake is
// done).
func dialTLS(addr string, cfg *tls.Config) (*smtp.Client, error) {
	c, err := smtp.DialStartTLS(addr, cfg)
	if err != nil {
		return nil, err
	}
	if err := c.Hello("client.example.org"); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// unfold joins folded header lines.
func unfold(raw []byte) string { return strings.ReplaceAll(string(raw), "\r\n\t", " ") }
