package mail

import (
	"math/rand"
	"strings"
	"testing"
)

func fieldsPreview(text string) string {
	s := strings.Join(strings.Fields(text), " ")
	if r := []rune(s); len(r) > 200 {
		return string(r[:200]) + "…"
	}
	return s
}

// Preview reads only what it keeps, and says what strings.Fields, joined
// and cut at 200 characters, says.
func TestPreviewMatchesFields(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	parts := []string{"a", "bb", " ", "  ", "\n", "\t", "é", "日本", "\u00a0", "\u2003", "x"}
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		n := r.Intn(300)
		for j := 0; j < n; j++ {
			b.WriteString(parts[r.Intn(len(parts))])
		}
		in := b.String()
		if got, want := Preview(in), fieldsPreview(in); got != want {
			t.Fatalf("%q:\n got %q\nwant %q", in, got, want)
		}
	}
}
