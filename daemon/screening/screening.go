// Package screening looks at inbound mail for what is aimed at an agent
// rather than at a human reader: text hidden by HTML and CSS, invisible
// Unicode, instructions addressed to an AI, requests to send secrets or
// mail elsewhere, links whose text names another host than their target,
// failed sender authentication and dangerous attachments. It is
// deterministic and local: no outside service, no model. DESIGN §11 and
// docs/screening.md describe the contract.
package screening

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/net/publicsuffix"

	"gent/models"
)

// Attachment is what screening looks at of an attachment.
type Attachment struct {
	Filename    string
	ContentType string
}

// Input is an inbound message as screening sees it.
type Input struct {
	Subject string
	Text    string // the text/plain body
	HTML    string // the text/html body
	// Document is HTML already parsed (ParseDocument(HTML)), when the
	// caller has it; nil: Screen parses HTML.
	Document    *Document
	Attachments []Attachment
	Auth        *models.AuthResults
}

// DefaultQuarantineAt is the score at or above which a message is
// quarantined unless the inbox says otherwise.
const DefaultQuarantineAt = 70

// SuspiciousAt is the score at or above which a message not quarantined
// is suspicious.
const SuspiciousAt = 20

// Weights of the findings (docs/screening.md explains them). A finding
// in content a reader does not see (hidden HTML, tag characters, an HTML
// comment) weighs hiddenBonus more: nothing legitimate speaks to the
// agent where the human cannot read it.
const (
	wHidden         = 10
	wInvisibleTags  = 40
	wInvisibleBidi  = 20
	wInvisibleZW    = 15
	wInjection      = 70
	wInjectionWeak  = 35
	wExfiltration   = 50
	wLinkMismatch   = 20
	wLinkMismatches = 30 // two or more
	wAuthFailed     = 30
	wExecutable     = 50
	wMacro          = 40
	hiddenBonus     = 25
)

// Screen screens one message. It never fails: what it cannot parse it
// does not find.
func Screen(in Input) models.Screening {
	sc := &scan{weights: map[string]int{}}
	defer sc.release()
	// Where an agent could read text: subject, plain body, and the HTML
	// body split into what a reader sees and what is hidden.
	sc.text("subject", in.Subject, false)
	sc.text("text body", in.Text, false)
	if d := in.Document; d != nil {
		sc.html(d, len(in.HTML))
	} else if in.HTML != "" {
		if d := ParseDocument(in.HTML); d != nil {
			sc.html(d, len(in.HTML))
		}
	}
	sc.auth(in.Auth)
	sc.attachments(in.Attachments)
	return sc.result()
}

// Verdict turns a score into a verdict against a quarantine threshold;
// authFailed with hideUnauthenticated quarantines too.
func Verdict(s models.Screening, quarantineAt int, hideUnauthenticated bool) string {
	if s.Score >= quarantineAt && s.Score > 0 {
		return models.VerdictQuarantined
	}
	if hideUnauthenticated {
		for _, f := range s.Findings {
			if f.Code == models.FindingAuthFailed {
				return models.VerdictQuarantined
			}
		}
	}
	if s.Score >= SuspiciousAt {
		return models.VerdictSuspicious
	}
	return models.VerdictClean
}

type scan struct {
	findings []models.Finding
	weights  map[string]int // code → weight (the highest of its findings)
	seen     map[string]bool
	ix       *textIndex // reused by every text scanned, from indexes
}

// indexes keeps text indexes (their position slices) from message to
// message.
var indexes = sync.Pool{New: func() any { return new(textIndex) }}

func (s *scan) release() {
	if s.ix != nil && s.ix.size() <= 64<<10 {
		s.ix.s = ""
		indexes.Put(s.ix)
	}
	s.ix = nil
}

// add records a finding; one finding per code and place.
func (s *scan) add(code, where, detail string, weight int) {
	key := code + "|" + where
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	if s.seen[key] {
		return
	}
	s.seen[key] = true
	if len(s.findings) < 20 {
		d := detail
		if w := strings.TrimSpace(where); w != "" {
			d = w + ": " + detail
		}
		s.findings = append(s.findings, models.Finding{Code: code, Detail: d})
	}
	if weight > s.weights[code] {
		s.weights[code] = weight
	}
}

