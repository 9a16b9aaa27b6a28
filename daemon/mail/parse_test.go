package mail

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustParse(t *testing.T, raw []byte) *Parsed {
	t.Helper()
	p, err := Parse(raw, Limits{})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return p
}

func TestParseNestedMultipart(t *testing.T) {
	p := mustParse(t, fixture(t, "nested.eml"))
	if p.Subject != "Quarterly report" || p.MessageID != "report-1@example.org" || p.Received != 1 {
		t.Fatalf("headers: %q %q %d", p.Subject, p.MessageID, p.Received)
	}
	if p.From.Name != "Ada Lovelace" || p.From.Address != "ada@example.org" {
		t.Fatalf("from %+v (addresses are lower-cased)", p.From)
	}
	if len(p.To) != 2 || p.To[0].Address != "agent@mail.example.com" || p.To[1].Address != "bob@example.net" ||
		len(p.Cc) != 1 || len(p.ReplyTo) != 1 || p.ReplyTo[0].Address != "billing@example.org" {
		t.Fatalf("to %+v cc %+v reply-to %+v", p.To, p.Cc, p.ReplyTo)
	}
	if p.Date == nil || p.Date.Format("2006-01-02T15:04") != "2025-03-03T10:00" {
		t.Fatalf("date %v", p.Date)
	}
	if !strings.Contains(p.Text, "Revenue grew 12 % — see the chart.") {
		t.Fatalf("text (quoted-printable UTF-8): %q", p.Text)
	}
	if !strings.Contains(p.HTML, `<img src="cid:chart@example.org"`) {
		t.Fatalf("html %q", p.HTML)
	}
	if len(p.Attachments) != 3 {
		t.Fatalf("want the inline image, the pdf and the forwarded message, got %+v", p.Attachments)
	}
	img, pdf, fwd := p.Attachments[0], p.Attachments[1], p.Attachments[2]
	if img.ContentType != "image/png" || img.ContentID != "chart@example.org" || !img.Inline || img.Size != 48 || img.Path != "0.1" {
		t.Fatalf("inline image %+v", img)
	}
	if pdf.Filename != "report.pdf" || pdf.ContentType != "application/pdf" || pdf.Inline || pdf.Size != 23+256 || pdf.Path != "1" {
		t.Fatalf("pdf %+v", pdf)
	}
	if fwd.ContentType != "message/rfc822" || fwd.Filename != "message.eml" {
		t.Fatalf("forwarded %+v", fwd)
	}
	got, err := AttachmentPart(fixture(t, "nested.eml"), pdf.Path, Limits{})
	if err != nil || !bytes.HasPrefix(got, []byte("%PDF-1.4")) || len(got) != int(pdf.Size) {
		t.Fatalf("pdf bytes: %v %q", err, got[:min(len(got), 20)])
	}
	if p.ExtractedText != "Hello agent,\n\nThe quarterly report is attached. Revenue grew 12 % — see the chart.\n\nRegards,\nAda" {
		t.Fatalf("extracted %q", p.ExtractedText)
	}
}

func TestParseCharsets(t *testing.T) {
	p := mustParse(t, fixture(t, "latin1.eml"))
	if p.Subject != "Résumé du café" || p.From.Name != "Renée François" {
		t.Fatalf("ISO-8859-1 headers: %q %q", p.Subject, p.From.Name)
	}
	if !strings.Contains(p.Text, "Grüße aus Köln, café à la crème.") || !strings.Contains(p.Text, "À bientôt") {
		t.Fatalf("ISO-8859-1 body: %q", p.Text)
	}
	p = mustParse(t, fixture(t, "shiftjis.eml"))
	if p.Subject != "請求書" || p.From.Name != "田中" {
		t.Fatalf("Shift_JIS headers: %q %q", p.Subject, p.From.Name)
	}
	if !strings.Contains(p.Text, "こんにちは、エージェントさん。") || !strings.Contains(p.Text, "請求書を送ります。") {
		t.Fatalf("Shift_JIS body: %q", p.Text)
	}
	p = mustParse(t, fixture(t, "html-only.eml"))
	if !strings.Contains(p.HTML, "Tuesday works – 10:00?") {
		t.Fatalf("windows-1252 html: %q", p.HTML)
	}
}

