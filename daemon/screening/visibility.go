package screening

import (
	"strconv"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Visibility is what a human reader of an HTML body would not see: the
// elements hidden by CSS (inline style attributes and simple class, id
// and tag rules of <style> blocks), by the hidden attribute, by a colour
// equal to the background, by a tiny font or by off-screen positioning.
type Visibility struct {
	hidden map[*html.Node]string // hidden subtree roots → why
	rules  map[string][]decl     // ".class", "#id", "tag" → declarations
	decls  []decl                // declsOf's result, reused element to element
	key    []byte                // a rule key being looked up
}

// Document is an HTML body parsed once, with what a reader does not see
// marked: the screening walk and the text renderers of package mail read
// the same tree instead of parsing the HTML each. Nothing changes it
// after ParseDocument, so readers may share it.
type Document struct {
	Root *html.Node
	Vis  *Visibility
}

// ParseDocument parses an HTML body (as html.Parse does, the way a
// browser builds its tree) and marks its hidden subtrees. It returns nil
// for what cannot be parsed.
func ParseDocument(src string) *Document {
	doc, err := html.Parse(strings.NewReader(src))
	if err != nil {
		return nil
	}
	return &Document{Root: doc, Vis: Analyze(doc)}
}

// Hidden reports whether n is the root of a subtree a reader does not see.
func (v *Visibility) Hidden(n *html.Node) bool {
	if v == nil {
		return false
	}
	_, ok := v.hidden[n]
	return ok
}

// maxDepth bounds the walk, as the text renderer does.
const maxDepth = 512

// Analyze walks a parsed document and marks the hidden subtrees.
func Analyze(doc *html.Node) *Visibility {
	v := &Visibility{hidden: map[*html.Node]string{}}
	v.collectRules(doc, 0)
	v.walk(doc, style{color: black, bg: white}, 0)
	v.decls, v.key = nil, nil
	return v
}

// rgb is a colour; known is false for colours we cannot compare.
type rgb struct {
	r, g, b int
	known   bool
}

var (
	black = rgb{0, 0, 0, true}
	white = rgb{255, 255, 255, true}
)

// style is the inherited state of the walk.
type style struct {
	color, bg rgb
}

type decl struct{ prop, val string }

// parseDecls appends to out the declarations of a CSS declaration block
// ("a: b; c: d"): lower-cased properties and values, "!important"
// dropped. Semicolons inside quotes or parentheses do not split.
func parseDecls(s string, out []decl) []decl {
	depth, quote, start := 0, byte(0), 0
	flush := func(end int) {
		d := s[start:end]
		start = end + 1
		p, val, ok := strings.Cut(d, ":")
		if !ok {
			return
		}
		p = strings.ToLower(strings.TrimSpace(p))
		val = strings.ToLower(strings.TrimSpace(val))
		val = strings.TrimSpace(strings.TrimSuffix(val, "!important"))
		if p != "" {
			out = append(out, decl{p, val})
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			if depth > 0 {
				depth--
			}
		case c == ';' && depth == 0:
			flush(i)
		}
	}
	if start < len(s) {
		flush(len(s))
	}
	return out
}

// collectRules reads the <style> blocks: rules whose selectors are simple
// (".c", "#i", "tag", "tag.c") and that are not inside an at-rule (a
// @media block applies only on some screens, so it neither hides nor
// shows for sure).
func (v *Visibility) collectRules(n *html.Node, depth int) {
	if depth > maxDepth {
		return
	}
	if n.Type == html.ElementNode && n.DataAtom == atom.Style {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.TextNode {
				v.parseSheet(c.Data)
			}
		}
		return
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		v.collectRules(c, depth+1)
	}
}

// maxRules bounds what a style sheet may add, against hostile sheets.
const maxRules = 2000

func (v *Visibility) parseSheet(css string) {
	css = stripCSSComments(css)
	i := 0
	for i < len(css) {
		open := strings.IndexByte(css[i:], '{')
		if open < 0 {
			return
		}
		sel := strings.TrimSpace(css[i : i+open])
		// find the matching close brace
		j, depth := i+open+1, 1
		for j < len(css) && depth > 0 {
			switch css[j] {
			case '{':
				depth++
			case '}':
				depth--
			}
			j++
		}
		body := css[i+open+1 : max(j-1, i+open+1)]
		i = j
		if strings.HasPrefix(sel, "@") || strings.ContainsRune(body, '{') {
			continue // @media, @font-face, nested: not applied
		}
		decls := parseDecls(body, nil)
		for _, s := range strings.Split(sel, ",") {
			s = strings.ToLower(strings.TrimSpace(s))
			if s == "" || strings.ContainsAny(s, " >+~:[*") {
				continue
			}
			if v.rules == nil {
				v.rules = map[string][]decl{}
			}
			if len(v.rules) >= maxRules {
				return
			}
			v.rules[s] = append(v.rules[s], decls...)
		}
	}
}

func stripCSSComments(s string) string {
	if !strings.Contains(s, "/*") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "/*")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		j := strings.Index(s[i+2:], "*/")
		if j < 0 {
			return b.String()
		}
		s = s[i+2+j+2:]
	}
}