func (s *scan) result() models.Screening {
	score := 0
	for _, w := range s.weights {
		score += w
	}
	score = min(score, 100)
	out := models.Screening{Score: score, Findings: s.findings}
	if out.Findings == nil {
		out.Findings = []models.Finding{}
	}
	out.Verdict = Verdict(out, DefaultQuarantineAt, false)
	return out
}

// maxScan bounds how much of one text the patterns read.
const maxScan = 256 << 10

// text scans one piece of text: invisible characters, then (folded and
// de-spaced) the injection and exfiltration patterns. hidden says the
// reader never sees it.
func (s *scan) text(where, t string, hidden bool) {
	if t == "" {
		return
	}
	if len(t) > maxScan {
		t = t[:maxScan]
	}
	inv := scanInvisible(t)
	if inv.tags > 0 {
		s.add(models.FindingInvisibleUnicode, where, fmt.Sprintf("%d Unicode tag characters", inv.tags), wInvisibleTags)
		if inv.tagText != "" {
			s.text(where+" (spelled by tag characters)", inv.tagText, true)
		}
	}
	if inv.bidi > 0 {
		s.add(models.FindingInvisibleUnicode, where+" ", fmt.Sprintf("%d bidirectional control characters", inv.bidi), wInvisibleBidi)
	}
	if inv.longRun >= 3 || inv.zeroWidth >= 20 {
		s.add(models.FindingInvisibleUnicode, where+"  ", fmt.Sprintf("%d zero-width characters (a run of %d)", inv.zeroWidth, inv.longRun), wInvisibleZW)
	}
	s.patterns(where, fold(t), hidden)
	// Base64-looking blocks may carry the same words encoded.
	for _, blk := range base64Blocks(t, 8) {
		if dec, ok := decodeB64(blk); ok {
			s.patterns(where+" (base64 block)", fold(dec), true)
		}
	}
}

func (s *scan) patterns(where, folded string, hidden bool) {
	bonus := 0
	if hidden {
		bonus = hiddenBonus
	}
	variants := []string{folded}
	if j := joinSpaced(folded); j != folded {
		variants = append(variants, j)
	}
	if s.ix == nil {
		s.ix = indexes.Get().(*textIndex)
	}
	ix := s.ix
	for _, variant := range variants {
		ix.build(variant)
		if m, _ := ix.around(strongInjection); m != "" {
			s.add(models.FindingInstructionInjection, where, quote(m), wInjection+bonus)
		} else if m, _ := ix.around(weakInjection); m != "" {
			s.add(models.FindingInstructionInjection, where, quote(m), wInjectionWeak+bonus)
		}
		if m, at := ix.around(exfiltration); m != "" && !negated(variant, at) {
			s.add(models.FindingExfiltrationRequest, where, quote(m), wExfiltration+bonus)
		}
	}
}

// negated reports a "never", "don't" or "do not" just before i: "we will
// never ask you to send your password" is advice, not a request.
func negated(s string, i int) bool {
	before := s[max(0, i-40):i]
	for _, n := range []string{"never", "don't", "do not", "dont", "won't", "will not", "not to", "nobody", "no one"} {
		if strings.Contains(before, n) {
			return true
		}
	}
	return false
}

func quote(m string) string {
	m = strings.Join(strings.Fields(m), " ")
	if utf8.RuneCountInString(m) > 80 {
		r := []rune(m)
		m = string(r[:80]) + "…"
	}
	return fmt.Sprintf("%q", m)
}

// base64Blocks returns up to n runs of 40 or more base64 characters. It
// looks at every 40th byte first: a run of 40 covers one of them.
func base64Blocks(t string, n int) []string {
	const minRun = 40
	var out []string
	// i is 0 or follows a byte that is not base64: no run starts before it.
	for i := 0; i+minRun <= len(t) && len(out) < n; {
		j := i + minRun - 1
		if !isBase64[t[j]] {
			i = j + 1
			continue
		}
		start, end := j, j+1
		for start > i && isBase64[t[start-1]] {
			start--
		}
		for end < len(t) && isBase64[t[end]] {
			end++
		}
		if end-start >= minRun {
			out = append(out, t[start:end])
		}
		i = end + 1
	}
	return out
}