func TestParseMalformed(t *testing.T) {
	p := mustParse(t, fixture(t, "broken-boundary.eml"))
	if !strings.Contains(p.Text, "The body is still here.") || len(p.Problems) == 0 {
		t.Fatalf("a broken boundary shows the body raw: %q %v", p.Text, p.Problems)
	}
	p = mustParse(t, fixture(t, "bad-encoding.eml"))
	if p.MessageID != "odd-without-brackets@example.com" {
		t.Fatalf("message id without brackets: %q", p.MessageID)
	}
	if !strings.Contains(p.Subject, "odd") || !utf8.ValidString(p.Subject) {
		t.Fatalf("subject %q", p.Subject)
	}
	if !strings.Contains(p.Text, "plain text in an unknown charset") {
		t.Fatalf("unknown charset and encoding are shown as they are: %q", p.Text)
	}
	if len(p.Attachments) != 1 || p.Attachments[0].Filename != "passwd" {
		t.Fatalf("path elements are stripped from filenames: %+v", p.Attachments)
	}
	// Nothing that is not a message at all makes Parse fail.
	for _, raw := range []string{"", "\r\n", "no header at all", "X: y", "Content-Type: multipart/mixed\r\n\r\n--\r\n",
		"Subject: \x00\xff\xfe\r\n\r\nbody \x00 with NUL and \xc3\x28 invalid UTF-8"} {
		p := mustParse(t, []byte(raw))
		for _, s := range []string{p.Subject, p.Text, p.ExtractedText} {
			if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
				t.Fatalf("%q: not storable: %q", raw, s)
			}
		}
	}
}

func TestParseHugeHeaders(t *testing.T) {
	p := mustParse(t, fixture(t, "huge-headers.eml"))
	if len(p.References) != 100 || p.References[99] != "ref-399@example.org" {
		t.Fatalf("references are kept to the last 100: %d", len(p.References))
	}
	if p.Text != "small body\n" {
		t.Fatalf("text %q", p.Text)
	}
	huge := "Subject: x\r\nX-Pad: " + strings.Repeat("a", 300<<10) + "\r\n\r\nbody\r\n"
	_, err := Parse([]byte(huge), Limits{})
	var le *LimitError
	if !errors.As(err, &le) || le.What != "header" {
		t.Fatalf("want a header limit error, got %v", err)
	}
}

func TestParseAttachmentOnly(t *testing.T) {
	p := mustParse(t, fixture(t, "attachment-only.eml"))
	if p.Text != "" || p.HTML != "" || len(p.Attachments) != 1 {
		t.Fatalf("text %q html %q attachments %+v", p.Text, p.HTML, p.Attachments)
	}
	a := p.Attachments[0]
	if a.Filename != "scan.pdf" || a.Path != "" || a.Size != 279 {
		t.Fatalf("attachment %+v", a)
	}
	b, err := AttachmentPart(fixture(t, "attachment-only.eml"), a.Path, Limits{})
	if err != nil || len(b) != 279 {
		t.Fatalf("bytes: %v %d", err, len(b))
	}
}

func TestParseMIMELimits(t *testing.T) {
	nest := func(depth int) string {
		var b strings.Builder
		b.WriteString("Subject: deep\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n")
		for i := 1; i <= depth; i++ {
			b.WriteString("--b" + strconv.Itoa(i-1) + "\r\nContent-Type: multipart/mixed; boundary=b" + strconv.Itoa(i) + "\r\n\r\n")
		}
		b.WriteString("--b" + strconv.Itoa(depth) + "\r\nContent-Type: text/plain\r\n\r\ndeep text\r\n--b" + strconv.Itoa(depth) + "--\r\n")
		for i := depth - 1; i >= 0; i-- {
			b.WriteString("--b" + strconv.Itoa(i) + "--\r\n")
		}
		return b.String()
	}
	p, err := Parse([]byte(nest(5)), Limits{MaxDepth: 10})
	if err != nil || p.Text != "deep text" {
		t.Fatalf("depth 6: %v %+v", err, p)
	}
	_, err = Parse([]byte(nest(12)), Limits{MaxDepth: 10})
	var le *LimitError
	if !errors.As(err, &le) || le.What != "depth" {
		t.Fatalf("want a depth error, got %v", err)
	}
	var b strings.Builder
	b.WriteString("Subject: many\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n")
	for i := 0; i < 30; i++ {
		b.WriteString("--m\r\nContent-Type: text/plain\r\n\r\npart\r\n")
	}
	b.WriteString("--m--\r\n")
	if _, err := Parse([]byte(b.String()), Limits{MaxParts: 31}); err != nil {
		t.Fatalf("31 parts within the limit: %v", err)
	}
	if _, err := Parse([]byte(b.String()), Limits{MaxParts: 30}); !errors.As(err, &le) || le.What != "parts" {
		t.Fatalf("want a parts error, got %v", err)
	}
}

