package mail

import (
	"strings"
	"testing"
)

func TestParseMailbox(t *testing.T) {
	for raw, want := range map[string]string{
		"ann@example.net":                           "ann@example.net",
		"Ann <Ann@Example.NET>":                     "ann@example.net",
		`"john.smith"@example.net`:                  "john.smith@example.net",
		"first.last+tag@sub.example.net":            "first.last+tag@sub.example.net",
		"!#$%&'*+-/=?^_`{|}~@example.net":           "!#$%&'*+-/=?^_`{|}~@example.net",
		strings.Repeat("l", 64) + "@x.example":      strings.Repeat("l", 64) + "@x.example",
		"a@" + strings.Repeat("d", 63) + ".example": "a@" + strings.Repeat("d", 63) + ".example",
		"a@xn--exmple-cua.net":                      "a@xn--exmple-cua.net",
		"a@localhost":                               "a@localhost",
	} {
		a, err := ParseMailbox("to[0]", raw)
		if err != nil || a.Address != want {
			t.Errorf("%q: got %v %v, want %q", raw, a, err, want)
		}
	}
	for _, raw := range []string{
		`"victim@other.test> ORCPT=rfc822;x"@ext.test`,
		`"victim@other.test> NOTIFY=NEVER"@ext.test`,
		`"john doe"@example.net`,
		`"a\"b"@example.net`,
		`"a\\b"@example.net`,
		`"<a>"@example.net`,
		`""@example.net`,
		"a\x00b@example.net",
		"a\rb@example.net",
		"a\tb@example.net",
		strings.Repeat("l", 65) + "@example.net",
		"a@" + strings.Repeat("d", 64) + ".example",
		"a@" + strings.Repeat("d.", 128) + "net",
		"a@-x.example", "a@x-.example", "a@x_y.example", "a@x..example", "a@.example",
		"a@[127.0.0.1]", "a@[IPv6:::1]",
		"josé@example.net", "a@exämple.net",
		".a@example.net", "a.@example.net", "a..b@example.net",
		"a@", "@example.net", "example.net",
	} {
		if a, err := ParseMailbox("to[0]", raw); err == nil {
			t.Errorf("%q: accepted as %q", raw, a.Address)
		} else if !strings.Contains(err.Error(), "(to[0])") {
			t.Errorf("%q: error %v does not name the field", raw, err)
		}
	}
}
