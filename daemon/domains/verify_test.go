package domains_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"gent/daemon/config"
	"gent/models"
)

func TestPendingToVerified(t *testing.T) {
	h := newHarness(t)
	d := h.create(models.CreateDomainRequest{Domain: "mail.example.com"}, 201)

	// Nothing published: every record pending, the domain too.
	v := h.verify(d.ID)
	if v.Status != models.DomainPending || v.LastCheckedAt == nil || v.VerifiedAt != nil {
		t.Errorf("nothing published: %+v", v)
	}
	for _, r := range v.Records {
		expectStatus(t, r, models.RecordPending, "yet")
		if len(r.Found) != 0 || r.LookupError != "" {
			t.Errorf("%s: found %q, lookup error %q", r.Name, r.Found, r.LookupError)
		}
	}

	// Everything but DMARC: still pending.
	h.publish(d.ID)
	h.dns.Delete("_dmarc.mail.example.com", dns.TypeTXT)
	v = h.verify(d.ID)
	if v.Status != models.DomainPending {
		t.Errorf("without DMARC: status %s", v.Status)
	}
	expectStatus(t, rec(t, v, models.PurposeDMARC), models.RecordPending, "no DMARC record")
	expectStatus(t, rec(t, v, models.PurposeSPF), models.RecordValid, "")

	h.dns.SetTXT("_dmarc.mail.example.com", "v=DMARC1; p=quarantine")
	v = h.verify(d.ID)
	if v.Status != models.DomainVerified || v.VerifiedAt == nil {
		t.Fatalf("all published: %+v", v)
	}
	for _, r := range v.Records {
		expectStatus(t, r, models.RecordValid, "")
		if len(r.Found) == 0 {
			t.Errorf("%s %s: nothing in found", r.Purpose, r.Name)
		}
	}
	if dk := rec(t, v, models.PurposeDKIM); dk.Found[0] != dk.Value {
		t.Errorf("DKIM found %q, want the joined value", dk.Found)
	}
	if mx := rec(t, v, models.PurposeMX); mx.Found[0] != "10 "+host {
		t.Errorf("MX found %q", mx.Found)
	}
	if got := h.get(d.ID); got.Status != models.DomainVerified || rec(t, got, models.PurposeSPF).Status != models.RecordValid {
		t.Errorf("GET after verify: %+v", got)
	}
	if ev := h.eventTypes(); count(ev, models.EventDomainVerified) != 1 || count(ev, models.EventDomainChanged) != 0 {
		t.Errorf("events: %v", ev)
	}
	// Checking again changes nothing and emits nothing.
	if v2 := h.verify(d.ID); v2.Status != models.DomainVerified || !v2.VerifiedAt.Equal(*v.VerifiedAt) {
		t.Errorf("second verify: %+v", v2)
	}
	if ev := h.eventTypes(); count(ev, models.EventDomainVerified) != 1 {
		t.Errorf("events after a second verify: %v", ev)
	}
	var audits int64
	h.env.Store.DB.Raw(`SELECT count(*) FROM audit_log WHERE action = 'domains.status_changed' AND target_id = ? AND actor_id = ?`, d.ID, h.org.OwnerID).Scan(&audits)
	if audits != 1 {
		t.Errorf("%d status-change audit entries, want 1", audits)
	}

	// MX is reported but not required.
	h.dns.Delete("mail.example.com", dns.TypeMX)
	v = h.verify(d.ID)
	if v.Status != models.DomainVerified {
		t.Errorf("without MX: status %s", v.Status)
	}
	expectStatus(t, rec(t, v, models.PurposeMX), models.RecordPending, "receive")
}