func TestExtractedText(t *testing.T) {
	p := mustParse(t, fixture(t, "reply-gmail.eml"))
	if p.ExtractedText != "Thanks, looks good. Can you send the Q1 numbers too?" {
		t.Fatalf("wrapped attribution: %q", p.ExtractedText)
	}
	if p.InReplyTo != "report-1@example.org" || len(p.References) != 1 {
		t.Fatalf("in-reply-to %q refs %v", p.InReplyTo, p.References)
	}
	p = mustParse(t, fixture(t, "html-only.eml"))
	if p.ExtractedText != "Tuesday works – 10:00?\n\n- room A\n- room B" {
		t.Fatalf("from html, Outlook quote and script dropped: %q", p.ExtractedText)
	}
	cases := []struct{ in, want string }{
		{"new\n\n-----Original Message-----\nFrom: x\nold", "new"},
		{"new\n________________________________\nFrom: Someone\nSent: Monday\nold", "new"},
		{"new\nFrom: Someone <s@example.com>\nSent: Monday\nTo: agent\nold", "new"},
		{"answer 1\n> question 1\nanswer 2\n> question 2", "answer 1\nanswer 2"},
		{"Le lun. 3 mars 2025, Ada a écrit :\n> vieux", "Le lun. 3 mars 2025, Ada a écrit :\n> vieux"},
		{"Salut\n\nLe lun. 3 mars 2025, Ada a écrit :\n> vieux", "Salut"},
		{"Body\n---------- Forwarded message ---------\nFrom: a\nforwarded content", "Body\n---------- Forwarded message ---------\nFrom: a\nforwarded content"},
		{"> only quotes\n> here", "> only quotes\n> here"},
	}
	for _, c := range cases {
		if got := ExtractReply(c.in); got != c.want {
			t.Errorf("ExtractReply(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestNormalizeSubject(t *testing.T) {
	for in, want := range map[string]string{
		"Re: RE: Fwd: Hello  World": "hello world",
		"AW: Termin":                "termin",
		"Re[2]: x":                  "x",
		"Report":                    "report",
	} {
		if got := NormalizeSubject(in); got != want {
			t.Errorf("NormalizeSubject(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParse feeds arbitrary DATA to the parser: it must never panic,
// and whatever it returns must be storable (valid UTF-8, no NUL).
func FuzzParse(f *testing.F) {
	for _, name := range []string{"nested.eml", "latin1.eml", "shiftjis.eml", "broken-boundary.eml",
		"attachment-only.eml", "reply-gmail.eml", "html-only.eml", "bad-encoding.eml"} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x--\r\n"))
	corpus, _ := filepath.Glob("testdata/corpus/*.eml")
	for _, name := range corpus {
		f.Add(fixture(f, strings.TrimPrefix(name, "testdata/")))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := Parse(raw, Limits{MaxParts: 50, MaxDepth: 8, MaxHeaderBytes: 64 << 10})
		if err != nil {
			var le *LimitError
			if !errors.As(err, &le) {
				t.Fatalf("Parse failed with a non-limit error: %v", err)
			}
			return
		}
		strs := []string{p.Subject, p.Text, p.HTML, p.ExtractedText, p.MessageID, p.InReplyTo, p.From.Name, p.From.Address}
		for _, h := range p.Headers {
			strs = append(strs, h.Name, h.Value)
		}
		for _, a := range p.Attachments {
			strs = append(strs, a.Filename, a.ContentType, a.ContentID)
			if _, err := AttachmentPart(raw, a.Path, Limits{MaxParts: 50, MaxDepth: 8, MaxHeaderBytes: 64 << 10}); err != nil {
				t.Fatalf("attachment %s listed but not found: %v", a.Path, err)
			}
		}
		for _, s := range strs {
			if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
				t.Fatalf("not storable: %q", s)
			}
		}
	})
}

// The three shapes of issue 16 that lost body text (DESIGN.md section 13).
func TestParseRFCDefaults(t *testing.T) {
	// No subtype: text/plain (RFC 2045 section 5.2), not an attachment.
	p := mustParse(t, []byte("Subject: a\r\nContent-Type: text\r\n\r\nbody\r\n"))
	if p.Text != "body\r\n" && p.Text != "body\n" || len(p.Attachments) != 0 {
		t.Fatalf("no subtype: %q %+v", p.Text, p.Attachments)
	}
	// An inline text part with a filename is body text and an attachment.
	p = mustParse(t, []byte("Subject: b\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\nContent-Type: text/plain\r\n\r\nIntro.\r\n"+
		"--m\r\nContent-Type: text/plain\r\nContent-Disposition: inline; filename=notes.txt\r\n\r\nNotes.\r\n--m--\r\n"))
	if p.Text != "Intro.\nNotes." || len(p.Attachments) != 1 || p.Attachments[0].Filename != "notes.txt" || !p.Attachments[0].Inline {
		t.Fatalf("inline text with a filename: %q %+v", p.Text, p.Attachments)
	}
	// No blank line after the header: the first line that is not a field
	// starts the body.
	p = mustParse(t, []byte("Subject: c\r\nFrom: a@example.org\r\nThe body line.\r\n"))
	if p.Subject != "c" || p.From.Address != "a@example.org" || p.Text != "The body line.\n" {
		t.Fatalf("no separator: %q %+v %q", p.Subject, p.From, p.Text)
	}
}
