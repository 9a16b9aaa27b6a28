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
	id                                 int
	n                                  int
	spaceBefore, wordBefore, wordAfter bool
}

// The literals of every pattern, found together by one scan: literals
// holds them by id. The first two bytes of a literal lead to the
// candidates starting with them through small tables that stay in the
// CPU's first cache: byFirst[b0] is a row of bySecond (row 0 is all
// zeros), bySecond[row][b1] a span of cands (0 for none). They are made by
// init, once every pattern has named its literals.
var (
	literals []string
	literalN = map[string]int{}
	byFirst  [256]uint8
	bySecond [][256]uint8
	spans    []struct{ from, to uint8 }
	cands    []cand
)

// cand is a literal as the scan compares it: its first four bytes (fewer
// for a shorter literal) as a little-endian word and the mask of those
// bytes, then the rest.
type cand struct {
	head, mask uint32
	id         uint16
	n          uint16
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
	return id
}

func init() {
	byPair := map[string][]int{}
	var order []string
	for id, s := range literals {
		if byPair[s[:2]] == nil {
			order = append(order, s[:2])
		}
		byPair[s[:2]] = append(byPair[s[:2]], id)
	}
	if len(literals) > 255 || len(order) > 254 {
		panic("screening: too many literals")
	}
	bySecond = [][256]uint8{{}}
	spans = append(spans, struct{ from, to uint8 }{})
	for _, pair := range order {
		if byFirst[pair[0]] == 0 {
			byFirst[pair[0]] = uint8(len(bySecond))
			bySecond = append(bySecond, [256]uint8{})
		}
		bySecond[byFirst[pair[0]]][pair[1]] = uint8(len(spans))
		from := len(cands)
		for _, id := range byPair[pair] {
			s := literals[id]
			c := cand{id: uint16(id), n: uint16(len(s))}
			for k := 0; k < len(s) && k < 4; k++ {
				c.head |= uint32(s[k]) << (8 * k)
				c.mask |= 0xff << (8 * k)
			}
			cands = append(cands, c)
		}
		spans = append(spans, struct{ from, to uint8 }{uint8(from), uint8(len(cands))})
	}
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
					s, l.wordAfter = t, true
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
// order: at[start[id]:start[id+1]] for literal id. Its slices are reused
// from text to text.
type textIndex struct {
	s     string
	hits  []hit
	start []int32
	at    []int32
}

// hit is one occurrence of a literal, as the scan finds them.
type hit struct {
	id  uint16
	pos int32
}

// size is how many positions ix has room for.
func (ix *textIndex) size() int { return cap(ix.hits) + cap(ix.at) }

// positions returns where literal id occurs.
func (ix *textIndex) positions(id int) []int32 { return ix.at[ix.start[id]:ix.start[id+1]] }

// build scans s once for every literal, then groups the occurrences by
// literal.
func (ix *textIndex) build(s string) {
	ix.s = s
	hits := ix.hits[:0]
	for i := 0; i+1 < len(s); i++ {
		c := bySecond[byFirst[s[i]]][s[i+1]]
		if c == 0 {
			continue
		}
		sp := spans[c]
		if i+4 > len(s) { // the last bytes: compare whole literals
			for _, l := range cands[sp.from:sp.to] {
				if int(l.n) <= len(s)-i && s[i:i+int(l.n)] == literals[l.id] {
					hits = append(hits, hit{l.id, int32(i)})
				}
			}
			continue
		}
		w := uint32(s[i]) | uint32(s[i+1])<<8 | uint32(s[i+2])<<16 | uint32(s[i+3])<<24
		for _, l := range cands[sp.from:sp.to] {
			if w&l.mask == l.head && (l.n <= 4 || int(l.n) <= len(s)-i && s[i+4:i+int(l.n)] == literals[l.id][4:]) {
				hits = append(hits, hit{l.id, int32(i)})
			}
		}
	}
	ix.hits = hits
	// Group by literal (a counting sort; each group stays in text order).
	if len(ix.start) != len(literals)+1 {
		ix.start = make([]int32, len(literals)+1)
	}
	clear(ix.start)
	for _, h := range hits {
		ix.start[h.id+1]++
	}
	for id := 1; id < len(ix.start); id++ {
		ix.start[id] += ix.start[id-1]
	}
	ix.at = slices.Grow(ix.at[:0], len(hits))[:len(hits)]
	for _, h := range hits {
		// start[id] is moved on as the group fills, then moved back.
		ix.at[ix.start[h.id]] = h.pos
		ix.start[h.id]++
	}
	for id := len(ix.start) - 1; id > 0; id-- {
		ix.start[id] = ix.start[id-1]
	}
	ix.start[0] = 0
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// has reports whether l occurs inside s[lo:hi] as it must. With anyWindow
// (the whole text, for some window of it) word boundaries are not asked
// for: a window's edge can make one anywhere.
func (ix *textIndex) has(l lit, lo, hi int, anyWindow bool) bool {
	ps := ix.positions(l.id)
	j, _ := slices.BinarySearch(ps, int32(lo))
	for ; j < len(ps) && int(ps[j])+l.n <= hi; j++ {
		p := int(ps[j])
		switch {
		case l.spaceBefore && (p == lo || !isSpace(ix.s[p-1])):
		case anyWindow:
			return true
		case l.wordBefore && p > lo && isWordByte(ix.s[p-1]):
		case l.wordAfter && p+l.n < hi && isWordByte(ix.s[p+l.n]):
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
		for _, at := range ix.positions(id) {
			i := int(at)
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