func TestWrongRecords(t *testing.T) {
	h := newHarness(t)
	d := h.create(models.CreateDomainRequest{Domain: "mail.example.com"}, 201)
	other := h.create(models.CreateDomainRequest{Domain: "other.example.com"}, 201)
	h.publish(d.ID)
	dk := rec(t, d, models.PurposeDKIM)

	// Another domain's DKIM key at our selector.
	wrongKey := rec(t, other, models.PurposeDKIM).Value
	h.dns.SetTXT(dk.Name, wrongKey)
	// An ownership TXT with someone else's token.
	h.dns.SetTXT("_gent.mail.example.com", "gent-verification=somebodyelse")
	// MX elsewhere.
	h.dns.Delete("mail.example.com", dns.TypeMX)
	h.dns.AddMX("mail.example.com", 10, "mx.provider.test")
	v := h.verify(d.ID)
	if v.Status != models.DomainPending {
		t.Errorf("status %s", v.Status)
	}
	r := rec(t, v, models.PurposeDKIM)
	expectStatus(t, r, models.RecordInvalid, "not this domain's key")
	if len(r.Found) != 1 || r.Found[0] != wrongKey {
		t.Errorf("DKIM found %q", r.Found)
	}
	expectStatus(t, rec(t, v, models.PurposeOwnership), models.RecordInvalid, "token")
	expectStatus(t, rec(t, v, models.PurposeMX), models.RecordInvalid, "goes elsewhere")

	// DKIM variants.
	for value, detail := range map[string]string{
		"v=DKIM1; k=rsa; p=": "revoked",
		"v=DKIM1; k=rsa":     "no public key",
		strings.Replace(dk.Value, "k=rsa", "k=ed25519", 1):    "key type",
		strings.Replace(dk.Value, "v=DKIM1", "v=DKIM2", 1):    "version",
		strings.TrimPrefix(dk.Value, "v=DKIM1; k=rsa; ") + "": "",
	} {
		h.dns.SetTXT(dk.Name, value)
		r := rec(t, h.verify(d.ID), models.PurposeDKIM)
		if detail == "" {
			expectStatus(t, r, models.RecordValid, "") // v= and k= are optional
		} else {
			expectStatus(t, r, models.RecordInvalid, detail)
		}
	}
	h.dns.SetTXT(dk.Name, dk.Value, "v=DKIM1; k=rsa; p=AAAA")
	expectStatus(t, rec(t, h.verify(d.ID), models.PurposeDKIM), models.RecordInvalid, "exactly one")

	// MX listed, but another host is preferred.
	h.dns.AddMX("mail.example.com", 20, host)
	expectStatus(t, rec(t, h.verify(d.ID), models.PurposeMX), models.RecordInvalid, "preference 20")
}

