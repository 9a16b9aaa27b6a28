package screening

import (
	"regexp"
	"slices"
	"strings"
)

// The text patterns. Each is a regular expression run on windows of the
// folded text around occurrences of its keys (a regexp alternation this
// size costs about a microsecond per byte, so it never runs over a whole
// text), and only on the windows where its gate holds: literals that every
// match of the expression contains. One scan of the text (textIndex)
// finds every key and gate literal of the three patterns; on ordinary
// mail most windows then fail their gate and the expression never runs.
// The gate only skips windows where the expression cannot match, so the
// findings are those of running it on every window (TestGateAgreesWithRegexp).
var (
	strongInjection = newPattern(
		`(ignore|disregard|forget|override|bypass|skip)\s+(all\s+|any\s+|the\s+|of\s+)*(your\s+|my\s+)?(previous|prior|above|earlier|preceding|former|original|existing|system|safety)\s+(instructions?|prompts?|directions?|directives?|rules|guidelines|messages?|context|commands?)`+
			`|new\s+system\s+prompt|system\s+prompt\s*:|\bsystem\s+override\b|<\|?im_start\|?>|<\|(system|assistant|user)\|>|\[/?inst\]|<<sys>>|</?system>`+
			`|you\s+are\s+now\s+(in\s+)?(developer|dan|god|admin|jailbreak|unrestricted)\s+mode|enable\s+(developer|dan|jailbreak)\s+mode`+
			`|</?(tool_call|function_calls?|tool_use|invoke)[\s>]|"(function_call|tool_calls?)"\s*:|\btool_code\b`+
			`|(ai|llm|language\s+model|assistant|agent)s?\s*(reading|processing|summari[sz]ing)\s+this[^.\n]{0,40}\b(must|should|are\s+instructed|need\s+to)\b`,
		[]string{"ignore", "disregard", "forget", "override", "bypass", "skip", "system", "im_start", "<|",
			"[inst", "[/inst", "<<sys", " mode", "tool_c", "function_call", "tool_use", "invoke", "reading this",
			"processing this", "summarizing this", "summarising this"},
		60, 200,
		gate{ // one clause per group of alternatives above
			{{"ignore", "disregard", "forget", "override", "bypass", "skip"},
				{"previous", "prior", "above", "earlier", "preceding", "former", "original", "existing", "system", "safety"},
				{"instruction", "prompt", "direction", "directive", "rules", "guidelines", "message", "context", "command"}},
			{{"system"}, {"prompt", "override"}},
			{{"im_start", "<|", "inst]", "<<sys>>", "system>", "tool_call", "function_call", "tool_use", "invoke", "tool_code"}},
			{{`\smode`}, {"developer", "dan", "god", "admin", "jailbreak", "unrestricted"}},
			{{"ai", "llm", "model", "assistant", "agent"}, {"reading", "processing", "summarising", "summarizing"},
				{`\sthis`}, {"must", "should", "instructed", "need"}},
		})
	weakInjection = newPattern(
		`\b(if\s+you\s+are\s+an?\s+(ai|llm|language\s+model|assistant|bot|agent)|attention\s+(ai|llm|assistant|agent)\b|note\s+to\s+(the\s+)?(ai|llm|assistant|agent)\b|dear\s+(ai|llm|assistant|agent)\b|as\s+an?\s+ai\s+(assistant|agent|model),?\s+you\s+(must|should|will)|do\s+not\s+(tell|inform|alert|notify)\s+(the\s+)?(user|human|owner)|without\s+(telling|informing|notifying)\s+(the\s+)?(user|human|owner))`,
		[]string{"you are a", "attention", "note to", "dear ", "as an ai", "as a ai", "do not ", "without "},
		10, 120,
		gate{
			{{"you"}, {"are"}, {`\sai`, `\sllm`, `\slanguage`, `\sassistant`, `\sbot`, `\sagent`}},
			{{"attention", "note", "dear"}, {`\sai`, `\sllm`, `\sassistant`, `\sagent`}},
			{{`\sai`}, {`\sassistant`, `\sagent`, `\smodel`}, {`\syou`}, {"must", "should", "will"}},
			{{"not", "without"}, {`\stell`, `\sinform`, `\salert`, `\snotify`}, {`\suser`, `\shuman`, `\sowner`}},
		})
	exfiltration = newPattern(
		`\b(forward|send|email|e-mail|mail|share|post|upload|paste|reply\s+with|respond\s+with|reveal|leak|include|output|print|exfiltrate|copy|give\s+(me|us))\b[^.\n]{0,60}?\b(api[\s_-]?keys?|access[\s_-]?keys?|secret[\s_-]?keys?|private[\s_-]?keys?|ssh[\s_-]?keys?|tokens?|passwords?|passcodes?|credentials?|secrets|2fa\s+codes?|otp\s+codes?|recovery\s+codes?|session\s+cookies?|\.env\b|environment\s+variables|system\s+prompt|(all|every|each|the\s+last\s+\d+|your|the\s+user'?s?|their)\s+(e-?mails?|mails?|messages|correspondence|inbox(es)?|conversations|threads|attachments|contacts))`+
			`|\b(forward|send|copy|bcc)\s+(a\s+copy\s+of\s+)?(all|every|each)\s+(incoming\s+|future\s+|new\s+)?(e-?mails?|mails?|messages)\b`,
		[]string{"key", "token", "password", "passcode", "credential", "secret", "code", "cookie", ".env",
			"environment", "system prompt", "mail", "message", "correspondence", "inbox", "conversation", "thread",
			"attachment", "contact"},
		90, 60,
		gate{
			// A verb standing as a word ("e-mail" has "mail" as one), then
			// what is asked for.
			{{`\bforward\b`, `\bsend\b`, `\bemail\b`, `\bmail\b`, `\bshare\b`, `\bpost\b`, `\bupload\b`, `\bpaste\b`,
				`\breply\b`, `\brespond\b`, `\breveal\b`, `\bleak\b`, `\binclude\b`, `\boutput\b`, `\bprint\b`,
				`\bexfiltrate\b`, `\bcopy\b`, `\bgive\b`, `\bbcc\b`},
				{"key", "token", "password", "credential", "secrets", "code", "cookie", ".env", "variables", "prompt",
					"mail", "messages", "correspondence", "inbox", "conversations", "threads", "attachments", "contacts"}},
		})
)

