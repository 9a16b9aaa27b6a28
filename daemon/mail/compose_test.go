package mail

import (
	"bytes"
	"encoding/base64"
	"io"
	"strings"
	"testing"

	gomail "github.com/emersion/go-message/mail"

	"gent/models"
)

func draft() Draft {
	return Draft{FromName: "Ops Agent", FromAddress: "agent@mail.example.com", To: []string{"Ann <ann@example.net>"},
		Subject: "Grüße — status", Text: "hello", HTML: "<p>hello</p>", MaxRcpts: 5, MaxBytes: 1 << 20}
}

func TestComposeRoundTrip(t *testing.T) {
	d := draft()
	d.Cc = []string{"bob@example.net"}
	d.Bcc = []string{"hidden@example.net", "ANN@example.net"}
	d.ReplyTo = []string{"replies@mail.example.com"}
	d.InReplyTo = "<orig@example.net>"
	d.References = []string{"<root@example.net>", "<orig@example.net>"}
	d.Headers = map[string]string{"X-Ticket": "T-42", "List-Unsubscribe": "<mailto:u@mail.example.com>"}
	d.Attachments = []models.SendAttachment{{Filename: "report.pdf", ContentType: "application/pdf",
		ContentBase64: base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 fake"))}}
	c, err := Compose(d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(c.MessageID, "@mail.example.com>") {
		t.Fatalf("message id not on the sending domain: %s", c.MessageID)
	}
	want := []Envelope{{"ann@example.net", "to"}, {"bob@example.net", "cc"}, {"hidden@example.net", "bcc"}}
	if len(c.Recipients) != len(want) {
		t.Fatalf("recipients %+v", c.Recipients)
	}
	for i := range want {
		if c.Recipients[i] != want[i] {
			t.Fatalf("recipients %+v", c.Recipients)
		}
	}
	if bytes.Contains(c.Raw, []byte("hidden@example.net")) {
		t.Fatal("Bcc leaked into the message")
	}
	r, err := gomail.CreateReader(bytes.NewReader(c.Raw))
	if err != nil {
		t.Fatal(err)
	}
	subj, _ := r.Header.Subject()
	if subj != "Grüße — status" {
		t.Fatalf("subject %q", subj)
	}
	if !bytes.Contains(c.Raw, []byte("=?utf-8?")) {
		t.Fatal("non-ASCII subject not RFC 2047 encoded")
	}
	if v := r.Header.Get("X-Ticket"); v != "T-42" {
		t.Fatalf("custom header %q", v)
	}
	if irt, _ := r.Header.MsgIDList("In-Reply-To"); len(irt) != 1 || irt[0] != "orig@example.net" {
		t.Fatalf("in-reply-to %v", irt)
	}
	if refs, _ := r.Header.MsgIDList("References"); len(refs) != 2 {
		t.Fatalf("references %v", refs)
	}
	if _, err := r.Header.Date(); err != nil {
		t.Fatal(err)
	}
	var text, html, att string
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p.Body)
		switch h := p.Header.(type) {
		case *gomail.InlineHeader:
			ct, _, _ := h.ContentType()
			if ct == "text/plain" {
				text = string(b)
			} else {
				html = string(b)
			}
		case *gomail.AttachmentHeader:
			name, _ := h.Filename()
			att = name + ":" + string(b)
		}
	}
	if text != "hello" || html != "<p>hello</p>" || att != "report.pdf:%PDF-1.4 fake" {
		t.Fatalf("parts: %q %q %q", text, html, att)
	}
}

func TestComposeTextOnly(t *testing.T) {
	d := draft()
	d.HTML = ""
	c, err := Compose(d)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(c.Raw, []byte("Content-Type: text/plain")) || bytes.Contains(c.Raw, []byte("multipart")) {
		t.Fatalf("want a single text/plain part:\n%s", c.Raw)
	}
}

func TestComposeRefusesBadInput(t *testing.T) {
	cases := []struct {
		name  string
		mut   func(*Draft)
		field string
		code  string
	}{
		{"no recipients", func(d *Draft) { d.To = nil }, "to", models.CodeValidation},
		{"bad address", func(d *Draft) { d.To = []string{"not an address"} }, "to[0]", models.CodeValidation},
		{"injected address", func(d *Draft) { d.Cc = []string{"a@example.net\r\nBcc: evil@example.org"} }, "cc[0]", models.CodeValidation},
		{"subject injection", func(d *Draft) { d.Subject = "hi\r\nBcc: evil@example.org" }, "subject", models.CodeValidation},
		{"subject LF", func(d *Draft) { d.Subject = "hi\nX-Evil: 1" }, "subject", models.CodeValidation},
		{"header value injection", func(d *Draft) { d.Headers = map[string]string{"X-A": "1\r\nBcc: evil@example.org"} }, "headers.X-A", models.CodeValidation},
		{"header name injection", func(d *Draft) { d.Headers = map[string]string{"X-A: 1\r\nBcc": "x"} }, "headers.X-A: 1\r\nBcc", models.CodeValidation},
		{"reserved header", func(d *Draft) { d.Headers = map[string]string{"Bcc": "evil@example.org"} }, "headers.Bcc", models.CodeValidation},
		{"reserved from", func(d *Draft) { d.Headers = map[string]string{"from": "ceo@example.com"} }, "headers.from", models.CodeValidation},
		{"no body", func(d *Draft) { d.Text, d.HTML = "", "" }, "text", models.CodeValidation},
		{"too many", func(d *Draft) {
			d.To = []string{"a@x.test", "b@x.test", "c@x.test", "d@x.test", "e@x.test", "f@x.test"}
		}, "to", models.CodeValidation},
		{"bad base64", func(d *Draft) {
			d.Attachments = []models.SendAttachment{{Filename: "a.txt", ContentBase64: "!!!"}}
		}, "attachments[0].content_base64", models.CodeValidation},
		{"bad content type", func(d *Draft) {
			d.Attachments = []models.SendAttachment{{Filename: "a.txt", ContentType: "text/plain\r\nX: y", ContentBase64: "aGk="}}
		}, "attachments[0].content_type", models.CodeValidation},
		{"filename injection", func(d *Draft) {
			d.Attachments = []models.SendAttachment{{Filename: "a.txt\r\nX: y", ContentBase64: "aGk="}}
		}, "attachments[0].filename", models.CodeValidation},
		{"too large", func(d *Draft) { d.MaxBytes = 100 }, "", models.CodeTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := draft()
			tc.mut(&d)
			_, err := Compose(d)
			var me *models.Error
			if err == nil || !errorsAs(err, &me) || me.Code != tc.code || me.Field != tc.field {
				t.Fatalf("want %s on %q, got %v", tc.code, tc.field, err)
			}
		})
	}
}

func FuzzCompose(f *testing.F) {
	f.Add("a@example.net", "subject", "body", "X-A", "v")
	f.Fuzz(func(t *testing.T, to, subject, text, hname, hval string) {
		d := draft()
		d.To, d.Subject, d.Text = []string{to}, subject, text
		d.Headers = map[string]string{hname: hval}
		c, err := Compose(d)
		if err != nil {
			return
		}
		// Whatever was accepted must parse back with exactly the fields we set.
		r, err := gomail.CreateReader(bytes.NewReader(c.Raw))
		if err != nil {
			t.Fatalf("composed message does not parse: %v", err)
		}
		if r.Header.Get("Bcc") != "" {
			t.Fatal("a Bcc header appeared")
		}
	})
}
