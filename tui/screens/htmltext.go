package screens

import (
	"regexp"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// htmlText renders an HTML body as plain text for a reviewer: tags are
// dropped, entities decoded, whitespace collapsed as a browser would,
// and line breaks kept where the HTML makes them (br, paragraphs, list
// items, headings, table rows, …). Nothing is hidden that a reader would
// see: link targets follow their text ("text <url>") when they differ,
// images show their alt text, and list items get a bullet. Scripts,
// styles and the head are not shown: a mail client does not show them.
func htmlText(src string) string {
	z := html.NewTokenizer(strings.NewReader(src))
	var b textBuilder
	var hrefs []string // open links' targets
	skip, pre := 0, 0
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return b.String()
		case html.TextToken:
			if skip > 0 {
				continue
			}
			if pre > 0 {
				b.raw(string(z.Text()))
			} else {
				b.words(string(z.Text()))
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, hasAttr := z.TagName()
			a := atom.Lookup(name)
			attrs := map[string]string{}
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				attrs[string(k)] = string(v)
			}
			end := tt == html.EndTagToken
			switch a {
			case atom.Script, atom.Style, atom.Head, atom.Title, atom.Template:
				if tt == html.StartTagToken {
					skip++
				} else if end && skip > 0 {
					skip--
				}
				continue
			}
			if skip > 0 {
				continue
			}
			switch a {
			case atom.Br:
				b.newline()
			case atom.Pre:
				b.block(2)
				if end {
					pre = max(0, pre-1)
				} else {
					pre++
				}
			case atom.Li:
				b.block(1)
				if !end {
					b.raw("• ")
				}
			case atom.Td, atom.Th:
				if !end {
					b.space()
				}
			case atom.Img:
				if alt := strings.TrimSpace(attrs["alt"]); alt != "" {
					b.words("[image: " + alt + "]")
				} else {
					b.words("[image]")
				}
			case atom.Hr:
				b.block(2)
				b.raw("───")
				b.block(2)
			case atom.A:
				if !end {
					hrefs = append(hrefs, attrs["href"])
					b.mark()
				} else if n := len(hrefs); n > 0 {
					href := hrefs[n-1]
					hrefs = hrefs[:n-1]
					if shown := b.sinceMark(); href != "" && !strings.HasPrefix(href, "#") && strings.TrimSpace(shown) != href &&
						strings.TrimPrefix(href, "mailto:") != strings.TrimSpace(shown) {
						b.words(" <" + href + ">")
					}
				}
			default:
				b.block(blockTags[a])
			}
		}
	}
}

// blockTags start and end on their own lines; 2: with a blank line
// around them, as browsers give them a margin.
var blockTags = map[atom.Atom]int{
	atom.P: 2, atom.H1: 2, atom.H2: 2, atom.H3: 2, atom.H4: 2, atom.H5: 2, atom.H6: 2, atom.Ul: 2, atom.Ol: 2,
	atom.Table: 2, atom.Blockquote: 2, atom.Pre: 2, atom.Dl: 2, atom.Figure: 2, atom.Hr: 2,
	atom.Div: 1, atom.Tr: 1, atom.Li: 1, atom.Dt: 1, atom.Dd: 1, atom.Section: 1, atom.Article: 1, atom.Header: 1,
	atom.Footer: 1, atom.Address: 1, atom.Center: 1, atom.Form: 1, atom.Fieldset: 1, atom.Main: 1, atom.Nav: 1,
	atom.Aside: 1, atom.Body: 1, atom.Html: 1, atom.Caption: 1,
}

var spaces = regexp.MustCompile(`[ \t\r\n\f]+`)

// textBuilder collects lines of text: words joined by single spaces,
// line breaks, and blocks set apart by at most one blank line.
type textBuilder struct {
	lines  []string
	cur    strings.Builder
	gap    bool // a space is owed before the next word on this line
	breaks int  // owed before the next text: 1 a new line, 2 a blank line
	markLn int  // where mark() was: line and position in it
	markAt int
}

// flushBreaks makes the line breaks owed, once there is text to break.
func (b *textBuilder) flushBreaks() {
	n := b.breaks
	b.breaks = 0
	if n == 0 || (len(b.lines) == 0 && b.cur.Len() == 0) {
		return
	}
	if b.cur.Len() > 0 {
		b.lines = append(b.lines, b.cur.String())
		b.cur.Reset()
	}
	if n == 2 && b.lines[len(b.lines)-1] != "" {
		b.lines = append(b.lines, "")
	}
	b.gap = false
}

// words writes text whose whitespace collapses, as HTML text does.
func (b *textBuilder) words(s string) {
	s = spaces.ReplaceAllString(s, " ")
	if strings.HasPrefix(s, " ") {
		b.space()
		s = s[1:]
	}
	if s == "" {
		return
	}
	b.flushBreaks()
	if b.gap && !strings.HasSuffix(b.cur.String(), " ") {
		b.cur.WriteByte(' ')
	}
	b.gap = strings.HasSuffix(s, " ")
	b.cur.WriteString(strings.TrimSuffix(s, " "))
}

// raw writes text as it is (pre, bullets), keeping its line breaks.
func (b *textBuilder) raw(s string) {
	b.flushBreaks()
	if b.gap {
		b.cur.WriteByte(' ')
	}
	b.gap = false
	for i, p := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if i > 0 {
			b.lines = append(b.lines, b.cur.String())
			b.cur.Reset()
		}
		b.cur.WriteString(p)
	}
}

func (b *textBuilder) space() { b.gap = b.cur.Len() > 0 }

// newline ends the line (a br): two in a row make an empty line.
func (b *textBuilder) newline() {
	b.flushBreaks()
	b.lines = append(b.lines, b.cur.String())
	b.cur.Reset()
	b.gap = false
}

// block asks for a line break (1) or a blank line (2) before what follows.
func (b *textBuilder) block(n int) { b.breaks = max(b.breaks, n) }

func (b *textBuilder) mark() { b.flushBreaks(); b.markLn, b.markAt = len(b.lines), b.cur.Len() }

// sinceMark is the text written on the line since mark.
func (b *textBuilder) sinceMark() string {
	if b.markLn != len(b.lines) || b.markAt > b.cur.Len() {
		return ""
	}
	return b.cur.String()[b.markAt:]
}

func (b *textBuilder) String() string {
	lines := append(append([]string{}, b.lines...), b.cur.String())
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Trim(strings.Join(lines, "\n"), "\n")
}
