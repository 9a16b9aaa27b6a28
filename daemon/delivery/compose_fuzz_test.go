package delivery_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"net/mail"
	"net/textproto"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"gent/daemon/delivery"
	gentmail "gent/daemon/mail"
	"gent/models"
)

// words collapses white space: Go's net/textproto joins folded lines with
// one space, so runs of white space are not kept through a fold.
func words(s string) string { return strings.Join(strings.Fields(s), " ") }

// FuzzComposeWire composes messages with random subjects, display names,
// file names and bodies; whatever the composer accepts must read back with
// the standard library (structure, header lines, the values themselves)
// and carry a DKIM signature that verifies.
func FuzzComposeWire(f *testing.F) {
	f.Add("Status", "Ops Agent", "Ann", "report.pdf", "hello", "<p>hello</p>", false)
	f.Add(strings.Repeat("Grüße aus Köln — ", 12), "Größen-Agent ✉", strings.Repeat("Jürgen Müller ", 8), "invoice ü.pdf", "Grüße\n", "", false)
	f.Add(strings.Repeat("x", 120), strings.Repeat("y", 90), "\"quoted\" name", strings.Repeat("Übersicht ", 20)+".txt", "a\r\nb\rc", "<img src=cid:c1>", true)
	f.Add("=?utf-8?q?not_encoded?=", "a,b;c", "<ann>", "a\"b\\c.txt", " ", "<b>x</b>", true)
	f.Add("日本語の件名とても長い件名です日本語の件名とても長い件名です日本語の件名", "山田太郎", "", "日本語の請求書.pdf", "本文", "<p>本文</p>", false)
	f.Add("tab\tsubject", "", "", strings.Repeat("a", 200)+".bin", "\xff\xfe invalid", "", false)
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	record := "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey))
	verify := &dkim.VerifyOptions{LookupTXT: func(string) ([]string, error) { return []string{record}, nil }}
	f.Fuzz(func(t *testing.T, subject, fromName, toName, filename, text, html string, inline bool) {
		d := gentmail.Draft{FromName: fromName, FromAddress: "agent@mail.example.com", To: []string{(&mail.Address{Name: toName, Address: "ann@example.net"}).String()},
			Subject: subject, Text: text, HTML: html, MaxRcpts: 5}
		att := models.SendAttachment{Filename: filename, ContentBase64: base64.StdEncoding.EncodeToString([]byte("data"))}
		if inline {
			att.ContentID = "c1"
		}
		d.Attachments = []models.SendAttachment{att}
		c, err := gentmail.Compose(d)
		if err != nil {
			return // refused input is the validator's business
		}
		raw, err := delivery.SignWith(c.Raw, "mail.example.com", "sel", key)
		if err != nil {
			t.Fatal(err)
		}
		verifs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), verify)
		if err != nil || len(verifs) != 1 || verifs[0].Err != nil {
			t.Fatalf("DKIM: %v %+v\n%s", err, verifs, raw)
		}
		// Header lines: at most 78 characters, unless one word alone
		// cannot be folded.
		for _, line := range strings.Split(string(c.Raw), "\r\n") {
			if line == "" {
				break
			}
			rest := line
			if line[0] != ' ' {
				_, rest, _ = strings.Cut(line, ":")
			}
			if len(line) > 78 && len(strings.Fields(rest)) > 1 || len(line) > 998 {
				t.Fatalf("header line of %d characters: %q", len(line), line)
			}
		}
		var parts []wirePart
		m, err := mail.ReadMessage(bytes.NewReader(c.Raw))
		if err != nil {
			t.Fatalf("net/mail: %v", err)
		}
		wireWalk(t, textproto.MIMEHeader(m.Header), m.Body, 0, &parts)
		if !strings.Contains(subject, "=?") {
			if got := decodeHeader(t, m.Header.Get("Subject")); words(got) != words(subject) {
				t.Fatalf("subject %q, sent %q", got, subject)
			}
		}
		if from, err := m.Header.AddressList("From"); err != nil || len(from) != 1 || words(from[0].Name) != words(fromName) && !strings.Contains(fromName, "=?") {
			t.Fatalf("from %v %v, sent %q", from, err, fromName)
		}
		var gotText, gotHTML, gotName string
		for _, p := range parts {
			switch {
			case p.disp != "":
				gotName = p.filename
				if wantDisp := map[bool]string{true: "inline", false: "attachment"}[inline]; p.disp != wantDisp {
					t.Fatalf("disposition %q, want %q", p.disp, wantDisp)
				}
			case p.ctype == "text/plain":
				gotText = string(p.body)
			case p.ctype == "text/html":
				gotHTML = string(p.body)
			}
		}
		// Line ends are CRLF on the wire: a bare CR or LF becomes one.
		nl := strings.NewReplacer("\r\n", "\n", "\r", "\n")
		if nl.Replace(gotText) != nl.Replace(text) || nl.Replace(gotHTML) != nl.Replace(html) {
			t.Fatalf("bodies %q %q, sent %q %q", gotText, gotHTML, text, html)
		}
		if words(gotName) != words(filename) {
			t.Fatalf("filename %q, sent %q", gotName, filename)
		}
	})
}