func TestSPF(t *testing.T) {
	h := newHarness(t)
	d := h.create(models.CreateDomainRequest{Domain: "mail.example.com"}, 201)
	h.publish(d.ID)
	// A provider SPF record the domain includes, and one that authorises
	// the daemon's address by redirect.
	h.dns.SetTXT("_spf.provider.test", "v=spf1 ip4:198.51.100.0/24 ~all")
	h.dns.SetTXT("_spf.gent-hosting.test", "v=spf1 ip4:"+hostAddr+" -all")

	cases := []struct {
		record string
		status string
		detail string
	}{
		// The daemon among other mechanisms.
		{"v=spf1 ip4:203.0.113.0/24 include:_spf.provider.test a:" + host + " ~all", models.RecordValid, ""},
		{"v=spf1 include:_spf.provider.test +a:" + strings.ToUpper(host) + "/32 -all", models.RecordValid, ""},
		{"v=spf1 include:_spf." + host + " -all", models.RecordValid, ""},
		{"v=spf1 mx -all", models.RecordValid, ""}, // the domain's MX is the daemon
		{"v=spf1 mx:mail.example.com ~all", models.RecordValid, ""},
		// Authorised by address rather than by name: evaluated.
		{"v=spf1 ip4:" + hostAddr + " -all", models.RecordValid, "other mechanisms"},
		{"v=spf1 include:_spf.provider.test include:_spf.gent-hosting.test -all", models.RecordValid, "other mechanisms"},
		{"v=spf1 redirect=_spf.gent-hosting.test", models.RecordValid, "other mechanisms"},
		// Not authorised.
		{"v=spf1 include:_spf.provider.test ~all", models.RecordInvalid, "a:" + host},
		{"v=spf1 -all a:" + host, models.RecordInvalid, "gives fail"},
		{"v=spf1 -a:" + host + " ~all", models.RecordInvalid, "gives fail"},
		{"v=spf1 ip4:198.51.100.7 -all", models.RecordInvalid, "a:" + host},
		{"v=spf1 a:" + host + " +all", models.RecordValid, ""},
		{"v=spf1 +all", models.RecordInvalid, "every host"},
		{"v=spf1 all", models.RecordInvalid, "every host"},
		{"v=spf1 bogus:x a:" + host + " -all", models.RecordInvalid, "unknown SPF mechanism"},
		{"v=spf1 a:a.test a:b.test a:c.test a:d.test a:e.test a:f.test a:g.test a:h.test a:i.test a:j.test a:" + host + " -all", models.RecordInvalid, "10 DNS lookups"},
	}
	for _, c := range cases {
		h.dns.SetTXT("mail.example.com", "google-site-verification=abc", c.record)
		r := rec(t, h.verify(d.ID), models.PurposeSPF)
		if r.Status != c.status || (c.detail != "" && !strings.Contains(r.Detail, c.detail)) {
			t.Errorf("%q: %s (%s), want %s with %q", c.record, r.Status, r.Detail, c.status, c.detail)
		}
		if len(r.Found) != 1 || r.Found[0] != c.record {
			t.Errorf("%q: found %q (only the SPF record belongs there)", c.record, r.Found)
		}
	}

	// Two SPF records: a permanent error, even if each is right.
	h.dns.SetTXT("mail.example.com", "v=spf1 a:"+host+" -all", "v=spf1 include:_spf.provider.test ~all")
	v := h.verify(d.ID)
	r := rec(t, v, models.PurposeSPF)
	expectStatus(t, r, models.RecordInvalid, "2 SPF records")
	if len(r.Found) != 2 || v.Status == models.DomainVerified {
		t.Errorf("duplicate SPF: found %q, domain %s", r.Found, v.Status)
	}

	// Other TXT records but no SPF: pending.
	h.dns.SetTXT("mail.example.com", "google-site-verification=abc")
	expectStatus(t, rec(t, h.verify(d.ID), models.PurposeSPF), models.RecordPending, "no SPF record")
}

func TestSplitDKIMStrings(t *testing.T) {
	h := newHarness(t)
	d := h.create(models.CreateDomainRequest{Domain: "mail.example.com"}, 201)
	h.publish(d.ID)
	dk := rec(t, d, models.PurposeDKIM)
	if len(dk.Value) <= 255 {
		t.Fatalf("RSA-2048 DKIM value is only %d bytes", len(dk.Value))
	}
	// Split at arbitrary points, as DNS hosting panels do: read back joined.
	for _, cut := range [][]int{{255}, {100, 200}, {1, 2, 200}} {
		var parts []string
		prev := 0
		for _, c := range cut {
			parts = append(parts, dk.Value[prev:c])
			prev = c
		}
		parts = append(parts, dk.Value[prev:])
		h.dns.Delete(dk.Name, dns.TypeTXT)
		h.dns.AddTXT(dk.Name, parts...)
		r := rec(t, h.verify(d.ID), models.PurposeDKIM)
		expectStatus(t, r, models.RecordValid, "")
		if len(r.Found) != 1 || r.Found[0] != dk.Value {
			t.Errorf("split %v: found %q, want the joined value", cut, r.Found)
		}
	}
	// Split in the wrong place with spaces inside the base64 also works
	// (whitespace in p= is ignored, RFC 6376 section 3.6.1).
	h.dns.Delete(dk.Name, dns.TypeTXT)
	h.dns.AddTXT(dk.Name, dk.Value[:120]+" ", dk.Value[120:240], dk.Value[240:])
	expectStatus(t, rec(t, h.verify(d.ID), models.PurposeDKIM), models.RecordValid, "")

	// A big answer (several long records) is truncated over UDP; the
	// resolver retries over TCP.
	big := strings.Repeat("x", 1000)
	h.dns.SetTXT("_gent.mail.example.com", big, big, big, big, big, rec(t, d, models.PurposeOwnership).Value)
	r := rec(t, h.verify(d.ID), models.PurposeOwnership)
	expectStatus(t, r, models.RecordValid, "")
	if len(r.Found) != 6 {
		t.Errorf("found %d ownership TXT records, want 6", len(r.Found))
	}
}

