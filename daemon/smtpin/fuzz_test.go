package smtpin

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/emersion/go-smtp"

	"gent/daemon/mail"
	"gent/models"
)

// FuzzData runs what DATA does with a received message before storing it
// — the line-ending, size, structure and loop checks, parsing, and the
// trace header gentd prepends — on arbitrary bytes: no panic, a refusal
// is one of the documented replies, and an accepted message is storable
// and still parses after the trace header is added.
func FuzzData(f *testing.F) {
	files, _ := filepath.Glob("../mail/testdata/*.eml")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("Subject: x\r\n\r\nbody\n.\nMAIL FROM:<a@b>\r\n"))
	f.Add([]byte(strings.Repeat("Received: x\r\n", 40) + "\r\nloop\r\n"))
	refusals := map[*smtp.SMTPError]bool{errBareLF: true, errHeaderTooBig: true, errMIMETooBig: true, errLoop: true}
	lim := mail.Limits{MaxHeaderBytes: 16 << 10, MaxParts: 40, MaxDepth: 6}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, rerr := checkData(data, lim, 30)
		if rerr != nil {
			if !refusals[rerr] {
				t.Fatalf("undocumented refusal %v", rerr)
			}
			if rerr == errBareLF != bareLineEnding(data) {
				t.Fatal("bare line ending verdict differs")
			}
			return
		}
		if bareLineEnding(data) || p.Received > 30 {
			t.Fatal("accepted what must be refused")
		}
		for _, s := range []string{p.Subject, p.Text, p.HTML, p.ExtractedText, p.From.Address} {
			if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
				t.Fatalf("not storable: %q", s)
			}
		}
		raw := append(traceHeader("from x ([127.0.0.1]) by mx.test (gentd) with ESMTP id 1; Mon, 3 Mar 2025 10:00:00 +0000",
			models.AuthResults{Summary: "mx.test; spf=none smtp.mailfrom=x; dkim=none; dmarc=none"}), data...)
		if bareLineEnding(raw[:len(raw)-len(data)]) {
			t.Fatal("the trace header has bare line endings")
		}
		q, err := mail.Parse(raw, mail.Limits{MaxHeaderBytes: 32 << 10, MaxParts: 40, MaxDepth: 6})
		var le *mail.LimitError
		if err != nil && !errors.As(err, &le) {
			t.Fatalf("reparse: %v", err)
		}
		if err == nil && (q.Received != p.Received+1 || !bytes.HasSuffix(raw, data)) {
			t.Fatalf("trace header changed the message: %d vs %d", q.Received, p.Received)
		}
	})
}
