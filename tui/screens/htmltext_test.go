package screens

import "testing"

func TestHTMLText(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"plain", "Hello", "Hello"},
		{"collapse", "  We   will\n\trefund   you.  ", "We will refund you."},
		{"inline tags", "We will <b>refund</b> <i>you</i>.", "We will refund you."},
		{"entities", "Fish &amp; chips &lt;3 &eacute;t&eacute; &#8364;5&nbsp;now", "Fish & chips <3 été €5\u00a0now"},
		{"br", "one<br>two<br/>three", "one\ntwo\nthree"},
		{"double br", "one<br><br>two", "one\n\ntwo"},
		{"paragraphs", "<p>Hi Ann,</p><p>We have refunded you.</p><p>Best,<br>Support</p>", "Hi Ann,\n\nWe have refunded you.\n\nBest,\nSupport"},
		{"divs", "<div>one</div><div>two</div>", "one\ntwo"},
		{"heading", "<h1>Title</h1>Body", "Title\n\nBody"},
		{"list", "<p>Steps:</p><ul><li>first</li><li>second <b>bold</b></li></ul>after", "Steps:\n\n• first\n• second bold\n\nafter"},
		{"link", `See <a href="https://example.com/x">our policy</a>.`, "See our policy <https://example.com/x>."},
		{"link same as text", `<a href="https://example.com">https://example.com</a>`, "https://example.com"},
		{"mailto", `<a href="mailto:ann@example.net">ann@example.net</a>`, "ann@example.net"},
		{"anchor", `<a href="#top">top</a>`, "top"},
		{"image", `<img src="cid:logo" alt="Acme logo"> and <img src="x.png">`, "[image: Acme logo] and [image]"},
		{"hidden", "<html><head><title>T</title><style>p{color:red}</style></head><body><script>alert(1)</script><p>shown</p></body></html>", "shown"},
		{"table", "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>", "a b\nc d"},
		{"pre", "<pre>line 1\n  indented</pre>after", "line 1\n  indented\n\nafter"},
		{"unclosed", "<p>one<p>two", "one\n\ntwo"},
		{"empty", "", ""},
		{"only tags", "<div><br></div>", ""},
	}
	for _, c := range cases {
		if got := htmlText(c.in); got != c.want {
			t.Errorf("%s: htmlText(%q)\n got %q\nwant %q", c.name, c.in, got, c.want)
		}
	}
}

func FuzzHTMLText(f *testing.F) {
	for _, s := range []string{"<p>a</p>", "<a href=x>y</a>", "<pre>\n</pre>", "<ul><li>x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := htmlText(s)
		if len(out) > 0 && (out[0] == '\n' || out[len(out)-1] == '\n') {
			t.Fatalf("htmlText(%q) = %q: not trimmed", s, out)
		}
	})
}
