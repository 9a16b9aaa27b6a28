package mail

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"gent/models"
)

func TestComposeLimits(t *testing.T) {
	base := func() Draft {
		return Draft{FromAddress: "agent@mail.example.com", To: []string{"ann@example.net"}, Subject: "s", Text: "t", HTML: "<p>t</p>"}
	}
	atts := func(n int) []models.SendAttachment {
		out := make([]models.SendAttachment, n)
		for i := range out {
			out[i] = models.SendAttachment{Filename: fmt.Sprintf("a%d.txt", i), ContentBase64: "eA=="}
		}
		return out
	}
	// At the limits: built and stored (parsed) without error.
	d := base()
	d.Attachments = atts(MaxAttachments)
	d.Headers = map[string]string{}
	for i := 0; i < MaxCustomHeaders; i++ {
		d.Headers[fmt.Sprintf("X-%d", i)] = strings.Repeat("v", MaxHeaderValueOctets)
	}
	c, err := Compose(d)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseComposed(c.Raw, d.Limits); err != nil {
		t.Fatal(err)
	}
	// smtp.max_mime_parts below the default leaves room for fewer.
	d = base()
	d.Limits = Limits{MaxParts: 10}
	d.Attachments = atts(7)
	if _, err := Compose(d); err == nil || !strings.Contains(err.Error(), "at most 6 attachments") {
		t.Fatalf("10 parts, 7 attachments: %v", err)
	}
	// A multipart attachment nested deeper than smtp.max_mime_depth is
	// caught when the built message is parsed: a 422, not an internal
	// error.
	var body, end string
	for i := 0; i < 25; i++ {
		body += fmt.Sprintf("--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n", i, i+1)
		end = fmt.Sprintf("\r\n--b%d--\r\n", i) + end
	}
	d = base()
	d.Attachments = []models.SendAttachment{{Filename: "nest.bin", ContentType: "multipart/mixed; boundary=b0",
		ContentBase64: base64.StdEncoding.EncodeToString([]byte(body + "--b25\r\n\r\nx\r\n--b25--\r\n" + end))}}
	c, err = Compose(d)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseComposed(c.Raw, Limits{}); models.ErrorCode(err) != models.CodeValidation || !strings.Contains(err.Error(), "(attachments)") {
		t.Fatalf("nested attachment: %v", err)
	}
	for name, c := range map[string]struct {
		d     func(*Draft)
		field string
	}{
		"attachments": {func(d *Draft) { d.Attachments = atts(MaxAttachments + 1) }, "attachments"},
		"headers": {func(d *Draft) {
			d.Headers = map[string]string{}
			for i := 0; i <= MaxCustomHeaders; i++ {
				d.Headers[fmt.Sprint("X-", i)] = "v"
			}
		}, "headers"},
		"long value": {func(d *Draft) { d.Headers = map[string]string{"X-Long": strings.Repeat("v", MaxHeaderValueOctets+1)} }, "headers.X-Long"},
		"long name":  {func(d *Draft) { d.Headers = map[string]string{"X-" + strings.Repeat("n", MaxHeaderNameOctets): "v"} }, "headers"},
		"small limit": {func(d *Draft) {
			d.Limits = Limits{MaxHeaderBytes: 1024}
			d.Headers = map[string]string{"X-A": strings.Repeat("v", 900), "X-B": strings.Repeat("v", 200)}
		}, "headers"},
	} {
		d := base()
		c.d(&d)
		_, err := Compose(d)
		var me *models.Error
		if e, ok := err.(*models.Error); ok {
			me = e
		}
		if me == nil || me.Code != models.CodeValidation || me.Field != c.field {
			t.Errorf("%s: want validation_failed on %s, got %v", name, c.field, err)
		}
	}
}
