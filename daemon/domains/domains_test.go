package domains_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"gent/daemon/secrets"
	"gent/daemon/server"
	"gent/daemon/server/servertest"
	"gent/daemon/store/storetest"
	"gent/models"
)

func TestProductPageBodies(t *testing.T) {
	h := newHarness(t)
	// Verbatim from the product page.
	d := h.create(`{
  "domain": "mail.example.com"
}`, 201)
	if d.Name != "mail.example.com" || d.DomainUse != models.DomainUseExisting || d.DMARCPolicy != models.DMARCQuarantine || d.Status != models.DomainPending {
		t.Errorf("default body: %+v", d)
	}
	if !models.HasPrefix(d.ID, models.PrefixDomain) || d.CreatedAt.IsZero() || d.VerifiedAt != nil || d.LastCheckedAt != nil {
		t.Errorf("id and times: %+v", d)
	}
	if len(d.Records) != 6 {
		t.Fatalf("want 6 records, got %d: %+v", len(d.Records), d.Records)
	}
	for _, r := range d.Records {
		if r.Status != models.RecordPending || r.Found == nil || r.Value == "" {
			t.Errorf("new record: %+v", r)
		}
	}
	if r := rec(t, d, models.PurposeDMARC); r.Value != "v=DMARC1; p=quarantine" || r.Name != "_dmarc.mail.example.com" {
		t.Errorf("DMARC record: %+v", r)
	}
	if r := rec(t, d, models.PurposeMX); r.Type != "MX" || r.Value != host || r.Priority != 10 || r.Name != "mail.example.com" || r.Required {
		t.Errorf("MX record: %+v", r)
	}
	if r := rec(t, d, models.PurposeSPF); r.Value != "v=spf1 a:"+host+" ~all" || !r.Required {
		t.Errorf("SPF record: %+v", r)
	}
	if r := rec(t, d, models.PurposeOwnership); r.Name != "_gent.mail.example.com" || !strings.HasPrefix(r.Value, "gent-verification=") || len(r.Value) < 40 {
		t.Errorf("ownership record: %+v", r)
	}
	dk := rec(t, d, models.PurposeDKIM)
	if !strings.HasSuffix(dk.Name, "._domainkey.mail.example.com") || !strings.HasPrefix(dk.Value, "v=DKIM1; k=rsa; p=") {
		t.Errorf("DKIM record: %+v", dk)
	}
	der, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(dk.Value, "v=DKIM1; k=rsa; p="))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if k, ok := pub.(*rsa.PublicKey); err != nil || !ok || k.N.BitLen() != 2048 {
		t.Errorf("DKIM key is not RSA-2048: %T %v", pub, err)
	}
	if ed := edRec(t, d); ed.Required || ed.Name == dk.Name {
		t.Errorf("Ed25519 record: %+v", ed)
	}

	d2 := h.create(`{
  "domain": "agents.example.com",
  "domain_use": "dedicated_subdomain"
}`, 201)
	if d2.DomainUse != models.DomainUseDedicated || d2.DMARCPolicy != models.DMARCReject {
		t.Errorf("dedicated subdomain: %+v", d2)
	}
	if r := rec(t, d2, models.PurposeSPF); r.Value != "v=spf1 a:"+host+" -all" {
		t.Errorf("dedicated SPF: %q", r.Value)
	}
	if rec(t, d2, models.PurposeDKIM).Name == dk.Name {
		t.Error("two domains share a DKIM selector name")
	}

	d3 := h.create(models.CreateDomainRequest{Domain: "news.example.com", DomainUse: models.DomainUseDedicated, DMARCPolicy: "none"}, 201)
	if d3.DMARCPolicy != models.DMARCNone {
		t.Errorf("explicit dmarc_policy: %+v", d3)
	}

	var page models.List[models.Domain]
	h.env.MustStatus(200, "GET", "/v1/domains?limit=2", h.org.Owner, nil).JSON(t, &page)
	if len(page.Data) != 2 || page.Data[0].ID != d.ID || page.NextCursor == "" {
		t.Fatalf("first page: %+v", page)
	}
	h.env.MustStatus(200, "GET", "/v1/domains?limit=2&cursor="+page.NextCursor, h.org.Owner, nil).JSON(t, &page)
	if len(page.Data) != 1 || page.Data[0].ID != d3.ID || page.NextCursor != "" {
		t.Fatalf("second page: %+v", page)
	}
}

