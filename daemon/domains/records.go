package domains

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/miekg/dns"

	"gent/models"
)

// Published names and values.
const (
	// OwnershipLabel is the label under the domain that holds the ownership
	// TXT record: _gent.<domain>.
	OwnershipLabel = "_gent"
	// OwnershipPrefix starts the ownership TXT value.
	OwnershipPrefix = "gent-verification="
	// MXPriority is the preference of the MX record we ask for.
	MXPriority = 10
	// ZoneTTL is the TTL written in zone exports.
	ZoneTTL = 3600
	// rsaBits is the DKIM RSA key size.
	rsaBits = 2048
)

var lowerBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// randomToken returns n random characters of [a-z2-7] (5 bits each).
func randomToken(n int) string {
	b := make([]byte, (n*5+7)/8)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return lowerBase32.EncodeToString(b)[:n]
}

// keys is a domain's freshly generated DKIM material.
type keys struct {
	selector, edSelector string
	rsaDER, edDER        []byte // PKCS#8
	rsaPub, edPub        string // base64 p= values
}

func generateKeys() (keys, error) {
	var k keys
	rk, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return k, fmt.Errorf("generate DKIM RSA key: %w", err)
	}
	if k.rsaDER, err = x509.MarshalPKCS8PrivateKey(rk); err != nil {
		return k, fmt.Errorf("encode DKIM RSA key: %w", err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	if err != nil {
		return k, fmt.Errorf("encode DKIM RSA public key: %w", err)
	}
	k.rsaPub = base64.StdEncoding.EncodeToString(spki)
	edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return k, fmt.Errorf("generate DKIM Ed25519 key: %w", err)
	}
	if k.edDER, err = x509.MarshalPKCS8PrivateKey(edPriv); err != nil {
		return k, fmt.Errorf("encode DKIM Ed25519 key: %w", err)
	}
	// RFC 8463: p= is the raw 32-byte public key.
	k.edPub = base64.StdEncoding.EncodeToString(edPub)
	sel := "gent-" + randomToken(8)
	k.selector, k.edSelector = sel, sel+"-ed"
	return k, nil
}

// spfValue is the SPF record we suggest: the daemon's host by name, then
// soft fail for an existing domain (other senders may still be migrating)
// or hard fail for a subdomain reserved for Gent.
func spfValue(hostname, use string) string {
	all := "~all"
	if use == models.DomainUseDedicated {
		all = "-all"
	}
	return "v=spf1 a:" + hostname + " " + all
}

// expectedRecords lists what the domain's owner publishes, all pending.
func expectedRecords(r *domainRow, hostname string) []models.DNSRecord {
	recs := []models.DNSRecord{
		{Type: "TXT", Name: OwnershipLabel + "." + r.Name, Value: OwnershipPrefix + r.OwnershipToken,
			Purpose: models.PurposeOwnership, Required: true},
		{Type: "MX", Name: r.Name, Value: hostname, Priority: MXPriority, Purpose: models.PurposeMX},
		{Type: "TXT", Name: r.Name, Value: spfValue(hostname, r.DomainUse), Purpose: models.PurposeSPF, Required: true},
		{Type: "TXT", Name: r.DKIMSelector + "._domainkey." + r.Name, Value: "v=DKIM1; k=rsa; p=" + r.DKIMRSAPublic,
			Purpose: models.PurposeDKIM, Required: true},
		{Type: "TXT", Name: r.DKIMEd25519Selector + "._domainkey." + r.Name, Value: "v=DKIM1; k=ed25519; p=" + r.DKIMEd25519Public,
			Purpose: models.PurposeDKIM},
		{Type: "TXT", Name: "_dmarc." + r.Name, Value: "v=DMARC1; p=" + r.DMARCPolicy, Purpose: models.PurposeDMARC, Required: true},
	}
	for i := range recs {
		recs[i].Status = models.RecordPending
		recs[i].Found = []string{}
		recs[i].Detail = "not checked yet"
	}
	return recs
}

// splitTXT cuts a TXT value into character-strings of at most 255 bytes,
// the most one DNS string may hold; readers join them.
func splitTXT(v string) []string {
	var out []string
	for len(v) > 255 {
		out = append(out, v[:255])
		v = v[255:]
	}
	return append(out, v)
}

// rr builds the DNS record for one published record.
func rr(rec models.DNSRecord) dns.RR {
	hdr := dns.RR_Header{Name: dns.Fqdn(rec.Name), Class: dns.ClassINET, Ttl: ZoneTTL}
	if rec.Type == "MX" {
		hdr.Rrtype = dns.TypeMX
		return &dns.MX{Hdr: hdr, Preference: uint16(rec.Priority), Mx: dns.Fqdn(rec.Value)}
	}
	hdr.Rrtype = dns.TypeTXT
	return &dns.TXT{Hdr: hdr, Txt: splitTXT(rec.Value)}
}

// Zone renders the domain's records as a BIND zone file snippet with fully
// qualified names, long TXT values split into 255-byte strings.
func Zone(d *models.Domain) string {
	var b strings.Builder
	fmt.Fprintf(&b, "; Gent DNS records for %s (%s)\n", d.Name, d.ID)
	fmt.Fprintf(&b, "; Add them to the zone that holds %s. Status: %s.\n", d.Name, d.Status)
	for _, rec := range d.Records {
		need := "required"
		switch {
		case rec.Purpose == models.PurposeMX:
			need = "required to receive mail"
		case !rec.Required:
			need = "optional"
		}
		fmt.Fprintf(&b, "\n; %s (%s): %s\n", rec.Purpose, need, rec.Status)
		b.WriteString(rr(rec).String())
		b.WriteByte('\n')
	}
	return b.String()
}
