package mail

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gent/daemon/mail/mailgen"
	"gent/daemon/screening"
)

// htmlMessages are the test messages with an HTML body: the fixtures,
// the mail corpus and the screening corpus.
func htmlMessages(t testing.TB) []*Parsed {
	t.Helper()
	var files []string
	for _, g := range []string{"testdata/*.eml", "testdata/corpus/*.eml", "../screening/testdata/corpus/*/*.eml"} {
		m, err := filepath.Glob(g)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	var out []*Parsed
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Parse(raw, DefaultLimits)
		if err != nil || p.HTML == "" {
			continue
		}
		out = append(out, p)
	}
	if len(out) < 50 {
		t.Fatalf("only %d messages with HTML", len(out))
	}
	return out
}

// Parse keeps the tree it made of an HTML-only message's HTML, and the
// reader's view and screening read that tree: what they make of it is
// what they make of the HTML parsed again.
func TestParsedHTMLTreeShared(t *testing.T) {
	shared := 0
	for _, p := range htmlMessages(t) {
		if (p.html != nil) != (p.Text == "") {
			t.Fatalf("%q: text %d bytes, tree kept %v", p.Subject, len(p.Text), p.html != nil)
		}
		if p.html == nil {
			continue
		}
		shared++
		fresh := *p
		fresh.html = nil
		if got, want := visibleView(p).Text, visibleView(&fresh).Text; got != want {
			t.Errorf("%q: text from the kept tree %q, from the HTML %q", p.Subject, got, want)
		}
		if got, want := HTMLToText(p.HTML, true), documentText(p.html, true); got != want {
			t.Errorf("%q: extracted %q, from the kept tree %q", p.Subject, want, got)
		}
		a := screening.Screen(screening.Input{Subject: p.Subject, HTML: p.HTML, Document: p.html})
		b := screening.Screen(screening.Input{Subject: p.Subject, HTML: p.HTML})
		if a.Score != b.Score || len(a.Findings) != len(b.Findings) {
			t.Errorf("%q: screening of the kept tree %+v, of the HTML %+v", p.Subject, a, b)
		}
		for i := range a.Findings {
			if a.Findings[i] != b.Findings[i] {
				t.Errorf("%q: screening of the kept tree %+v, of the HTML %+v", p.Subject, a, b)
				break
			}
		}
	}
	if shared < 20 {
		t.Fatalf("only %d HTML-only messages", shared)
	}
}

// BenchmarkScreenInbound is the work an inbound message gets before the
// database: Parse, the screening pass and the reader's view, for the
// 10 KiB multipart message of gentbench --multipart (text, HTML and an
// attachment) and for a 10 KiB HTML-only newsletter (whose HTML Parse
// parses once for all three). BenchmarkParse is Parse alone.
func BenchmarkScreenInbound(b *testing.B) {
	multipart := mailgen.Message(mailgen.Options{From: "ada@sender.test", To: "agent@mail.test", Size: 10 << 10, Seq: 2, Multipart: true})
	var h strings.Builder
	h.WriteString("From: News <news@example.com>\r\nTo: agent@mail.test\r\nSubject: Our monthly news\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/html; charset=utf-8\r\n\r\n")
	h.WriteString(`<html><head><style>.m{display:none}@media (max-width:600px){.m{display:block}}</style></head><body bgcolor="#fff">`)
	h.WriteString(`<div style="display:none;max-height:0;overflow:hidden">Preheader text for the inbox list</div><table>`)
	for h.Len() < 10<<10 {
		h.WriteString("<tr><td style=\"color:#333;font-size:15px;padding:8px\">A paragraph of ordinary newsletter text about products and news,\r\n" +
			"with a <a href=\"https://click.example.net/x?id=1\">link</a>.</td></tr>\r\n")
	}
	h.WriteString("</table></body></html>\r\n")
	for _, c := range []struct {
		name string
		raw  []byte
	}{{"multipart-10KiB", multipart}, {"html-only-10KiB", []byte(h.String())}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.raw)))
			b.ReportAllocs()
			for b.Loop() {
				p, err := Parse(c.raw, DefaultLimits)
				if err != nil {
					b.Fatal(err)
				}
				screening.Screen(screening.Input{Subject: p.Subject, Text: p.Text, HTML: p.HTML, Document: p.html})
				visibleView(p)
			}
		})
	}
}
