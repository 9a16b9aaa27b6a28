package mail

import (
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"gent/daemon/screening"
)

// HTMLToText renders an HTML body as plain text: block elements become
// line breaks, list items get "- ", scripts and styles are dropped. With
// dropQuotes, quoted history (<blockquote>, Gmail's and Outlook's quote
// containers) is left out too. What a reader would not see (content hidden
// by CSS, the hidden attribute or <template>, and invisible characters;
// see package screening) is left out as well.
func HTMLToText(src string, dropQuotes bool) string {
	return documentText(screening.ParseDocument(src), dropQuotes)
}

// documentText is HTMLToText of an HTML body already parsed.
func documentText(d *screening.Document, dropQuotes bool) string {
	if d == nil {
		return ""
	}
	r := &htmlRenderer{dropQuotes: dropQuotes, vis: d.Vis}
	r.render(d.Root, 0)
	return tidy(screening.Strip(r.b.String()))
}

type htmlRenderer struct {
	b          strings.Builder
	dropQuotes bool
	pre        int
	vis        *screening.Visibility
}

func hasClass(n *html.Node, classes ...string) bool {
	for _, a := range n.Attr {
		switch a.Key {
		case "class":
			for _, c := range strings.Fields(a.Val) {
				for _, want := range classes {
					if c == want {
						return true
					}
				}
			}
		case "id":
			for _, want := range classes {
				if a.Val == want {
					return true
				}
			}
		}
	}
	return false
}

func (r *htmlRenderer) newline() {
	s := r.b.String()
	if len(s) > 0 && !strings.HasSuffix(s, "\n") {
		r.b.WriteByte('\n')
	}
}