func TestReuseAndOtherOrganization(t *testing.T) {
	h := newHarness(t)
	d := h.create(models.CreateDomainRequest{Domain: "mail.example.com"}, 201)
	for _, name := range []string{"mail.example.com", "MAIL.Example.com.", " mail.example.com "} {
		again := h.create(models.CreateDomainRequest{Domain: name}, 200)
		if again.ID != d.ID || rec(t, again, models.PurposeDKIM).Value != rec(t, d, models.PurposeDKIM).Value {
			t.Errorf("%q: not the existing domain: %+v", name, again)
		}
	}
	// Reuse returns the domain unchanged, whatever the body asks.
	again := h.create(models.CreateDomainRequest{Domain: "mail.example.com", DMARCPolicy: "reject"}, 200)
	if again.DMARCPolicy != models.DMARCQuarantine {
		t.Errorf("reuse changed the policy: %+v", again)
	}
	admin := h.env.User(h.org, models.RoleAdmin)
	h.env.MustStatus(200, "POST", "/v1/domains", admin, models.CreateDomainRequest{Domain: "mail.example.com"})

	other := h.env.OtherOrg("Rival")
	r := h.env.MustStatus(409, "POST", "/v1/domains", other.Owner, models.CreateDomainRequest{Domain: "Mail.Example.com"})
	if r.ErrorCode() != models.CodeConflict {
		t.Errorf("other org: code %q", r.ErrorCode())
	}
	for _, leak := range []string{h.org.ID, "Acme", d.ID, h.org.OwnerEmail} {
		if bytes.Contains(r.Body, []byte(leak)) {
			t.Errorf("409 reveals %q: %s", leak, r.Body)
		}
	}
	h.env.MustStatus(404, "GET", "/v1/domains/"+d.ID, other.Owner, nil)
	var list models.List[models.Domain]
	h.env.MustStatus(200, "GET", "/v1/domains", other.Owner, nil).JSON(t, &list)
	if len(list.Data) != 0 {
		t.Errorf("other org lists %d domains", len(list.Data))
	}
	reviewer := h.env.User(h.org, models.RoleReviewer)
	h.env.MustStatus(403, "POST", "/v1/domains", reviewer, models.CreateDomainRequest{Domain: "x.example.com"})
}