func TestDMARC(t *testing.T) {
	h := newHarness(t)
	d := h.create(models.CreateDomainRequest{Domain: "mail.example.com"}, 201) // quarantine
	ded := h.create(models.CreateDomainRequest{Domain: "agents.example.com", DomainUse: models.DomainUseDedicated}, 201)
	none := h.create(models.CreateDomainRequest{Domain: "relaxed.example.com", DMARCPolicy: "none"}, 201)
	for _, x := range []models.Domain{d, ded, none} {
		h.publish(x.ID)
	}
	cases := []struct {
		dom    models.Domain
		txt    []string
		status string
		detail string
	}{
		{d, []string{"v=DMARC1; p=none; rua=mailto:d@example.com"}, models.RecordInvalid, "p=none is weaker than the chosen policy quarantine"},
		{d, []string{"v=DMARC1; p=quarantine"}, models.RecordValid, ""},
		{d, []string{"v=DMARC1;p=reject;"}, models.RecordValid, "stricter"},
		{d, []string{"v=DMARC1; p=quarantine; pct=50"}, models.RecordInvalid, "pct=50"},
		{d, []string{"v=DMARC1; p=quarantine; pct=100"}, models.RecordValid, ""},
		{d, []string{"v=DMARC1; rua=mailto:d@example.com"}, models.RecordInvalid, "no policy"},
		{d, []string{"v=DMARC1; p=block"}, models.RecordInvalid, "not none, quarantine or reject"},
		{d, []string{"v=DMARC1; p=quarantine", "v=DMARC1; p=reject"}, models.RecordInvalid, "2 DMARC records"},
		{d, []string{"something else"}, models.RecordInvalid, "v=DMARC1"},
		{ded, []string{"v=DMARC1; p=quarantine"}, models.RecordInvalid, "weaker than the chosen policy reject"},
		{ded, []string{"v=DMARC1; p=reject"}, models.RecordValid, ""},
		{none, []string{"v=DMARC1; p=none"}, models.RecordValid, ""},
		{none, []string{"v=DMARC1; p=none; pct=10"}, models.RecordValid, ""},
	}
	for _, c := range cases {
		h.dns.SetTXT("_dmarc."+c.dom.Name, c.txt...)
		v := h.verify(c.dom.ID)
		r := rec(t, v, models.PurposeDMARC)
		if r.Status != c.status || (c.detail != "" && !strings.Contains(r.Detail, c.detail)) {
			t.Errorf("%s %q: %s (%s), want %s with %q", c.dom.Name, c.txt, r.Status, r.Detail, c.status, c.detail)
		}
		if want := map[bool]string{true: models.DomainVerified, false: models.DomainPending}[c.status == models.RecordValid]; v.Status != want && v.Status != models.DomainDegraded {
			t.Errorf("%s %q: domain %s", c.dom.Name, c.txt, v.Status)
		}
	}
}

