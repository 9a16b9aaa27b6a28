package smtpin_test

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"gent/daemon/smtpin"
	"gent/models"
)

// signer is a DKIM key whose public half is published in the test DNS.
type signer struct {
	domain, selector string
	key              crypto.Signer
}

func (h *harness) dkimKey(domain, selector string, useRSA bool) *signer {
	h.t.Helper()
	var txt string
	s := &signer{domain: domain, selector: selector}
	if useRSA {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			h.t.Fatal(err)
		}
		der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
		s.key, txt = k, "v=DKIM1; k=rsa; p="+base64.StdEncoding.EncodeToString(der)
	} else {
		pub, k, _ := ed25519.GenerateKey(rand.Reader)
		s.key, txt = k, "v=DKIM1; k=ed25519; p="+base64.StdEncoding.EncodeToString(pub)
	}
	// SetTXT splits long values into 255-byte strings, as DNS requires.
	h.dns.SetTXT(selector+"._domainkey."+domain, txt)
	return s
}

func (s *signer) sign(t *testing.T, msg string) string {
	t.Helper()
	var b bytes.Buffer
	err := dkim.Sign(&b, strings.NewReader(msg), &dkim.SignOptions{Domain: s.domain, Selector: s.selector, Signer: s.key,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// authOf returns the stored authentication results of the message with
// the subject.
func (h *harness) authOf(subject string) models.AuthResults {
	h.t.Helper()
	var row struct{ Auth []byte }
	if err := h.env.Store.DB.Raw(`SELECT auth FROM messages WHERE subject = ?`, subject).Scan(&row).Error; err != nil || row.Auth == nil {
		h.t.Fatalf("no message %q: %v", subject, err)
	}
	var a models.AuthResults
	if err := json.Unmarshal(row.Auth, &a); err != nil {
		h.t.Fatal(err)
	}
	return a
}

func mailFrom(from, subject string) string {
	return "From: <" + from + ">\r\nTo: agent@mail.example.com\r\nSubject: " + subject +
		"\r\nDate: Mon, 3 Mar 2025 10:00:00 +0000\r\nMessage-ID: <" + subject + "@test>\r\n\r\nHello.\r\n"
}

func TestAuthentication(t *testing.T) {
	h := newHarness(t)
	// example.org: SPF for this client, a DKIM key (RSA, split TXT), p=reject.
	h.dns.SetTXT("example.org", "v=spf1 ip4:127.0.0.1 -all")
	h.dns.SetTXT("_dmarc.example.org", "v=DMARC1; p=reject")
	org := h.dkimKey("example.org", "sel", true)
	// bank.example: SPF elsewhere, DMARC reject.
	h.dns.SetTXT("bank.example", "v=spf1 ip4:192.0.2.1 -all")
	h.dns.SetTXT("_dmarc.bank.example", "v=DMARC1; p=reject")
	// evil.example: SPF and DKIM that pass for itself.
	h.dns.SetTXT("evil.example", "v=spf1 ip4:127.0.0.0/8 -all")
	evil := h.dkimKey("evil.example", "k1", false)
	// shop.example: a record only at the organizational domain, with a
	// stricter subdomain policy; DKIM signs as the organizational domain.
	h.dns.SetTXT("_dmarc.shop.example", "v=DMARC1; p=none; sp=reject")
	shop := h.dkimKey("shop.example", "s", false)
	// strict.example: strict DKIM alignment.
	h.dns.SetTXT("_dmarc.strict.example", "v=DMARC1; p=quarantine; adkim=s; aspf=s")
	strict := h.dkimKey("strict.example", "s", false)
	h.dns.ServFail("flaky.example")
	h.dns.ServFail("s._domainkey.flaky.example")
	h.dns.ServFail("_dmarc.flaky.example")

	cases := []struct {
		name, envelope, from string
		signer               *signer
		tamper               bool
		spf, dkim, dmarc     string
		policy               string
	}{
		{name: "all-pass", envelope: "ada@example.org", from: "ada@example.org", signer: org,
			spf: "pass", dkim: "pass", dmarc: "pass", policy: "reject"},
		{name: "dkim-tampered", envelope: "bounce@other.example", from: "ada@example.org", signer: org, tamper: true,
			spf: "none", dkim: "fail", dmarc: "fail", policy: "reject"},
		{name: "spf-fail", envelope: "boss@bank.example", from: "boss@bank.example",
			spf: "fail", dkim: "none", dmarc: "fail", policy: "reject"},
		{name: "unaligned", envelope: "x@evil.example", from: "boss@bank.example", signer: evil,
			spf: "pass", dkim: "pass", dmarc: "fail", policy: "reject"},
		{name: "org-domain-relaxed", envelope: "bounce@mailer.example", from: "news@mail.shop.example", signer: shop,
			spf: "none", dkim: "pass", dmarc: "pass", policy: "reject"},
		{name: "strict-unaligned", envelope: "bounce@mailer.example", from: "news@sub.strict.example", signer: strict,
			spf: "none", dkim: "pass", dmarc: "fail", policy: "quarantine"},
		{name: "no-dmarc", envelope: "x@evil.example", from: "x@evil.example", signer: evil,
			spf: "pass", dkim: "pass", dmarc: "none"},
		{name: "dns-errors", envelope: "x@flaky.example", from: "x@flaky.example",
			signer: &signer{domain: "flaky.example", selector: "s", key: evil.key},
			spf:    "temperror", dkim: "temperror", dmarc: "temperror"},
		{name: "no-key", envelope: "x@nokey.example", from: "x@nokey.example",
			signer: &signer{domain: "nokey.example", selector: "s", key: evil.key},
			spf:    "none", dkim: "permerror", dmarc: "none"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := mailFrom(c.from, c.name)
			if c.signer != nil {
				msg = c.signer.sign(t, msg)
			}
			if c.tamper {
				msg = strings.Replace(msg, "Hello.", "Hello, changed.", 1)
			}
			if err := h.send(c.envelope, []string{"agent@mail.example.com"}, msg); err != nil {
				t.Fatal(err)
			}
			a := h.authOf(c.name)
			if a.SPF != c.spf || a.DKIM != c.dkim || a.DMARC != c.dmarc || a.DMARCPolicy != c.policy {
				t.Fatalf("got spf=%s dkim=%s dmarc=%s policy=%q, want spf=%s dkim=%s dmarc=%s policy=%q\n%s",
					a.SPF, a.DKIM, a.DMARC, a.DMARCPolicy, c.spf, c.dkim, c.dmarc, c.policy, a.Summary)
			}
			if !strings.HasPrefix(a.Summary, "mx.gent.test; spf="+c.spf) || !strings.Contains(a.Summary, "dmarc="+c.dmarc) {
				t.Fatalf("summary %q", a.Summary)
			}
		})
	}
	if s := h.authOf("all-pass").Summary; s != "mx.gent.test; spf=pass smtp.mailfrom=example.org; dkim=pass header.d=example.org; dmarc=pass (p=reject) header.from=example.org" {
		t.Fatalf("summary %q", s)
	}

	// The same sender again: SPF, the DKIM key and DMARC come from the
	// answers kept by dns.cache_entries, and the checks still pass.
	asked := h.dns.Queries()
	msg := org.sign(t, mailFrom("ada@example.org", "all-pass-again"))
	if err := h.send("ada@example.org", []string{"agent@mail.example.com"}, msg); err != nil {
		t.Fatal(err)
	}
	if a := h.authOf("all-pass-again"); a.SPF != "pass" || a.DKIM != "pass" || a.DMARC != "pass" {
		t.Fatalf("second message from a cached sender: %s", a.Summary)
	}
	if n := h.dns.Queries() - asked; n != 0 {
		t.Fatalf("a second message from the same sender asked DNS %d times, want 0", n)
	}
}

func TestOrgDomain(t *testing.T) {
	for in, want := range map[string]string{
		"example.com":            "example.com",
		"a.b.example.com":        "example.com",
		"mail.example.co.uk":     "example.co.uk",
		"news.shop.example":      "shop.example",
		"MX.Example.ORG.":        "example.org",
		"deep.sub.domain.gov.au": "domain.gov.au",
	} {
		if got := smtpin.OrgDomain(in); got != want {
			t.Errorf("OrgDomain(%q) = %q, want %q", in, got, want)
		}
	}
}