// render walks the tree; depth guards against pathological nesting.
func (r *htmlRenderer) render(n *html.Node, depth int) {
	if depth > 512 {
		return
	}
	switch n.Type {
	case html.TextNode:
		if r.pre > 0 {
			r.b.WriteString(n.Data)
			return
		}
		t := strings.Join(strings.Fields(n.Data), " ")
		if t == "" {
			if n.Data != "" && !strings.HasSuffix(r.b.String(), "\n") && !strings.HasSuffix(r.b.String(), " ") && r.b.Len() > 0 {
				r.b.WriteByte(' ')
			}
			return
		}
		if unicode.IsSpace(rune(n.Data[0])) && r.b.Len() > 0 && !strings.HasSuffix(r.b.String(), "\n") && !strings.HasSuffix(r.b.String(), " ") {
			r.b.WriteByte(' ')
		}
		r.b.WriteString(t)
		if unicode.IsSpace(rune(n.Data[len(n.Data)-1])) {
			r.b.WriteByte(' ')
		}
		return
	case html.ElementNode:
		if r.vis.Hidden(n) {
			return
		}
		switch n.DataAtom {
		case atom.Script, atom.Style, atom.Head, atom.Title, atom.Template, atom.Noscript:
			return
		case atom.Blockquote:
			if r.dropQuotes {
				return
			}
		case atom.Br:
			r.b.WriteByte('\n')
			return
		case atom.Img:
			for _, a := range n.Attr {
				if a.Key == "alt" && strings.TrimSpace(a.Val) != "" {
					r.b.WriteString("[" + strings.TrimSpace(a.Val) + "]")
				}
			}
			return
		case atom.Hr:
			r.newline()
			r.b.WriteString("---\n")
			return
		}
		if r.dropQuotes && hasClass(n, "gmail_quote", "gmail_extra", "moz-cite-prefix", "yahoo_quoted", "divRplyFwdMsg", "appendonsend") {
			return
		}
	}
	block := false
	if n.Type == html.ElementNode {
		switch n.DataAtom {
		case atom.P, atom.Div, atom.Tr, atom.Table, atom.Ul, atom.Ol, atom.H1, atom.H2, atom.H3,
			atom.H4, atom.H5, atom.H6, atom.Section, atom.Article, atom.Header, atom.Footer,
			atom.Blockquote, atom.Pre, atom.Dl, atom.Dt, atom.Dd, atom.Address, atom.Form:
			block = true
			r.newline()
		case atom.Li:
			block = true
			r.newline()
			r.b.WriteString("- ")
		case atom.Td, atom.Th:
			if !strings.HasSuffix(r.b.String(), "\n") && r.b.Len() > 0 {
				r.b.WriteByte('\t')
			}
		}
		if n.DataAtom == atom.Pre {
			r.pre++
			defer func() { r.pre-- }()
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		r.render(c, depth+1)
	}
	if block {
		r.newline()
		if n.DataAtom == atom.P || (n.DataAtom >= atom.H1 && n.DataAtom <= atom.H6) {
			r.b.WriteByte('\n')
		}
	}
}

// tidy trims trailing spaces on each line, collapses runs of blank lines
// and trims the whole.
func tidy(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	lines := strings.Split(s, "\n")
	out := make([]string, 0, len(lines))
	blank := 0
	for _, l := range lines {
		l = strings.TrimRight(l, " \t\r\u00a0")
		if l == "" {
			blank++
			if blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

var (
	// "On Tue, 3 Jan 2023 at 10:00, Ada <ada@example.com> wrote:" and its
	// translations; the attribution may wrap onto a second line.
	attributionStart = regexp.MustCompile(`^(On|Le|Am|El|Op|Il|Em|Den|På|W dniu)\s`)
	attributionEnd   = regexp.MustCompile(`(wrote|écrit|schrieb|escribió|schreef|scritto|escreveu|skrev|napisał)\s*:\s*$`)
	originalMessage  = regexp.MustCompile(`(?i)^-{2,}\s*(original message|ursprüngliche nachricht|message d'origine|mensaje original)\s*-{2,}$`)
	outlookRule      = regexp.MustCompile(`^_{10,}$`)
	outlookFrom      = regexp.MustCompile(`(?i)^\*?(from|von|de|da|van)\s*:\*?\s`)
	outlookNext      = regexp.MustCompile(`(?i)^\*?(sent|date|gesendet|envoyé|enviado|inviato|verzonden|to|an|à|para)\s*:`)
)

// ExtractReply returns the new text of a message: lines quoted with ">"
// are dropped, and everything from a reply attribution ("On … wrote:"),
// an "Original Message" separator or an Outlook header block on is cut.
// Forwarded messages are kept: they are content, not history. When
// nothing is left (a message that only quotes), the whole text is kept.
func ExtractReply(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	lines := strings.Split(text, "\n")
	var kept []string
cut:
	for i, line := range lines {
		t := strings.TrimSpace(line)
		if !maybeSeparator(t) {
			if !strings.HasPrefix(t, ">") {
				kept = append(kept, line)
			}
			continue
		}
		switch {
		case strings.HasPrefix(t, ">"):
			continue
		case originalMessage.MatchString(t):
			break cut
		case outlookRule.MatchString(t) && i+1 < len(lines) && outlookFrom.MatchString(strings.TrimSpace(lines[i+1])):
			break cut
		case outlookFrom.MatchString(t) && nextMatches(lines, i, outlookNext):
			break cut
		case attributionStart.MatchString(t):
			if attributionEnd.MatchString(t) {
				break cut
			}
			if i+1 < len(lines) && attributionEnd.MatchString(strings.TrimSpace(lines[i+1])) && !attributionStart.MatchString(strings.TrimSpace(lines[i+1])) {
				break cut
			}
		}
		kept = append(kept, line)
	}
	out := tidy(strings.Join(kept, "\n"))
	if out == "" {
		return tidy(text)
	}
	return out
}

// separatorStarts are the first bytes a line can start with to match one
// of the separator expressions above; other lines skip the expressions
// (which cost a backtracking pass each, for every line of every message).
const separatorStarts = "-_*FfVvDdOLAEIPW"

func maybeSeparator(t string) bool {
	return t != "" && strings.IndexByte(separatorStarts, t[0]) >= 0
}

// nextMatches reports whether one of the three lines after i matches re.
func nextMatches(lines []string, i int, re *regexp.Regexp) bool {
	for j := i + 1; j < len(lines) && j <= i+3; j++ {
		if re.MatchString(strings.TrimSpace(lines[j])) {
			return true
		}
	}
	return false
}

// previewLen is how many characters a preview keeps.
const previewLen = 200

// Preview is the first 200 characters of text, on one line: runs of white
// space become one space, and a longer text ends with "…". It reads only
// as much of text as it keeps.
func Preview(text string) string {
	var b strings.Builder
	n, space := 0, false
	for _, r := range text {
		if unicode.IsSpace(r) {
			space = n > 0
			continue
		}
		if n == previewLen {
			b.WriteString("…")
			break
		}
		if space {
			b.WriteByte(' ')
			n++
			space = false
			if n == previewLen {
				b.WriteString("…")
				break
			}
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

var subjectPrefix = regexp.MustCompile(`(?i)^\s*((re|fw|fwd|aw|wg|sv|vs|antw|rif|tr|r|ref|odp|res)(\[\d+\])?\s*:\s*)+`)

// NormalizeSubject strips reply and forward prefixes and lower-cases the
// subject, for the subject fallback of threading.
func NormalizeSubject(s string) string {
	s = subjectPrefix.ReplaceAllString(s, "")
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// isReplySubject reports whether the subject carries a reply or forward
// prefix.
func isReplySubject(s string) bool { return subjectPrefix.MatchString(s) }