// isBase64 marks the bytes of the base64 alphabet and its padding.
var isBase64 = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") {
		t[c] = true
	}
	return t
}()

func decodeB64(s string) (string, bool) {
	s = strings.TrimRight(s, "=")
	b, err := base64.RawStdEncoding.DecodeString(s[:len(s)/4*4])
	if err != nil || len(b) == 0 {
		return "", false
	}
	printable := 0
	for _, c := range b {
		if c == '\n' || c == '\r' || c == '\t' || (c >= 0x20 && c < 0x7f) {
			printable++
		}
	}
	return string(b), printable*10 >= len(b)*9
}

// html scans an HTML body of size bytes: the visible text as text, the
// hidden text and comments as hidden, and the links.
func (s *scan) html(d *Document, size int) {
	w := &htmlWalk{v: d.Vis}
	w.visible.Grow(min(size, maxCollect))
	w.walk(d.Root, false, "", 0)
	s.text("HTML body", w.visible.String(), false)
	if strings.TrimSpace(w.hidden.String()) != "" {
		hiddenText := strings.Join(strings.Fields(w.hidden.String()), " ")
		if utf8.RuneCountInString(hiddenText) >= 1 {
			s.add(models.FindingHiddenText, "", fmt.Sprintf("%d characters hidden by %s: %s", utf8.RuneCountInString(hiddenText),
				w.firstWhy, quote(hiddenText)), wHidden)
		}
		s.text("hidden HTML ("+w.firstWhy+")", w.hidden.String(), true)
	}
	if w.comments.Len() > 0 {
		s.text("HTML comment", w.comments.String(), true)
	}
	mismatched := 0
	for _, l := range w.links {
		if d := linkMismatch(l.href, l.text); d != "" {
			mismatched++
			wgt := wLinkMismatch
			if mismatched > 1 {
				wgt = wLinkMismatches
			}
			s.add(models.FindingLinkMismatch, fmt.Sprintf("link %d", mismatched), d, wgt)
		}
	}
}

type link struct{ href, text string }

type htmlWalk struct {
	v                 *Visibility
	visible, hidden   strings.Builder
	comments          strings.Builder
	firstWhy          string
	links             []link
	linkText          *strings.Builder
	curHref           string
	linkTextTruncated bool
}

const maxCollect = 256 << 10

func (w *htmlWalk) walk(n *html.Node, hidden bool, why string, depth int) {
	if depth > maxDepth {
		return
	}
	switch n.Type {
	case html.CommentNode:
		if w.comments.Len() < maxCollect {
			w.comments.WriteString(n.Data + "\n")
		}
		return
	case html.TextNode:
		dst := &w.visible
		if hidden {
			dst = &w.hidden
		} else if w.linkText != nil && w.linkText.Len() < 500 {
			w.linkText.WriteString(n.Data)
		}
		if dst.Len() < maxCollect {
			dst.WriteString(n.Data)
			dst.WriteByte(' ')
		}
		return
	case html.ElementNode:
		if n.DataAtom == 0 {
			// An element HTML does not know (<tool_call>, <system>,
			// <invoke>): the parser made markup of what an agent reading
			// the HTML sees as text, so it is scanned as text.
			dst := &w.visible
			if hidden || w.v.Hidden(n) {
				dst = &w.hidden
			}
			if dst.Len() < maxCollect && len(n.Data) < 64 {
				dst.WriteString(" <" + n.Data + "> ")
			}
		}
		switch n.DataAtom {
		case atom.Script, atom.Style, atom.Head, atom.Title, atom.Noscript:
			return
		case atom.P, atom.Div, atom.Br, atom.Tr, atom.Li, atom.Td, atom.H1, atom.H2, atom.H3, atom.Table:
			if hidden {
				w.hidden.WriteByte('\n')
			} else {
				w.visible.WriteByte('\n')
			}
		}
		if !hidden && w.v.Hidden(n) {
			hidden, why = true, w.v.hidden[n]
			if w.firstWhy == "" {
				w.firstWhy = why
			}
		}
		if n.DataAtom == atom.A && !hidden && w.linkText == nil {
			for _, a := range n.Attr {
				if a.Key == "href" {
					w.curHref = a.Val
				}
			}
			if w.curHref != "" && len(w.links) < 200 {
				var b strings.Builder
				w.linkText = &b
				defer func() {
					w.links = append(w.links, link{w.curHref, b.String()})
					w.linkText, w.curHref = nil, ""
				}()
			}
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		w.walk(c, hidden, why, depth+1)
	}
}

var hostInText = regexp.MustCompile(`(?i)^(https?://)?(www\.)?([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.[a-z]{2,24})(?::\d+)?(?:[/?#]\S*)?$`)

// linkMismatch reports a link whose text is a host name or URL of another
// registered domain than the link's target.
func linkMismatch(href, text string) string {
	text = strings.TrimSpace(Strip(text))
	m := hostInText.FindStringSubmatch(text)
	if m == nil {
		return ""
	}
	shown := strings.ToLower(m[3])
	u, err := url.Parse(strings.TrimSpace(href))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return ""
	}
	target := strings.ToLower(u.Hostname())
	a, err1 := publicsuffix.EffectiveTLDPlusOne(shown)
	b, err2 := publicsuffix.EffectiveTLDPlusOne(target)
	if err1 != nil || err2 != nil || a == b {
		return ""
	}
	return fmt.Sprintf("the text shows %s but the link goes to %s", shown, target)
}

