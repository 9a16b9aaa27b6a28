package domains

import (
	"net"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"gent/models"
)

// idnaProfile converts names the way lookups do (UTS #46 mapping: case
// folding, full-width dots...), enforcing STD3 host name rules and the
// bidi rule.
var idnaProfile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.Transitional(false),
)

// NormalizeName validates a domain name and returns its canonical form:
// lower case, A-labels (IDNA), no trailing dot. It refuses IP literals,
// bare top-level domains and names beyond RFC 1035 lengths (63 per label,
// 253 in all). Errors are validation errors on field "domain".
func NormalizeName(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", models.Invalid("domain", "domain is required")
	}
	s = strings.TrimSuffix(s, ".")
	if strings.HasPrefix(s, "[") || net.ParseIP(s) != nil {
		return "", models.Invalid("domain", "%q is an IP address; give a domain name such as mail.example.com", raw)
	}
	if strings.ContainsAny(s, " \t\r\n@/\\:*") {
		return "", models.Invalid("domain", "%q is not a domain name: it may hold only letters, digits, hyphens and dots", raw)
	}
	if !utf8.ValidString(s) {
		return "", models.Invalid("domain", "domain is not valid UTF-8")
	}
	a, err := idnaProfile.ToASCII(s)
	if err != nil {
		return "", models.Invalid("domain", "%q is not a valid domain name (%s)", raw, strings.TrimPrefix(err.Error(), "idna: "))
	}
	a = strings.ToLower(a)
	if again, err := idnaProfile.ToASCII(a); err != nil || again != a {
		// An A-label that does not decode to a valid name.
		return "", models.Invalid("domain", "%q is not a valid internationalised domain name", raw)
	}
	if len(a) > 253 {
		return "", models.Invalid("domain", "domain is %d characters long; DNS allows at most 253", len(a))
	}
	labels := strings.Split(a, ".")
	if len(labels) < 2 {
		return "", models.Invalid("domain", "%q is a bare top-level domain; give a full domain such as mail.example.com", raw)
	}
	for _, l := range labels {
		switch {
		case l == "":
			return "", models.Invalid("domain", "%q has an empty label (two dots in a row, or a leading dot)", raw)
		case len(l) > 63:
			return "", models.Invalid("domain", "label %q is %d characters long; DNS allows at most 63", l, len(l))
		case l[0] == '-' || l[len(l)-1] == '-':
			return "", models.Invalid("domain", "label %q must not start or end with a hyphen", l)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", models.Invalid("domain", "label %q may hold only letters, digits and hyphens", l)
			}
		}
	}
	if tld := labels[len(labels)-1]; strings.Trim(tld, "0123456789") == "" {
		return "", models.Invalid("domain", "%q looks like an IP address: the top-level label must not be all digits", raw)
	}
	return a, nil
}
