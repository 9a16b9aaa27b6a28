package delivery_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"gent/models"
)

// wirePart is one MIME entity as Go's standard library reads it (net/mail,
// mime, mime/multipart: a parser independent of go-message).
type wirePart struct {
	depth    int
	ctype    string // media type
	params   map[string]string
	cte      string
	disp     string
	filename string
	cid      string
	body     []byte // decoded
}

func (p wirePart) String() string {
	s := strings.Repeat("  ", p.depth) + p.ctype
	if cs := p.params["charset"]; cs != "" {
		s += "; charset=" + cs
	}
	if p.cte != "" {
		s += " [" + p.cte + "]"
	}
	if p.disp != "" {
		s += " " + p.disp
	}
	if p.filename != "" {
		s += fmt.Sprintf(" %q", p.filename)
	}
	if p.cid != "" {
		s += " <" + p.cid + ">"
	}
	return s
}

// wireParse reads a message with the standard library, asserting that
// every header line (at every level) is at most 78 characters, and returns
// its entities in order and its header.
func wireParse(t *testing.T, raw []byte) ([]wirePart, mail.Header) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("net/mail: %v\n%s", err, raw)
	}
	var parts []wirePart
	headerLines(t, raw)
	wireWalk(t, textproto.MIMEHeader(m.Header), m.Body, 0, &parts)
	return parts, m.Header
}

// headerLines asserts the line lengths of the header section at the start
// of raw.
func headerLines(t *testing.T, raw []byte) {
	t.Helper()
	field := ""
	for _, line := range strings.Split(string(raw), "\r\n") {
		if line == "" {
			return
		}
		if line[0] != ' ' && line[0] != '\t' {
			field, _, _ = strings.Cut(line, ":")
		}
		// go-msgauth formats DKIM-Signature itself (its h= tag on one line,
		// and the signature covers its own header, so it cannot be
		// refolded): only the RFC 5322 limit applies there.
		if len(line) > 78 && field != "DKIM-Signature" || len(line) > 998 {
			t.Errorf("header line of %d characters: %q", len(line), line)
		}
	}
}

func wireWalk(t *testing.T, h textproto.MIMEHeader, body io.Reader, depth int, out *[]wirePart) {
	t.Helper()
	p := wirePart{depth: depth, ctype: "text/plain", cte: strings.ToLower(h.Get("Content-Transfer-Encoding")),
		cid: strings.Trim(h.Get("Content-Id"), "<>")}
	if ct := h.Get("Content-Type"); ct != "" {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil {
			t.Fatalf("Content-Type %q: %v", ct, err)
		}
		p.ctype, p.params = mt, params
	}
	if cd := h.Get("Content-Disposition"); cd != "" {
		disp, params, err := mime.ParseMediaType(cd)
		if err != nil {
			t.Fatalf("Content-Disposition %q: %v", cd, err)
		}
		p.disp, p.filename = disp, params["filename"]
	}
	*out = append(*out, p)
	i := len(*out) - 1
	if strings.HasPrefix(p.ctype, "multipart/") {
		if p.cte != "" {
			t.Errorf("multipart with Content-Transfer-Encoding %s", p.cte)
		}
		mr := multipart.NewReader(body, p.params["boundary"])
		for {
			part, err := mr.NextRawPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("multipart: %v", err)
			}
			wireWalk(t, part.Header, part, depth+1, out)
		}
		return
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 998 {
			t.Errorf("body line of %d characters", len(line))
		}
	}
	switch p.cte {
	case "quoted-printable":
		raw, err = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
	case "base64":
		raw, err = base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(raw)))
	case "", "7bit", "8bit", "binary":
	default:
		t.Fatalf("transfer encoding %q", p.cte)
	}
	if err != nil {
		t.Fatalf("decode %s: %v", p.cte, err)
	}
	(*out)[i].body = raw
	if p.ctype == "message/rfc822" {
		if p.cte != "7bit" && p.cte != "8bit" && p.cte != "binary" {
			t.Errorf("message/rfc822 as %q (RFC 2046 5.2.1: 7bit, 8bit or binary only)", p.cte)
		}
		inner, err := mail.ReadMessage(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil || inner.Header.Get("Message-Id") == "" {
			t.Errorf("forwarded message does not parse: %v", err)
		}
	}
}