func TestValidation(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		body  string
		field string
	}{
		{`{"domain": ""}`, "domain"},
		{`{"domain": "   "}`, "domain"},
		{`{}`, "domain"},
		{`{"domain": "com"}`, "domain"},
		{`{"domain": "com."}`, "domain"},
		{`{"domain": "192.0.2.1"}`, "domain"},
		{`{"domain": "[192.0.2.1]"}`, "domain"},
		{`{"domain": "2001:db8::1"}`, "domain"},
		{`{"domain": "10.0.0.300"}`, "domain"},
		{`{"domain": "a..example.com"}`, "domain"},
		{`{"domain": ".example.com"}`, "domain"},
		{`{"domain": "example.com.."}`, "domain"},
		{`{"domain": "-bad.example.com"}`, "domain"},
		{`{"domain": "bad-.example.com"}`, "domain"},
		{`{"domain": "under_score.example.com"}`, "domain"},
		{`{"domain": "*.example.com"}`, "domain"},
		{`{"domain": "user@example.com"}`, "domain"},
		{`{"domain": "https://example.com"}`, "domain"},
		{`{"domain": "exa mple.com"}`, "domain"},
		{`{"domain": "` + strings.Repeat("a", 64) + `.example.com"}`, "domain"},
		{`{"domain": "` + strings.Repeat(strings.Repeat("a", 60)+".", 4) + `com"}`, "domain"},
		// Fits in 253, but its DKIM record name would not.
		{`{"domain": "` + strings.Repeat(strings.Repeat("a", 54)+".", 4) + `example.com"}`, "domain"},
		{`{"domain": "xn--zz.example.com"}`, "domain"},
		{`{"domain": 42}`, "domain"},
		{`{"domain": "ok.example.com", "domain_use": "shared"}`, "domain_use"},
		{`{"domain": "ok.example.com", "dmarc_policy": "strict"}`, "dmarc_policy"},
		{`{"domain": "ok.example.com", "dmarc_policy": "REJECT"}`, "dmarc_policy"},
		{`{"domain": "ok.example.com", "extra": 1}`, "extra"},
	}
	for _, c := range cases {
		r := h.env.Do("POST", "/v1/domains", h.org.Owner, c.body)
		var body models.ErrorBody
		if r.Status == 422 {
			r.JSON(t, &body)
		}
		if r.Status != 422 || body.Error == nil || body.Error.Field != c.field || body.Error.Code != models.CodeValidation {
			t.Errorf("%s: want 422 on field %q, got %d %s", c.body, c.field, r.Status, r.Body)
		}
	}
	for _, body := range []string{``, `not json`, `{"domain": "a.example.com"} trailing`} {
		if r := h.env.Do("POST", "/v1/domains", h.org.Owner, body); r.Status != 400 {
			t.Errorf("%q: want 400, got %d %s", body, r.Status, r.Body)
		}
	}
	var n int64
	h.env.Store.DB.Raw(`SELECT count(*) FROM domains`).Scan(&n)
	if n != 0 {
		t.Errorf("%d domains stored from invalid requests", n)
	}
	// Internationalised names are stored as A-labels.
	for in, want := range map[string]string{
		"Bücher.Example.":   "xn--bcher-kva.example",
		"ＭＡＩＬ．example.com":  "mail.example.com",
		"xn--mnchen-3ya.de": "xn--mnchen-3ya.de",
		"münchen.de":        "xn--mnchen-3ya.de",
	} {
		r := h.env.Do("POST", "/v1/domains", h.org.Owner, models.CreateDomainRequest{Domain: in})
		var d models.Domain
		r.JSON(t, &d)
		if (r.Status != 201 && r.Status != 200) || d.Name != want {
			t.Errorf("%q: got %d %q, want %q", in, r.Status, d.Name, want)
		}
	}
}

func TestZoneExport(t *testing.T) {
	h := newHarness(t)
	d := h.create(models.CreateDomainRequest{Domain: "mail.example.com"}, 201)
	z := h.zone(d.ID)
	zp := dns.NewZoneParser(strings.NewReader(z), "", "")
	got := map[string]dns.RR{}
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		got[rr.Header().Name+" "+dns.TypeToString[rr.Header().Rrtype]+" "+fmt.Sprint(len(got))] = rr
		if rr.Header().Ttl != 3600 {
			t.Errorf("TTL %d: %s", rr.Header().Ttl, rr)
		}
	}
	if err := zp.Err(); err != nil {
		t.Fatalf("zone does not parse: %v\n%s", err, z)
	}
	if len(got) != len(d.Records) {
		t.Fatalf("zone has %d records, domain %d:\n%s", len(got), len(d.Records), z)
	}
	dk := rec(t, d, models.PurposeDKIM)
	found := false
	for _, rr := range got {
		txt, ok := rr.(*dns.TXT)
		if !ok || txt.Hdr.Name != dk.Name+"." {
			continue
		}
		found = true
		if len(txt.Txt) < 2 {
			t.Errorf("RSA DKIM value (%d bytes) not split: %q", len(dk.Value), txt.Txt)
		}
		for _, s := range txt.Txt {
			if len(s) > 255 {
				t.Errorf("TXT string of %d bytes", len(s))
			}
		}
		if strings.Join(txt.Txt, "") != dk.Value {
			t.Errorf("zone DKIM strings do not join to the value")
		}
	}
	if !found {
		t.Errorf("zone lacks the DKIM record %s:\n%s", dk.Name, z)
	}
	if !strings.Contains(z, "mail.example.com.\t3600\tIN\tMX\t10 "+host+".") {
		t.Errorf("zone MX line:\n%s", z)
	}
	h.env.MustStatus(404, "GET", "/v1/domains/dom_01jd7x3k9q8m2n4p6r8t0v2w4y/zone", h.org.Owner, nil)
	h.env.MustStatus(404, "GET", "/v1/domains/nonsense/zone", h.org.Owner, nil)
}