func (s *scan) auth(a *models.AuthResults) {
	if a == nil {
		return
	}
	spfFail := a.SPF == "fail" || a.SPF == "softfail"
	switch {
	case a.DMARC == "fail":
		s.add(models.FindingAuthFailed, "", fmt.Sprintf("DMARC fail (spf=%s, dkim=%s)", a.SPF, a.DKIM), wAuthFailed)
	case spfFail && a.DKIM == "fail":
		s.add(models.FindingAuthFailed, "", fmt.Sprintf("SPF %s and DKIM fail", a.SPF), wAuthFailed)
	}
}

var (
	executableExt = map[string]bool{
		"exe": true, "scr": true, "com": true, "bat": true, "cmd": true, "pif": true, "vbs": true, "vbe": true,
		"js": true, "jse": true, "wsf": true, "wsh": true, "msi": true, "msp": true, "hta": true, "cpl": true,
		"jar": true, "ps1": true, "psm1": true, "lnk": true, "reg": true, "dll": true, "apk": true, "iso": true,
		"img": true, "vhd": true, "vhdx": true, "msc": true, "scf": true, "appref-ms": true, "sh": true, "command": true,
	}
	macroExt = map[string]bool{
		"docm": true, "dotm": true, "xlsm": true, "xltm": true, "xlam": true, "pptm": true, "potm": true,
		"ppam": true, "ppsm": true, "sldm": true, "xlsb": true,
	}
	executableTypes = []string{"application/x-msdownload", "application/x-dosexec", "application/x-msdos-program",
		"application/x-executable", "application/vnd.microsoft.portable-executable", "application/x-ms-shortcut",
		"application/hta", "application/x-sh", "application/java-archive", "application/x-msi"}
)

func (s *scan) attachments(atts []Attachment) {
	for i, a := range atts {
		if i >= 100 {
			return
		}
		name := strings.ToLower(strings.TrimSpace(Strip(a.Filename)))
		ext := strings.TrimPrefix(path.Ext(name), ".")
		ct := strings.ToLower(a.ContentType)
		where := fmt.Sprintf("attachment %q", a.Filename)
		switch {
		case executableExt[ext]:
			w := wExecutable
			if inner := strings.TrimPrefix(path.Ext(strings.TrimSuffix(name, "."+ext)), "."); inner != "" && len(inner) <= 4 {
				w += 10 // invoice.pdf.exe
			}
			s.add(models.FindingDangerousAttachment, where, "an executable (."+ext+")", w)
		case macroExt[ext] || strings.Contains(ct, "macroenabled"):
			s.add(models.FindingDangerousAttachment, where, "a document with macros (."+ext+")", wMacro)
		default:
			for _, t := range executableTypes {
				if strings.HasPrefix(ct, t) {
					s.add(models.FindingDangerousAttachment, where, "an executable ("+ct+")", wExecutable)
					break
				}
			}
		}
		if scanInvisible(a.Filename).bidi > 0 {
			s.add(models.FindingDangerousAttachment, where+" ", "its name hides its extension with a bidi control", wExecutable)
		}
	}
}
