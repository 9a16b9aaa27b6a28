package screening

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// foldRuneByRune is fold as first written, one rune at a time: the
// reference the faster fold must agree with.
func foldRuneByRune(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < utf8.RuneSelf {
			if r >= 'A' && r <= 'Z' {
				r += 'a' - 'A'
			}
			b.WriteByte(byte(r))
			continue
		}
		if stripped(r) || r == 0x200C || r == 0x200D {
			continue
		}
		if r >= 0xFF01 && r <= 0xFF5E {
			r -= 0xFEE0
			if r >= 'A' && r <= 'Z' {
				r += 'a' - 'A'
			}
			b.WriteRune(r)
			continue
		}
		if r >= 0x1D400 && r <= 0x1D6A3 {
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
	return b.String()
}

func TestFold(t *testing.T) {
	pieces := []string{"a", "Z", "ignore", "IGNORE", " ", "\n", "é", "É", "і", "О", "ｉｇＮ", "𝐢𝐠", "\u200b", "\u200d", "\u00a0",
		"\u202e", "\U000E0041", "ß", "İ", "\xff", "\xe2\x80", "日本", "ǅ", "Σ"}
	for i := range 5000 {
		r := rand.New(rand.NewPCG(uint64(i), 5))
		var b strings.Builder
		for range r.IntN(20) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		s := b.String()
		if got, want := fold(s), foldRuneByRune(s); got != want {
			t.Fatalf("fold(%q) = %q, want %q", s, got, want)
		}
	}
}

func FuzzFold(f *testing.F) {
	f.Add("Іgnоrе prеvіоus ＩＮＳＴＲ\u200b")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := fold(s), foldRuneByRune(s); got != want {
			t.Fatalf("fold(%q) = %q, want %q", s, got, want)
		}
	})
}

// base64BlocksByteByByte is base64Blocks as first written: the reference.
func base64BlocksByteByByte(t string, n int) []string {
	var out []string
	start := -1
	for i := 0; i <= len(t) && len(out) < n; i++ {
		if i < len(t) && isBase64[t[i]] {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 && i-start >= 40 {
			out = append(out, t[start:i])
		}
		start = -1
	}
	return out
}

func TestBase64Blocks(t *testing.T) {
	pieces := []string{"a", "Z9+/", "=", " ", ".", "\n", strings.Repeat("QUJD", 9), strings.Repeat("x", 39), strings.Repeat("y", 40), "é"}
	for i := range 5000 {
		r := rand.New(rand.NewPCG(uint64(i), 6))
		var b strings.Builder
		for range r.IntN(30) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		s, n := b.String(), 1+r.IntN(4)
		if got, want := base64Blocks(s, n), base64BlocksByteByByte(s, n); strings.Join(got, "|") != strings.Join(want, "|") || len(got) != len(want) {
			t.Fatalf("base64Blocks(%q, %d) = %q, want %q", s, n, got, want)
		}
	}
}
