package screening

import (
	"strings"
	"testing"
)

// BenchmarkScreen10KiB screens a 10 KiB marketing-style HTML message.
func BenchmarkScreen10KiB(b *testing.B) {
	var h strings.Builder
	h.WriteString(`<html><head><style>.m{display:none}@media (max-width:600px){.m{display:block}}</style></head><body bgcolor="#fff">`)
	h.WriteString(`<div style="display:none;max-height:0;overflow:hidden">Preheader text for the inbox list</div><table>`)
	for h.Len() < 10<<10 {
		h.WriteString(`<tr><td style="color:#333;font-size:15px;padding:8px">A paragraph of ordinary newsletter text about products and news, with a <a href="https://click.example.net/x?id=1">link</a>.</td></tr>`)
	}
	h.WriteString(`</table></body></html>`)
	in := Input{Subject: "Our monthly news", Text: strings.Repeat("Plain alternative text of the newsletter. ", 100), HTML: h.String()}
	b.SetBytes(int64(len(in.HTML)))
	b.ReportAllocs()
	for b.Loop() {
		Screen(in)
	}
}