// decodeHeader decodes a header value with the standard library.
func decodeHeader(t *testing.T, v string) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(v)
	if err != nil {
		t.Fatalf("decode %q: %v", v, err)
	}
	return s
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestWireStructure sends one message of each shape through the API and
// the delivery service to the sink, and reads what arrived with the
// standard library: structure, dispositions, filenames, transfer
// encodings, header line lengths, and the DKIM signatures against the
// published keys.
func TestWireStructure(t *testing.T) {
	h := newHarness(t)
	longName := strings.Repeat("Jürgen Müller-Lüdenscheidt ", 4)
	h.env.MustStatus(200, "PATCH", "/v1/inboxes/"+h.inbox.ID, h.org.Owner, map[string]string{"display_name": "Größen-Agent ✉"})
	multi := h.env.Deliver(h.inbox, "From: =?utf-8?q?Ren=C3=A9e?= <renee@example.net>\r\nTo: agent@mail.example.com\r\n"+
		"Cc: Bob <bob@example.net>, agent@mail.example.com\r\nSubject: Order 7\r\nMessage-ID: <order7@example.net>\r\n"+
		"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b1\r\n\r\n"+
		"--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nWo ist meine Bestellung? Grüße\r\n"+
		"--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Wo ist meine Bestellung?</p>\r\n--b1--\r\n")
	withAtt := h.env.Deliver(h.inbox, "From: Ann <ann@example.net>\r\nTo: agent@mail.example.com\r\nSubject: Invoice\r\n"+
		"Message-ID: <inv@example.net>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n"+
		"--m\r\nContent-Type: text/plain\r\n\r\nInvoice attached.\r\n"+
		"--m\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"inv.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"+
		b64("%PDF-1.4 invoice")+"\r\n--m--\r\n")
	png := "\x89PNG\r\n\x1a\nfake image"
	base := "/v1/inboxes/" + h.inbox.ID + "/messages/"
	send := func(body models.SendRequest) string {
		return h.send(body).ID
	}
	answer := func(id, mode string, body models.ReplyRequest) string {
		var r models.SendResponse
		h.env.MustStatus(202, "POST", base+id+"/"+mode, h.agent.Secret, body).JSON(t, &r)
		return r.ID
	}
	cases := []struct {
		name      string
		send      func() string
		structure string
		check     func(t *testing.T, parts []wirePart, hdr mail.Header)
	}{
		{"plain", func() string {
			return send(models.SendRequest{To: models.AddressList{"ann@example.net"}, Subject: "Plain", Text: "Just text.\nTwo lines."})
		}, "text/plain; charset=utf-8 [quoted-printable]", func(t *testing.T, parts []wirePart, _ mail.Header) {
			if string(parts[0].body) != "Just text.\r\nTwo lines.\r\n" { // SMTP ends DATA with CRLF
				t.Errorf("text %q", parts[0].body)
			}
		}},
		{"utf-8 subject and names", func() string {
			return send(models.SendRequest{To: models.AddressList{`"` + longName + `" <ann@example.net>`, "Zoë <zoe@example.net>"},
				Subject: strings.Repeat("Grüße aus Köln — ", 10) + "✓", Text: "Hallo, schöne Grüße."})
		}, "text/plain; charset=utf-8 [quoted-printable]", func(t *testing.T, parts []wirePart, hdr mail.Header) {
			if s := decodeHeader(t, hdr.Get("Subject")); s != strings.Repeat("Grüße aus Köln — ", 10)+"✓" {
				t.Errorf("subject %q", s)
			}
			to, err := hdr.AddressList("To")
			if err != nil || len(to) != 2 || to[0].Name != longName || to[1].Name != "Zoë" {
				t.Errorf("to %v %v", to, err)
			}
			from, err := hdr.AddressList("From")
			if err != nil || from[0].Name != "Größen-Agent ✉" || from[0].Address != "agent@mail.example.com" {
				t.Errorf("from %v %v", from, err)
			}
			if string(parts[0].body) != "Hallo, schöne Grüße.\r\n" {
				t.Errorf("text %q", parts[0].body)
			}
		}},
		{"text and html", func() string { return send(simple("ann@example.net")) },
			"multipart/alternative\n  text/plain; charset=utf-8 [quoted-printable]\n  text/html; charset=utf-8 [quoted-printable]", nil},
		{"html only", func() string {
			return send(models.SendRequest{To: models.AddressList{"ann@example.net"}, Subject: "HTML", HTML: "<p>Only HTML</p>"})
		}, "text/html; charset=utf-8 [quoted-printable]", nil},
		{"inline image", func() string {
			return send(models.SendRequest{To: models.AddressList{"ann@example.net"}, Subject: "Chart", Text: "See the chart.",
				HTML: `<p>See <img src="cid:chart1"></p>`, Attachments: []models.SendAttachment{
					{Filename: "chart.png", ContentID: "chart1", ContentBase64: b64(png)}}})
		}, "multipart/alternative\n  text/plain; charset=utf-8 [quoted-printable]\n  multipart/related\n" +
			"    text/html; charset=utf-8 [quoted-printable]\n    image/png [base64] inline \"chart.png\" <chart1>",
			func(t *testing.T, parts []wirePart, _ mail.Header) {
				if parts[2].params["type"] != "text/html" || string(parts[4].body) != png {
					t.Errorf("related %v, image %q", parts[2].params, parts[4].body)
				}
			}},
		{"inline image and attachment, html only", func() string {
			return send(models.SendRequest{To: models.AddressList{"ann@example.net"}, Subject: "Chart", HTML: `<img src="cid:c@x">`,
				Attachments: []models.SendAttachment{{Filename: "c.png", ContentType: "image/png", ContentID: "<c@x>", ContentBase64: b64(png)},
					{Filename: "data.csv", ContentType: "text/csv; charset=utf-8", ContentBase64: b64("a,b\n1,2\n")}}})
		}, "multipart/mixed\n  multipart/related\n    text/html; charset=utf-8 [quoted-printable]\n" +
			"    image/png [base64] inline \"c.png\" <c@x>\n  text/csv; charset=utf-8 [base64] attachment \"data.csv\"", nil},
		{"attachments with ASCII and non-ASCII names", func() string {
			return send(models.SendRequest{To: models.AddressList{"ann@example.net"}, Subject: "Files", Text: "Three files.", HTML: "<p>Three files.</p>",
				Attachments: []models.SendAttachment{
					{Filename: "report 2025.pdf", ContentType: "application/pdf", ContentBase64: b64("%PDF-1.4 a")},
					{Filename: "invoice ü.pdf", ContentBase64: b64("%PDF-1.4 b")},
					{Filename: strings.Repeat("Übersicht der Quartalszahlen ", 4) + "日本語.txt", ContentBase64: b64("c")}}})
		}, "multipart/mixed\n  multipart/alternative\n    text/plain; charset=utf-8 [quoted-printable]\n" +
			"    text/html; charset=utf-8 [quoted-printable]\n  application/pdf [base64] attachment \"report 2025.pdf\"\n" +
			"  application/pdf [base64] attachment \"invoice ü.pdf\"\n" +
			"  text/plain; charset=utf-8 [base64] attachment \"" + strings.Repeat("Übersicht der Quartalszahlen ", 4) + "日本語.txt\"",
			func(t *testing.T, parts []wirePart, _ mail.Header) {
				if string(parts[5].body) != "%PDF-1.4 b" {
					t.Errorf("attachment %q", parts[5].body)
				}
			}},
		{"reply", func() string { return answer(multi.ID, "reply", models.ReplyRequest{Text: "It ships today."}) },
			"text/plain; charset=utf-8 [quoted-printable]", func(t *testing.T, _ []wirePart, hdr mail.Header) {
				if hdr.Get("In-Reply-To") != "<order7@example.net>" || decodeHeader(t, hdr.Get("Subject")) != "Re: Order 7" {
					t.Errorf("reply headers %v", hdr)
				}
				if to, _ := hdr.AddressList("To"); len(to) != 1 || to[0].Name != "Renée" {
					t.Errorf("reply to %v", to)
				}
			}},
		{"reply-all", func() string {
			return answer(multi.ID, "reply-all", models.ReplyRequest{Text: "It ships today.", HTML: "<p>It ships <b>today</b>.</p>"})
		}, "multipart/alternative\n  text/plain; charset=utf-8 [quoted-printable]\n  text/html; charset=utf-8 [quoted-printable]",
			func(t *testing.T, _ []wirePart, hdr mail.Header) {
				if cc, _ := hdr.AddressList("Cc"); len(cc) != 1 || cc[0].Address != "bob@example.net" {
					t.Errorf("reply-all cc %v", cc)
				}
			}},
		{"forward of a multipart original", func() string {
			return answer(multi.ID, "forward", models.ReplyRequest{To: models.AddressList{"billing@example.net"}, Text: "FYI"})
		}, "multipart/mixed\n  text/plain; charset=utf-8 [quoted-printable]\n  message/rfc822 [8bit] attachment \"forwarded-message.eml\"",
			func(t *testing.T, parts []wirePart, hdr mail.Header) {
				inner, _ := mail.ReadMessage(bytes.NewReader(parts[2].body))
				if decodeHeader(t, hdr.Get("Subject")) != "Fwd: Order 7" || inner.Header.Get("Subject") != "Order 7" {
					t.Errorf("forward subjects %q / %q", hdr.Get("Subject"), inner.Header.Get("Subject"))
				}
				var ip []wirePart
				wireWalk(t, textproto.MIMEHeader(inner.Header), inner.Body, 0, &ip)
				if len(ip) != 3 || ip[0].ctype != "multipart/alternative" || !strings.Contains(string(ip[1].body), "Grüße") {
					t.Errorf("forwarded original %v", ip)
				}
			}},
		{"forward of a message with attachments", func() string {
			return answer(withAtt.ID, "forward", models.ReplyRequest{To: models.AddressList{"billing@example.net"}, Text: "See below.",
				HTML: "<p>See below.</p>"})
		}, "multipart/mixed\n  multipart/alternative\n    text/plain; charset=utf-8 [quoted-printable]\n" +
			"    text/html; charset=utf-8 [quoted-printable]\n  message/rfc822 [7bit] attachment \"forwarded-message.eml\"",
			func(t *testing.T, parts []wirePart, _ mail.Header) {
				inner, _ := mail.ReadMessage(bytes.NewReader(parts[4].body))
				var ip []wirePart
				wireWalk(t, textproto.MIMEHeader(inner.Header), inner.Body, 0, &ip)
				if len(ip) != 3 || ip[2].filename != "inv.pdf" || string(ip[2].body) != "%PDF-1.4 invoice" {
					t.Errorf("forwarded original %v", ip)
				}
			}},
		{"edited held send", func() string {
			held := h.env.Token(h.org, h.inbox.ID, []string{models.ScopeEmailSend}, models.ScopeEmailSend)
			var r models.SendResponse
			h.env.MustStatus(202, "POST", base+"send", held.Secret, models.SendRequest{To: models.AddressList{"ann@example.net"},
				Subject: "Refund", Text: "We will refund you.", Attachments: []models.SendAttachment{{Filename: "note.txt", ContentBase64: b64("hello")}}}).JSON(t, &r)
			subject, html := "Ihre Rückerstattung — "+strings.Repeat("ausführlich ", 8), "<p>Die Buchhaltung meldet sich.</p>"
			h.env.MustStatus(200, "POST", "/v1/approvals/"+r.ApprovalID+"/approve", h.env.User(h.org, models.RoleReviewer),
				models.ApproveRequest{Edits: &models.ApprovalEdits{Subject: &subject, HTML: &html}})
			return r.ID
		}, "multipart/mixed\n  multipart/alternative\n    text/plain; charset=utf-8 [quoted-printable]\n" +
			"    text/html; charset=utf-8 [quoted-printable]\n  text/plain; charset=utf-8 [base64] attachment \"note.txt\"",
			func(t *testing.T, parts []wirePart, hdr mail.Header) {
				if s := decodeHeader(t, hdr.Get("Subject")); s != "Ihre Rückerstattung — "+strings.Repeat("ausführlich ", 8) {
					t.Errorf("edited subject %q", s)
				}
			}},
	}
	res := h.env.Domains.Resolver()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := tc.send()
			h.waitStatus(id, "delivered")
			msgs := h.sink.Messages()
			raw := msgs[len(msgs)-1].Data
			parts, hdr := wireParse(t, raw)
			var lines []string
			for _, p := range parts {
				lines = append(lines, p.String())
			}
			if got := strings.Join(lines, "\n"); got != tc.structure {
				t.Errorf("structure:\n%s\nwant:\n%s\n\n%s", got, tc.structure, raw)
			}
			if tc.check != nil {
				tc.check(t, parts, hdr)
			}
			verifs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{
				LookupTXT: func(name string) ([]string, error) { return res.LookupTXT(context.Background(), name) }})
			if err != nil || len(verifs) != 2 {
				t.Fatalf("DKIM: %v, %d signatures", err, len(verifs))
			}
			for _, v := range verifs {
				if v.Err != nil || v.Domain != "mail.example.com" {
					t.Errorf("DKIM verification: %+v", v)
				}
			}
			// The sender's copy lists the same attachments, inline ones as
			// inline, with their file names.
			var sent models.SentMessage
			h.env.MustStatus(200, "GET", base+id, h.agent.Secret, nil).JSON(t, &sent)
			var want []string
			for _, p := range parts {
				if p.disp != "" {
					want = append(want, fmt.Sprintf("%s %s inline=%v", p.filename, p.ctype, p.disp == "inline"))
				}
			}
			var got []string
			for _, a := range sent.Attachments {
				got = append(got, fmt.Sprintf("%s %s inline=%v", a.Filename, a.ContentType, a.Inline))
			}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("stored attachments %v, sent %v", got, want)
			}
		})
	}
}
