package policy_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"gent/daemon/auth"
	"gent/daemon/mail"
	"gent/daemon/policy"
	"gent/models"
)

// TestSecretKinds: every kind of secret docs/policy.md lists is found in
// the subject, text, HTML or a text attachment and named by its kind;
// look-alikes are not.
func TestSecretKinds(t *testing.T) {
	tok := auth.NewTokenValue()
	bad := tok[:len(tok)-1] + map[bool]string{true: "B", false: "A"}[strings.HasSuffix(tok, "A")] // checksum broken
	for _, c := range []struct {
		name string
		d    mail.Draft
		want string // kinds, comma-separated
	}{
		{"agent token", mail.Draft{Text: "token " + tok}, "a Gent agent token"},
		{"agent token with a bad checksum", mail.Draft{Text: "token " + bad}, ""},
		{"PEM key in html", mail.Draft{HTML: "<pre>-----BEGIN EC PRIVATE KEY-----\nMHcC…</pre>"}, "a PEM private key"},
		{"AWS key in subject", mail.Draft{Subject: "ASIAY34FZKBOKMUTVV7A"}, "an AWS access key id"},
		{"Google API key", mail.Draft{Text: "key=AIzaSyA1234567890abcdefghijklmnopqrstuv"}, "a Google API key"},
		{"Azure storage key", mail.Draft{Text: "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=" + strings.Repeat("Ab1+", 22) + "=="}, "an Azure storage account key"},
		{"JWT in a JSON attachment", mail.Draft{Attachments: []models.SendAttachment{{Filename: "a.json", ContentType: "application/json",
			ContentBase64: base64.StdEncoding.EncodeToString([]byte(`{"t":"` + jwt + `"}`))}}}, "a JWT"},
		{"webhook secret", mail.Draft{Text: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw9rXDZ6mfBAE="}, "a webhook signing secret"},
		{"session value", mail.Draft{Text: "Authorization: Bearer gses_4mQ8zR2kT6vX0bN3cF5hJ7lW9yA1d3Fq"}, "a Gent session value"},
		{"binary attachment not scanned", mail.Draft{Attachments: []models.SendAttachment{{Filename: "a.png", ContentType: "image/png",
			ContentBase64: base64.StdEncoding.EncodeToString([]byte("AKIAIOSFODNN7EXAMPLE"))}}}, ""},
		{"prose", mail.Draft{Subject: "AKIA is a prefix", Text: "eyJ alone, whsec_ alone, a private key is a secret"}, ""},
		{"two kinds", mail.Draft{Text: "AKIAIOSFODNN7EXAMPLE and " + jwt}, "an AWS access key id,a JWT"},
	} {
		if got := strings.Join(policy.Secrets(c.d), ","); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