func TestDelete(t *testing.T) {
	h := newHarness(t)
	d := h.create(models.CreateDomainRequest{Domain: "mail.example.com"}, 201)
	inbox := models.NewID(models.PrefixInbox)
	if err := h.env.Store.DB.Exec(`INSERT INTO inboxes (id, org_id, domain_id, address) VALUES (?, ?, ?, 'a@mail.example.com')`,
		inbox, h.org.ID, d.ID).Error; err != nil {
		t.Fatal(err)
	}
	r := h.env.MustStatus(409, "DELETE", "/v1/domains/"+d.ID, h.org.Owner, nil)
	if !strings.Contains(string(r.Body), "inbox") {
		t.Errorf("409 does not say why: %s", r.Body)
	}
	// An inbox still being deleted holds the domain too.
	h.env.Store.DB.Exec(`UPDATE inboxes SET status = 'deleting' WHERE id = ?`, inbox)
	h.env.MustStatus(409, "DELETE", "/v1/domains/"+d.ID, h.org.Owner, nil)
	h.env.Store.DB.Exec(`DELETE FROM inboxes WHERE id = ?`, inbox)

	other := h.env.OtherOrg("Rival")
	h.env.MustStatus(404, "DELETE", "/v1/domains/"+d.ID, other.Owner, nil)
	h.env.MustStatus(204, "DELETE", "/v1/domains/"+d.ID, h.org.Owner, nil)
	h.env.MustStatus(404, "GET", "/v1/domains/"+d.ID, h.org.Owner, nil)
	h.env.MustStatus(404, "DELETE", "/v1/domains/"+d.ID, h.org.Owner, nil)
	// The name is free again, for anyone.
	h.env.MustStatus(201, "POST", "/v1/domains", other.Owner, models.CreateDomainRequest{Domain: "mail.example.com"})
}

