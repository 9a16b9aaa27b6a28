package mailgen_test

import (
	"strings"
	"testing"

	"gent/daemon/mail"
	"gent/daemon/mail/mailgen"
)

func TestMessagesParseAtTheirSize(t *testing.T) {
	for _, size := range []int{1 << 10, 10 << 10, 64 << 10} {
		for _, multi := range []bool{false, true} {
			raw := mailgen.Message(mailgen.Options{From: "ada@sender.test", To: "agent@mail.test", Size: size, Seq: 200, Multipart: multi})
			if d := len(raw) - size; d < -100 || d > 100 && !(multi && size < 2048 && d < 400) {
				t.Errorf("size %d multipart %v: got %d bytes", size, multi, len(raw))
			}
			if strings.Contains(strings.ReplaceAll(string(raw), "\r\n", ""), "\n") {
				t.Errorf("size %d: bare LF", size)
			}
			p, err := mail.Parse(raw, mail.DefaultLimits)
			if err != nil {
				t.Fatalf("size %d multipart %v: %v", size, multi, err)
			}
			if p.From.Address != "ada@sender.test" || p.MessageID == "" || len(p.Problems) > 0 {
				t.Errorf("parsed %+v", p)
			}
			if !strings.Contains(p.Text, mailgen.Common) || !strings.Contains(p.Text, mailgen.Medium) {
				t.Errorf("message 200 must carry %q and %q", mailgen.Common, mailgen.Medium)
			}
			if multi && (len(p.Attachments) != 1 || p.HTML == "") {
				t.Errorf("multipart: %d attachments, html %d bytes", len(p.Attachments), len(p.HTML))
			}
		}
	}
}

func TestTermFrequencies(t *testing.T) {
	counts := map[string]int{}
	for seq := 0; seq < 20000; seq++ {
		raw := string(mailgen.Message(mailgen.Options{From: "a@b.test", To: "c@d.test", Size: 600, Seq: seq}))
		for _, w := range []string{mailgen.Common, mailgen.Medium, mailgen.Rare} {
			if strings.Contains(raw, w) {
				counts[w]++
			}
		}
	}
	if counts[mailgen.Common] != 10000 || counts[mailgen.Medium] != 200 || counts[mailgen.Rare] != 2 {
		t.Fatalf("term counts %v", counts)
	}
}
