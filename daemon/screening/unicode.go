package screening

import (
	"strings"
	"unicode/utf8"
)

// Invisible characters. Tag characters (U+E0000–U+E007F) spell ASCII no
// one sees ("ASCII smuggling"); bidi controls reorder what is shown;
// zero-width characters split words a filter would match. ZWJ and ZWNJ
// are kept by Strip: emoji sequences and Persian or Indic text need them.
func isTag(r rune) bool { return r >= 0xE0000 && r <= 0xE007F }

func isBidi(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

func isZeroWidth(r rune) bool {
	switch r {
	case 0x200B, 0x200C, 0x200D, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xFEFF, 0x180E, 0x00AD, 0x034F,
		0x115F, 0x1160, 0x3164, 0xFFA0:
		return true
	}
	return false
}

// stripped is what Strip removes.
func stripped(r rune) bool {
	return isTag(r) || isBidi(r) || (isZeroWidth(r) && r != 0x200C && r != 0x200D) || r == 0x200E || r == 0x200F
}

// Strip removes invisible characters from text: tag characters, bidi
// controls and marks, zero-width spaces and joiners other than ZWJ and
// ZWNJ, soft hyphens and fillers. Text without any is returned as it is.
func Strip(s string) string {
	i := indexStripped(s)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for _, r := range s[i:] {
		if !stripped(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// indexStripped is strings.IndexFunc(s, stripped) without decoding every
// rune: each rune Strip removes is encoded from one of these lead bytes.
func indexStripped(s string) int {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case 0xC2, 0xCD, 0xE1, 0xE2, 0xE3, 0xEF, 0xF3:
			if r, _ := utf8.DecodeRuneInString(s[i:]); stripped(r) {
				return i
			}
		}
	}
	return -1
}

// invisibleScan is what scanInvisible found in one text.
type invisibleScan struct {
	tags      int
	tagText   string // the ASCII the tag characters spell
	bidi      int
	zeroWidth int
	longRun   int // the longest run of consecutive zero-width characters
}

func scanInvisible(s string) invisibleScan {
	var sc invisibleScan
	run := 0
	var tagText strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			run = 0
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch {
		case isTag(r):
			sc.tags++
			if t := r - 0xE0000; t >= 0x20 && t < 0x7F && tagText.Len() < 500 {
				tagText.WriteRune(t)
			}
			run = 0
		case isBidi(r):
			sc.bidi++
			run = 0
		case isZeroWidth(r) && r != 0x00AD && r != 0x200D:
			sc.zeroWidth++
			run++
			sc.longRun = max(sc.longRun, run)
		default:
			run = 0
		}
	}
	sc.tagText = tagText.String()
	return sc
}

// fold maps look-alike letters (Cyrillic, Greek, fullwidth, some
// mathematical alphanumerics) to ASCII and lower-cases, so that
// "іgnоrе" (with Cyrillic і, о, е) reads as "ignore". Invisible
// characters are dropped.
func fold(s string) string {
	var b strings.Builder
	start := 0 // s[start:i] is still to copy as it is
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 'A' && c <= 'Z' {
				if b.Cap() == 0 {
					b.Grow(len(s))
				}
				b.WriteString(s[start:i])
				b.WriteByte(c + 'a' - 'A')
				start = i + 1
			}
			i++
			continue
		}
		if b.Cap() == 0 {
			b.Grow(len(s))
		}
		b.WriteString(s[start:i])
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		start = i
		if stripped(r) || r == 0x200C || r == 0x200D {
			continue
		}
		if r >= 0xFF01 && r <= 0xFF5E { // fullwidth ASCII
			r -= 0xFEE0
			if r >= 'A' && r <= 'Z' {
				r += 'a' - 'A'
			}
			b.WriteRune(r)
			continue
		}
		if r >= 0x1D400 && r <= 0x1D6A3 { // mathematical alphanumerics: 52 letters per style
			k := (r - 0x1D400) % 52
			if k >= 26 {
				k -= 26
			}
			b.WriteRune('a' + k)
			continue
		}
		if a, ok := homoglyphs[r]; ok {
			b.WriteRune(a)
			continue
		}
		if r == 0x00A0 || r == 0x2009 || r == 0x202F || r == 0x2002 || r == 0x2003 {
			b.WriteByte(' ')
			continue
		}
		b.WriteString(strings.ToLower(string(r)))
	}
	if b.Cap() == 0 {
		return s // already lower-case ASCII
	}
	b.WriteString(s[start:])
	return b.String()
}

var homoglyphs = map[rune]rune{
	// Cyrillic
	'а': 'a', 'в': 'b', 'е': 'e', 'ё': 'e', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p', 'с': 'c',
	'т': 't', 'у': 'y', 'х': 'x', 'і': 'i', 'ї': 'i', 'ј': 'j', 'ѕ': 's', 'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w', 'ӏ': 'l',
	'А': 'a', 'В': 'b', 'Е': 'e', 'К': 'k', 'М': 'm', 'Н': 'h', 'О': 'o', 'Р': 'p', 'С': 'c', 'Т': 't',
	'У': 'y', 'Х': 'x', 'І': 'i', 'Ј': 'j', 'Ѕ': 's',
	// Greek
	'α': 'a', 'ε': 'e', 'ι': 'i', 'ο': 'o', 'ρ': 'p', 'τ': 't', 'υ': 'u', 'ν': 'v', 'κ': 'k', 'χ': 'x',
	'Α': 'a', 'Β': 'b', 'Ε': 'e', 'Ι': 'i', 'Κ': 'k', 'Μ': 'm', 'Ν': 'n', 'Ο': 'o', 'Ρ': 'p', 'Τ': 't', 'Χ': 'x', 'Υ': 'y', 'Ζ': 'z',
	// Latin look-alikes
	'ı': 'i', 'ɡ': 'g', 'ɑ': 'a', 'ʀ': 'r', 'ɪ': 'i', 'ᴏ': 'o', 'ℓ': 'l',
}

// joinSpaced undoes letter spacing ("i g n o r e", "i.g.n.o.r.e",
// "i-g-n-o-r-e"): a run of at least four single letters separated by one
// space, dot, dash, underscore or asterisk becomes one word.
func joinSpaced(s string) string {
	isSep := func(c byte) bool { return c == ' ' || c == '.' || c == '-' || c == '_' || c == '*' }
	isLetter := func(c byte) bool { return c >= 'a' && c <= 'z' }
	var b []byte
	changed := false
	for i := 0; i < len(s); {
		// a run: letter (sep letter){3,}, the letters standing alone
		if isLetter(s[i]) && (i == 0 || !isLetter(s[i-1])) && i+1 < len(s) && isSep(s[i+1]) {
			j, n := i, 1
			for j+2 < len(s) && isSep(s[j+1]) && isLetter(s[j+2]) && (j+3 >= len(s) || !isLetter(s[j+3])) {
				j += 2
				n++
			}
			if n >= 4 {
				if b == nil {
					b = append(make([]byte, 0, len(s)), s[:i]...)
				}
				for k := i; k <= j; k += 2 {
					b = append(b, s[k])
				}
				changed = true
				i = j + 1
				continue
			}
		}
		if b != nil {
			b = append(b, s[i])
		}
		i++
	}
	if !changed {
		return s
	}
	return string(b)
}