func TestFindByNameAndSigners(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	d := h.create(models.CreateDomainRequest{Domain: "mail.example.com"}, 201)

	found, err := h.env.Domains.FindByName(ctx, "MAIL.example.COM.")
	if err != nil || found.ID != d.ID || found.OrgID != h.org.ID {
		t.Fatalf("FindByName: %+v %v", found, err)
	}
	for _, n := range []string{"other.example.com", "not a name", ""} {
		if _, err := h.env.Domains.FindByName(ctx, n); models.ErrorCode(err) != models.CodeNotFound {
			t.Errorf("FindByName(%q): %v", n, err)
		}
	}
	if _, err := h.env.Domains.Get(ctx, "org_01jd7x3k9q8m2n4p6r8t0v2w4y", d.ID); models.ErrorCode(err) != models.CodeNotFound {
		t.Errorf("Get from another org: %v", err)
	}

	keys, err := h.env.Domains.DKIMKeys(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	sel, signer := keys[0].Selector, keys[0].Signer
	dk := rec(t, d, models.PurposeDKIM)
	if dk.Name != sel+"._domainkey.mail.example.com" {
		t.Errorf("selector %q does not match record %s", sel, dk.Name)
	}
	spki, _ := x509.MarshalPKIXPublicKey(signer.Public())
	if "v=DKIM1; k=rsa; p="+base64.StdEncoding.EncodeToString(spki) != dk.Value {
		t.Error("the signer's public key is not the published one")
	}
	if _, ok := signer.(*rsa.PrivateKey); !ok {
		t.Errorf("signer is %T", signer)
	}

	// The Ed25519 key is offered only once its record is published.
	if len(keys) != 1 {
		t.Errorf("DKIMKeys before the Ed25519 record is published: %+v", keys)
	}
	h.publish(d.ID)
	h.verify(d.ID)
	keys, err = h.env.Domains.DKIMKeys(ctx, d.ID)
	if err != nil || len(keys) != 2 {
		t.Fatalf("Ed25519 signer: keys=%+v err=%v", keys, err)
	}
	edSel, edSigner := keys[1].Selector, keys[1].Signer
	ed := edRec(t, d)
	if ed.Name != edSel+"._domainkey.mail.example.com" ||
		ed.Value != "v=DKIM1; k=ed25519; p="+base64.StdEncoding.EncodeToString(edSigner.Public().(ed25519.PublicKey)) {
		t.Errorf("Ed25519 selector %q or key does not match %+v", edSel, ed)
	}
	if keys[0].Selector != sel {
		t.Errorf("DKIMKeys once both are published: %+v (want RSA %q then Ed25519 %q)", keys, sel, edSel)
	}

	// At rest the private keys are sealed: not parseable, not in clear.
	var row struct{ DkimRsaPrivate, DkimEd25519Private []byte }
	h.env.Store.DB.Raw(`SELECT dkim_rsa_private, dkim_ed25519_private FROM domains WHERE id = ?`, d.ID).Scan(&row)
	clear, _ := x509.MarshalPKCS8PrivateKey(signer)
	if len(row.DkimRsaPrivate) == 0 || bytes.Contains(row.DkimRsaPrivate, clear[len(clear)-64:]) {
		t.Error("RSA private key stored in clear")
	}
	if _, err := x509.ParsePKCS8PrivateKey(row.DkimRsaPrivate); err == nil {
		t.Error("stored RSA key parses as a plain key")
	}
	if _, err := x509.ParsePKCS8PrivateKey(row.DkimEd25519Private); err == nil {
		t.Error("stored Ed25519 key parses as a plain key")
	}
	// A sealed key moved to another row does not open.
	d2 := h.create(models.CreateDomainRequest{Domain: "two.example.com"}, 201)
	h.env.Store.DB.Exec(`UPDATE domains SET dkim_rsa_private = ? WHERE id = ?`, row.DkimRsaPrivate, d2.ID)
	if _, err := h.env.Domains.DKIMKeys(ctx, d2.ID); err == nil {
		t.Error("a key sealed for one domain opened for another")
	}
}

// TestWrongMasterKeyAtStart: a daemon started on the same database with
// another master key stops at start-up with a clear error, before it
// could sign anything with a key it cannot decrypt.
func TestWrongMasterKeyAtStart(t *testing.T) {
	st := storetest.NewDB(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := servertest.Config(t)
	cfg.Security.MasterKey = hex.EncodeToString(secrets.GenerateKey())
	d, err := server.New(cfg, st, log)
	if err != nil {
		t.Fatal(err)
	}
	org := "org_01jd7x3k9q8m2n4p6r8t0v2w4y"
	if err := st.DB.Exec(`INSERT INTO orgs (id, name) VALUES (?, 'Acme')`, org).Error; err != nil {
		t.Fatal(err)
	}
	dom, _, err := d.Domains.Create(context.Background(), org, models.CreateDomainRequest{Domain: "mail.example.com"})
	if err != nil {
		t.Fatal(err)
	}

	wrong := cfg
	wrong.Security.MasterKey = hex.EncodeToString(secrets.GenerateKey())
	if _, err := server.New(wrong, st, log); err == nil || !strings.Contains(err.Error(), "wrong master key") {
		t.Fatalf("start with another key: want a clear error, got %v", err)
	}
	generated := cfg
	generated.Security.MasterKey = ""
	if _, err := server.New(generated, st, log); err == nil || !strings.Contains(err.Error(), "master key missing") {
		t.Fatalf("start with no key on a database with secrets: got %v", err)
	}

	// The right key still opens the domain's key.
	again, err := server.New(cfg, st, log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := again.Domains.DKIMKeys(context.Background(), dom.ID); err != nil {
		t.Fatalf("DKIM key after restart: %v", err)
	}
}
