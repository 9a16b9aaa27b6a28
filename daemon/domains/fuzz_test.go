package domains

import (
	"strings"
	"testing"

	"gent/models"
)

func FuzzNormalizeName(f *testing.F) {
	for _, s := range []string{"mail.example.com", "Bücher.Example.", "com", "1.2.3.4", "[::1]", "a..b", "xn--zz.com", "ＥＸＡＭＰＬＥ．ｃｏｍ", "a_b.c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		n, err := NormalizeName(raw)
		if err != nil {
			if models.ErrorCode(err) != models.CodeValidation {
				t.Fatalf("%q: error %v is not a validation error", raw, err)
			}
			return
		}
		if len(n) > 253 || n != strings.ToLower(n) || strings.HasSuffix(n, ".") || !strings.Contains(n, ".") {
			t.Fatalf("%q normalised to %q", raw, n)
		}
		again, err := NormalizeName(n)
		if err != nil || again != n {
			t.Fatalf("%q -> %q -> %q, %v: not idempotent", raw, n, again, err)
		}
	})
}

// FuzzJudge feeds arbitrary published records to the SPF, DKIM and DMARC
// judges: they must not panic, and must always decide.
func FuzzJudge(f *testing.F) {
	for _, s := range []string{"v=spf1 a:mx.gent.test -all", "v=spf1 +", "v=spf1 -", "v=DMARC1; p=reject; pct=", "v=DKIM1; p=", ";;==;", "v=spf1 a:/24 mx:/0 redirect="} {
		f.Add(s)
	}
	s := &Service{hostname: "mx.gent.test"}
	f.Fuzz(func(t *testing.T, v string) {
		_, detail, _ := s.spfAuthorises("v=spf1 "+v, "example.com", lookup{})
		_, detail2, _ := s.spfAuthorises(v, "example.com", lookup{})
		_ = detail + detail2
		for _, chosen := range []string{models.DMARCNone, models.DMARCQuarantine, models.DMARCReject} {
			rec := models.DNSRecord{Name: "_dmarc.example.com", Value: "v=DMARC1; p=" + chosen}
			judgeDMARC(&rec, lookup{values: []string{v}}, chosen)
			if rec.Status != models.RecordValid && rec.Status != models.RecordInvalid {
				t.Fatalf("DMARC %q: status %q", v, rec.Status)
			}
		}
		rec := models.DNSRecord{Name: "s._domainkey.example.com", Value: "v=DKIM1; k=rsa; p=AAAA"}
		judgeDKIM(&rec, lookup{values: []string{v}})
		if rec.Status != models.RecordValid && rec.Status != models.RecordInvalid {
			t.Fatalf("DKIM %q: status %q", v, rec.Status)
		}
	})
}