// maxWindows bounds the windows one keyword opens in one text.
const maxWindows = 64

// A gate is a condition every match of a pattern's expression meets,
// cheap to test on a window: one of its clauses (one per group of
// alternatives of the expression) has, for each of its groups, one of
// the group's literals inside the window. A literal is plain text, with
// `\s` in front when a white-space character (as the expression's \s
// reads it) must precede it in the window, or `\b` in front or behind
// for a word boundary there (the window's edges count as boundaries, as
// they do for the expression run on the window).
type gate [][][]string

type pattern struct {
	re            *regexp.Regexp
	keys          []int // literal ids of the keys, in order
	keyLens       []int
	before, after int
	gate          [][][]lit
}

// lit is a gate literal: a text literal and what must surround it.
type lit struct {
	id                              int
	n                               int
	spaceBefore, wordBefore, wordAt bool
}

// The literals of every pattern, found together by one scan: literals
// holds them by id; the first two bytes of a literal lead to the literals
// starting with them through two small tables, which stay in the CPU's
// first cache: byFirst[b0] is a row of bySecond (row 0 is all zeros),
// bySecond[row][b1] an index into pairs (0 for none).
var (
	literals []string
	literalN = map[string]int{}
	byFirst  [256]uint8
	bySecond = [][256]uint8{{}}
	pairs    = [][]pairLit{nil}
)

// pairLit is a literal in pairs, with its first four bytes (fewer for a
// shorter literal) as a little-endian word and the mask of those bytes.
type pairLit struct {
	id         int
	s          string
	head, mask uint32
}

func literalID(s string) int {
	if id, ok := literalN[s]; ok {
		return id
	}
	if len(s) < 2 {
		panic("screening: literal shorter than two bytes: " + s)
	}
	id := len(literals)
	literals = append(literals, s)
	literalN[s] = id
	if byFirst[s[0]] == 0 {
		byFirst[s[0]] = uint8(len(bySecond))
		bySecond = append(bySecond, [256]uint8{})
	}
	row := &bySecond[byFirst[s[0]]]
	if row[s[1]] == 0 {
		if len(pairs) == 255 || len(bySecond) == 256 {
			panic("screening: too many literals")
		}
		row[s[1]] = uint8(len(pairs))
		pairs = append(pairs, nil)
	}
	l := pairLit{id: id, s: s}
	for k := 0; k < len(s) && k < 4; k++ {
		l.head |= uint32(s[k]) << (8 * k)
		l.mask |= 0xff << (8 * k)
	}
	pairs[row[s[1]]] = append(pairs[row[s[1]]], l)
	return id
}