func TestLookupFailures(t *testing.T) {
	h := newHarness(t)
	d := h.create(models.CreateDomainRequest{Domain: "mail.example.com"}, 201)
	h.publish(d.ID)
	dk := rec(t, d, models.PurposeDKIM)
	h.dns.ServFail("_dmarc.mail.example.com")
	h.dns.NoAnswer(dk.Name)

	start := time.Now()
	v := h.verify(d.ID)
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("verify took %v with a 300ms DNS timeout", took)
	}
	if v.Status != models.DomainPending {
		t.Errorf("with SERVFAIL and a timeout the domain is %s", v.Status)
	}
	r := rec(t, v, models.PurposeDMARC)
	expectStatus(t, r, models.RecordInvalid, "SERVFAIL")
	if r.LookupError != models.LookupServFail {
		t.Errorf("DMARC lookup_error %q", r.LookupError)
	}
	r = rec(t, v, models.PurposeDKIM)
	expectStatus(t, r, models.RecordInvalid, "timed out")
	if r.LookupError != models.LookupTimeout {
		t.Errorf("DKIM lookup_error %q", r.LookupError)
	}
	expectStatus(t, rec(t, v, models.PurposeSPF), models.RecordValid, "")

	// Once verified, a failing lookup is reported but does not degrade
	// the domain by itself: nothing was proven missing.
	h.dns.Restore("_dmarc.mail.example.com")
	h.dns.Restore(dk.Name)
	if v = h.verify(d.ID); v.Status != models.DomainVerified {
		t.Fatalf("after restore: %s", v.Status)
	}
	h.dns.ServFail("mail.example.com")
	v = h.verify(d.ID)
	if v.Status != models.DomainVerified {
		t.Errorf("SERVFAIL on a verified domain: %s", v.Status)
	}
	if r := rec(t, v, models.PurposeSPF); r.LookupError != models.LookupServFail || r.Status != models.RecordInvalid {
		t.Errorf("SPF under SERVFAIL: %+v", r)
	}
	// But a definitive change with a failing lookup elsewhere degrades it.
	h.dns.Delete("_dmarc.mail.example.com", dns.TypeTXT)
	if v = h.verify(d.ID); v.Status != models.DomainDegraded {
		t.Errorf("DMARC removed: %s", v.Status)
	}
}

func TestNoResolverAnswering(t *testing.T) {
	// A resolver address where nothing listens: lookups fail, quickly, and
	// the domain stays pending.
	h := newHarness(t, func(c *config.Config) { c.DNS.Resolver = "127.0.0.1:1" })
	d := h.create(models.CreateDomainRequest{Domain: "mail.example.com"}, 201)
	v := h.verify(d.ID)
	if v.Status != models.DomainPending {
		t.Errorf("status %s", v.Status)
	}
	for _, r := range v.Records {
		if r.Status != models.RecordInvalid || r.LookupError == "" || !strings.Contains(r.Detail, "does not count as valid") {
			t.Errorf("%s: %+v", r.Name, r)
		}
	}
}

func TestResolverForOtherServices(t *testing.T) {
	h := newHarness(t)
	h.dns.AddMX("example.org", 20, "b.example.org")
	h.dns.AddMX("example.org", 10, "a.example.org")
	h.dns.AddTXT("example.org", "v=spf1 ", "-all")
	h.dns.ServFail("broken.example.org")
	res := h.env.Domains.Resolver()
	ctx := context.Background()
	mx, err := res.LookupMX(ctx, "example.org")
	if err != nil || len(mx) != 2 || mx[0].Host != "a.example.org." || mx[0].Pref != 10 {
		t.Errorf("LookupMX: %v %v", mx, err)
	}
	txt, err := res.LookupTXT(ctx, "example.org")
	if err != nil || len(txt) != 1 || txt[0] != "v=spf1 -all" {
		t.Errorf("LookupTXT: %q %v", txt, err)
	}
	ips, err := res.LookupIPAddr(ctx, host)
	if err != nil || len(ips) != 1 || ips[0].IP.String() != hostAddr {
		t.Errorf("LookupIPAddr: %v %v", ips, err)
	}
	if _, err := res.LookupTXT(ctx, "missing.example.org"); !isNotFound(err) {
		t.Errorf("missing name: %v", err)
	}
	if _, err := res.LookupTXT(ctx, "broken.example.org"); !isTemporary(err) || isNotFound(err) {
		t.Errorf("SERVFAIL: %v", err)
	}
}
