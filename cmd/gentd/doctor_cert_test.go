package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"

	"gent/daemon/config"
)

func selfSigned(t *testing.T, name string, from, to time.Time) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: from, NotAfter: to, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The certificate STARTTLS serves: self-signed is a warning; expired, not
// yet valid or naming another host is a failure.
func TestDoctorCertificate(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		name, host string
		from, to   time.Time
		want, why  string
	}{
		{"self-signed", "mx.gent.test", now.Add(-time.Hour), now.AddDate(1, 0, 0), "warn", "self-signed"},
		{"expiring", "mx.gent.test", now.Add(-time.Hour), now.Add(48 * time.Hour), "warn", "expires in"},
		{"expired", "mx.gent.test", now.AddDate(-1, 0, 0), now.Add(-time.Hour), "fail", "expired"},
		{"not yet valid", "mx.gent.test", now.Add(time.Hour), now.AddDate(1, 0, 0), "fail", "not valid yet"},
		{"other name", "mx.other.test", now.Add(-time.Hour), now.AddDate(1, 0, 0), "fail", "does not name hostname mx.gent.test"},
	} {
		var out bytes.Buffer
		cfg := config.Default()
		cfg.Hostname = "mx.gent.test"
		d := &doctor{out: &out, cfg: cfg}
		cert := selfSigned(t, c.host, c.from, c.to)
		d.certificate(cert, []*x509.Certificate{cert})
		if !hasLine(out.String(), c.want, "tls", c.why) || (c.want == "fail") != (d.fails == 1) {
			t.Errorf("%s: %q", c.name, strings.TrimSpace(out.String()))
		}
	}
}
