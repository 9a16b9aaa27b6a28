package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gent/daemon/store/storetest"
)

// writeTestCert writes a self-signed certificate for name and its key.
func writeTestCert(t *testing.T, certFile, keyFile, name string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return der
}

// tlsSession is an SMTP session after STARTTLS and EHLO.
type tlsSession struct {
	t    *testing.T
	conn *tls.Conn
	r    *bufio.Reader
}

func startTLSSession(t *testing.T, addr string) *tlsSession {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	s := &tlsSession{t: t, r: r}
	s.expect("220")
	fmt.Fprintf(c, "EHLO client.example.org\r\n")
	if ehlo := s.expect("250"); !strings.Contains(ehlo, "STARTTLS") {
		t.Fatalf("STARTTLS not offered: %q", ehlo)
	}
	fmt.Fprintf(c, "STARTTLS\r\n")
	s.expect("220")
	s.conn = tls.Client(c, &tls.Config{ServerName: "mx.gent.test", InsecureSkipVerify: true})
	if err := s.conn.Handshake(); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	s.r = bufio.NewReader(s.conn)
	s.cmd("EHLO client.example.org", "250")
	return s
}

// expect reads one reply (all its lines) and checks its code.
func (s *tlsSession) expect(code string) string {
	s.t.Helper()
	var all []string
	for {
		l, err := s.r.ReadString('\n')
		if err != nil {
			s.t.Fatalf("read reply: %v (so far %q)", err, all)
		}
		all = append(all, l)
		if len(l) < 4 || l[3] != '-' {
			break
		}
	}
	reply := strings.Join(all, "")
	if !strings.HasPrefix(all[len(all)-1], code) {
		s.t.Fatalf("want %s, got %q", code, reply)
	}
	return reply
}

func (s *tlsSession) cmd(line, code string) string {
	s.t.Helper()
	if _, err := fmt.Fprintf(s.conn, "%s\r\n", line); err != nil {
		s.t.Fatalf("write %q: %v", line, err)
	}
	return s.expect(code)
}

func (s *tlsSession) peer() []byte { return s.conn.ConnectionState().PeerCertificates[0].Raw }

// TestSIGHUPReloadsCertificate: a real gentd serves the configured
// certificate; after the files are replaced and it gets SIGHUP, new
// sessions get the new certificate while a session opened before goes on
// on the old one.
func TestSIGHUPReloadsCertificate(t *testing.T) {
	dir, bin := buildGentd(t)
	certFile, keyFile := filepath.Join(dir, "smtp.crt"), filepath.Join(dir, "smtp.key")
	oldDER := writeTestCert(t, certFile, keyFile, "mx.gent.test")
	d := &daemon{t: t, bin: bin, dataDir: filepath.Join(dir, "data"), env: []string{
		"GENT_DATABASE_URL=" + storetest.NewURL(t), "GENT_HOSTNAME=mx.gent.test",
		"GENT_SMTP_TLS_CERT=" + certFile, "GENT_SMTP_TLS_KEY=" + keyFile}}
	t.Cleanup(func() {
		if d.cmd != nil && d.cmd.ProcessState == nil {
			_ = d.cmd.Process.Kill()
		}
	})
	d.start()

	before := startTLSSession(t, d.smtpAddr)
	if !bytes.Equal(before.peer(), oldDER) {
		t.Fatal("gentd does not serve the configured certificate")
	}
	before.cmd("MAIL FROM:<ada@example.org>", "250")

	newDER := writeTestCert(t, certFile, keyFile, "mx.gent.test")
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := startTLSSession(t, d.smtpAddr)
		got := s.peer()
		s.cmd("QUIT", "221")
		if bytes.Equal(got, newDER) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still the old certificate 10 s after SIGHUP:\n%s", d.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if d.cmd.ProcessState != nil {
		t.Fatalf("gentd exited on SIGHUP:\n%s", d.out.String())
	}
	// The session opened before the reload is still served.
	before.cmd("RSET", "250")
	before.cmd("NOOP", "250")
	before.cmd("QUIT", "221")
	if !strings.Contains(d.out.String(), "TLS certificate read again") {
		t.Fatalf("reload not logged:\n%s", d.out.String())
	}
	d.stop(syscall.SIGTERM)
}