// declsOf returns the declarations that apply to n: sheet rules first
// (tag, classes, id), then the style attribute, which wins. The result is
// valid until the next call.
func (v *Visibility) declsOf(n *html.Node) []decl {
	out := v.decls[:0]
	var inline string
	if v.rules != nil {
		tag := strings.ToLower(n.Data)
		out = append(out, v.rules[tag]...)
		for _, a := range n.Attr {
			switch a.Key {
			case "class":
				for c := range strings.FieldsSeq(strings.ToLower(a.Val)) {
					out = append(out, v.rule("", ".", c)...)
					out = append(out, v.rule(tag, ".", c)...)
				}
			case "id":
				out = append(out, v.rule("", "#", strings.ToLower(a.Val))...)
			}
		}
	}
	for _, a := range n.Attr {
		if a.Key == "style" {
			inline = a.Val
		}
	}
	if inline != "" {
		out = parseDecls(inline, out)
	}
	v.decls = out
	return out
}

// rule returns the declarations of the sheet rule tag+sep+name.
func (v *Visibility) rule(tag, sep, name string) []decl {
	v.key = append(append(append(v.key[:0], tag...), sep...), name...)
	return v.rules[string(v.key)]
}

// walk marks hidden subtrees; st is the inherited colour and background.
func (v *Visibility) walk(n *html.Node, st style, depth int) {
	if depth > maxDepth {
		return
	}
	if n.Type == html.ElementNode {
		if why := v.hiddenWhy(n, &st); why != "" {
			v.hidden[n] = why
			return
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		v.walk(c, st, depth+1)
	}
}

// hiddenWhy says why element n hides its content, or "" when it does not;
// it updates st with n's colour and background.
func (v *Visibility) hiddenWhy(n *html.Node, st *style) string {
	before := *st
	switch n.DataAtom {
	case atom.Template:
		return "<template>"
	case atom.Script, atom.Style, atom.Head, atom.Title, atom.Noscript, atom.Object, atom.Embed:
		return "" // not rendered as text by mail clients; the renderer drops them
	}
	for _, a := range n.Attr {
		switch a.Key {
		case "hidden":
			return "hidden attribute"
		case "bgcolor":
			if c := parseColor(a.Val); c.known {
				st.bg = c
			}
		case "color":
			if n.DataAtom == atom.Font {
				if c := parseColor(a.Val); c.known {
					st.color = c
				}
			}
		}
	}
	decls := v.declsOf(n)
	var (
		absolute, overflowHidden bool
		zeroHeight, zeroWidth    bool
		colorSet                 bool
		why                      string
	)
	for _, d := range decls {
		switch d.prop {
		case "display":
			if d.val == "none" {
				why = "display:none"
			} else if why == "display:none" {
				why = "" // a later rule shows it again
			}
		case "visibility":
			if d.val == "hidden" || d.val == "collapse" {
				why = "visibility:hidden"
			}
		case "opacity":
			if f, ok := parseNumber(d.val); ok && f <= 0.05 {
				why = "opacity:" + d.val
			}
		case "font-size":
			if tinyFont(d.val) {
				why = "font-size:" + d.val
			}
		case "mso-hide":
			if d.val == "all" {
				why = "mso-hide:all"
			}
		case "color":
			st.color, colorSet = parseColor(d.val), true
		case "background-color":
			st.bg = parseColor(d.val)
		case "background":
			if strings.Contains(d.val, "url(") || strings.Contains(d.val, "gradient") {
				st.bg = rgb{}
			} else if c := parseColor(firstColorWord(d.val)); c.known {
				st.bg = c
			}
		case "background-image":
			if d.val != "none" {
				st.bg = rgb{}
			}
		case "position":
			absolute = d.val == "absolute" || d.val == "fixed"
		case "left", "top", "right", "margin-left", "margin-top":
			if px, ok := parseLength(d.val); ok && px <= -500 {
				why = "off-screen " + d.prop + ":" + d.val
			}
		case "text-indent":
			if px, ok := parseLength(d.val); ok && px <= -500 {
				why = "text-indent:" + d.val
			}
		case "transform":
			if strings.Contains(d.val, "scale(0") && !strings.Contains(d.val, "scale(0.") {
				why = "transform:" + d.val
			}
		case "overflow":
			overflowHidden = d.val == "hidden"
		case "height", "max-height":
			if px, ok := parseLength(d.val); ok && px <= 1 {
				zeroHeight = true
			}
		case "width", "max-width":
			if px, ok := parseLength(d.val); ok && px <= 1 {
				zeroWidth = true
			}
		case "clip":
			if strings.HasPrefix(d.val, "rect(0") && absolute {
				why = "clip:" + d.val
			}
		case "clip-path":
			if strings.Contains(d.val, "inset(50%") || strings.Contains(d.val, "inset(100%") {
				why = "clip-path:" + d.val
			}
		}
	}
	if why != "" {
		return why
	}
	if overflowHidden && (zeroHeight || zeroWidth) {
		return "zero-size box with overflow:hidden"
	}
	if *st != before && st.color.known && st.bg.known && nearColor(st.color, st.bg) {
		return "text colour equal to its background"
	}
	if colorSet && !st.color.known && transparentColor(decls) {
		return "transparent text"
	}
	return ""
}

func transparentColor(decls []decl) bool {
	for _, d := range decls {
		if d.prop == "color" && (d.val == "transparent" || strings.HasSuffix(strings.ReplaceAll(d.val, " ", ""), ",0)")) {
			return true
		}
	}
	return false
}

// nearColor reports whether two colours are too near to read one on the other.
func nearColor(a, b rgb) bool {
	d := func(x, y int) int {
		if x > y {
			return x - y
		}
		return y - x
	}
	return d(a.r, b.r)+d(a.g, b.g)+d(a.b, b.b) <= 24
}

func firstColorWord(v string) string {
	if i := strings.Index(v, "rgb"); i >= 0 {
		if j := strings.IndexByte(v[i:], ')'); j >= 0 {
			return v[i : i+j+1]
		}
	}
	for _, f := range strings.Fields(v) {
		if c := parseColor(f); c.known {
			return f
		}
	}
	return ""
}

var namedColors = map[string]rgb{
	"white": white, "black": black, "red": {255, 0, 0, true}, "green": {0, 128, 0, true},
	"blue": {0, 0, 255, true}, "yellow": {255, 255, 0, true}, "gray": {128, 128, 128, true},
	"grey": {128, 128, 128, true}, "silver": {192, 192, 192, true}, "whitesmoke": {245, 245, 245, true},
	"snow": {255, 250, 250, true}, "ivory": {255, 255, 240, true}, "navy": {0, 0, 128, true},
	"orange": {255, 165, 0, true}, "purple": {128, 0, 128, true}, "lightgray": {211, 211, 211, true},
	"lightgrey": {211, 211, 211, true}, "darkgray": {169, 169, 169, true}, "ghostwhite": {248, 248, 255, true},
}

// parseColor reads #rgb, #rrggbb, rgb()/rgba() and a few names.
func parseColor(s string) rgb {
	s = strings.ToLower(strings.TrimSpace(s))
	if c, ok := namedColors[s]; ok {
		return c
	}
	if strings.HasPrefix(s, "#") {
		h := s[1:]
		if len(h) == 3 || len(h) == 4 {
			h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
		}
		if len(h) == 8 {
			if a, err := strconv.ParseUint(h[6:], 16, 8); err == nil && a == 0 {
				return rgb{} // fully transparent
			}
			h = h[:6]
		}
		if len(h) != 6 {
			return rgb{}
		}
		n, err := strconv.ParseUint(h, 16, 32)
		if err != nil {
			return rgb{}
		}
		return rgb{int(n >> 16 & 0xff), int(n >> 8 & 0xff), int(n & 0xff), true}
	}
	if strings.HasPrefix(s, "rgb") {
		open, end := strings.IndexByte(s, '('), strings.IndexByte(s, ')')
		if open < 0 || end < open {
			return rgb{}
		}
		parts := strings.FieldsFunc(s[open+1:end], func(r rune) bool { return r == ',' || r == ' ' || r == '/' })
		if len(parts) < 3 {
			return rgb{}
		}
		var c [3]int
		for i := 0; i < 3; i++ {
			p := parts[i]
			if strings.HasSuffix(p, "%") {
				f, err := strconv.ParseFloat(strings.TrimSuffix(p, "%"), 64)
				if err != nil {
					return rgb{}
				}
				c[i] = int(f * 2.55)
			} else {
				f, err := strconv.ParseFloat(p, 64)
				if err != nil {
					return rgb{}
				}
				c[i] = int(f)
			}
		}
		if len(parts) >= 4 {
			if f, ok := parseNumber(parts[3]); ok && f <= 0.05 {
				return rgb{}
			}
		}
		return rgb{c[0], c[1], c[2], true}
	}
	return rgb{}
}

func parseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	pct := strings.HasSuffix(s, "%")
	f, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil {
		return 0, false
	}
	if pct {
		f /= 100
	}
	return f, true
}

// parseLength reads a CSS length in px (pt, em and rem converted at 16px
// to the em; a bare number is px); percentages and keywords fail.
func parseLength(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	unit := 1.0
	for _, u := range []struct {
		suffix string
		px     float64
	}{{"px", 1}, {"pt", 4.0 / 3}, {"rem", 16}, {"em", 16}, {"cm", 37.8}, {"mm", 3.78}, {"in", 96}} {
		if strings.HasSuffix(s, u.suffix) {
			s, unit = strings.TrimSuffix(s, u.suffix), u.px
			break
		}
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, false
	}
	return f * unit, true
}

// tinyFont reports a font size below what anyone reads (under 4px).
func tinyFont(v string) bool {
	if px, ok := parseLength(v); ok {
		return px < 4
	}
	if f, ok := parseNumber(v); ok && strings.HasSuffix(v, "%") {
		return f < 0.25
	}
	return false
}