func newPattern(expr string, keys []string, before, after int, g gate) *pattern {
	p := &pattern{re: regexp.MustCompile(expr), before: before, after: after}
	for _, k := range keys {
		p.keys = append(p.keys, literalID(k))
		p.keyLens = append(p.keyLens, len(k))
	}
	for _, clause := range g {
		var c [][]lit
		for _, group := range clause {
			var gr []lit
			for _, s := range group {
				var l lit
				if t, ok := strings.CutPrefix(s, `\s`); ok {
					s, l.spaceBefore = t, true
				}
				if t, ok := strings.CutPrefix(s, `\b`); ok {
					s, l.wordBefore = t, true
				}
				if t, ok := strings.CutSuffix(s, `\b`); ok {
					s, l.wordAt = t, true
				}
				l.id, l.n = literalID(s), len(s)
				gr = append(gr, l)
			}
			c = append(c, gr)
		}
		p.gate = append(p.gate, c)
	}
	return p
}

// textIndex holds where each literal occurs in one text, in increasing
// order. Its slices are reused from text to text.
type textIndex struct {
	s   string
	pos [][]int
}

// size is how many positions ix has room for.
func (ix *textIndex) size() int {
	n := 0
	for _, p := range ix.pos {
		n += cap(p)
	}
	return n
}

// build scans s once for every literal.
func (ix *textIndex) build(s string) {
	ix.s = s
	if len(ix.pos) < len(literals) {
		ix.pos = make([][]int, len(literals))
	}
	for i := range ix.pos {
		ix.pos[i] = ix.pos[i][:0]
	}
	for i := 0; i+1 < len(s); i++ {
		c := bySecond[byFirst[s[i]]][s[i+1]]
		if c == 0 {
			continue
		}
		if i+4 > len(s) { // the last bytes: compare whole literals
			for _, l := range pairs[c] {
				if len(l.s) <= len(s)-i && s[i:i+len(l.s)] == l.s {
					ix.pos[l.id] = append(ix.pos[l.id], i)
				}
			}
			continue
		}
		w := uint32(s[i]) | uint32(s[i+1])<<8 | uint32(s[i+2])<<16 | uint32(s[i+3])<<24
		for _, l := range pairs[c] {
			if w&l.mask == l.head && (len(l.s) <= 4 || len(l.s) <= len(s)-i && s[i+4:i+len(l.s)] == l.s[4:]) {
				ix.pos[l.id] = append(ix.pos[l.id], i)
			}
		}
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// has reports whether l occurs inside s[lo:hi] as it must. With anyWindow
// (the whole text, for some window of it) word boundaries are not asked
// for: a window's edge can make one anywhere.
func (ix *textIndex) has(l lit, lo, hi int, anyWindow bool) bool {
	ps := ix.pos[l.id]
	j, _ := slices.BinarySearch(ps, lo)
	for ; j < len(ps) && ps[j]+l.n <= hi; j++ {
		p := ps[j]
		switch {
		case l.spaceBefore && (p == lo || !isSpace(ix.s[p-1])):
		case anyWindow:
			return true
		case l.wordBefore && p > lo && isWordByte(ix.s[p-1]):
		case l.wordAt && p+l.n < hi && isWordByte(ix.s[p+l.n]):
		default:
			return true
		}
	}
	return false
}

// open reports whether p's gate holds on s[lo:hi] (anyWindow: on some
// window of it).
func (ix *textIndex) open(p *pattern, lo, hi int, anyWindow bool) bool {
clauses:
	for _, clause := range p.gate {
		for _, group := range clause {
			found := false
			for _, l := range group {
				if ix.has(l, lo, hi, anyWindow) {
					found = true
					break
				}
			}
			if !found {
				continue clauses
			}
		}
		return true
	}
	return false
}

// around finds a match of p in a window of p.before/p.after bytes around
// an occurrence of one of its keys in the indexed text, the keys taken in
// order and each one's occurrences from the first (at most maxWindows of
// them, not overlapping); it returns the match and its offset.
func (ix *textIndex) around(p *pattern) (string, int) {
	s := ix.s
	if !ix.open(p, 0, len(s), true) {
		return "", 0
	}
	for k, id := range p.keys {
		kn := p.keyLens[k]
		from, n := 0, 0
		for _, i := range ix.pos[id] {
			if n == maxWindows {
				break
			}
			if i < from {
				continue
			}
			n++
			lo, hi := max(0, i-p.before), min(len(s), i+kn+p.after)
			if ix.open(p, lo, hi, false) {
				if loc := p.re.FindStringIndex(s[lo:hi]); loc != nil {
					return s[lo+loc[0] : lo+loc[1]], lo + loc[0]
				}
			}
			from = i + kn
		}
	}
	return "", 0
}
