package delivery

import (
	"context"
	"strings"
	"testing"
	"time"

	"gent/daemon/mail"
	"gent/daemon/smtpsink"
	"gent/models"
)

// FuzzAddressToRCPT follows an address from the API (a to entry) through
// validation to the RCPT command go-smtp's client writes, against a real
// SMTP server: either the address is refused (422, or a permanent failure
// at the delivery point for an address already queued), or exactly one
// well-formed RCPT command is written whose path is the address, and the
// server reads back that same address with no parameters.
//
//	go test ./daemon/delivery -run '^$' -fuzz FuzzAddressToRCPT -fuzztime 60s
func FuzzAddressToRCPT(f *testing.F) {
	for _, s := range []string{
		"ann@example.net",
		"Ann <ann@example.net>",
		`"victim@other.test> ORCPT=rfc822;x"@ext.test`,
		`"victim@other.test> NOTIFY=NEVER"@ext.test`,
		`"victim@other.test>"@ext.test`,
		`"john.smith"@example.net`,
		`"john doe"@example.net`,
		`"a\"b"@example.net`,
		`a@example.net> NOTIFY=NEVER`,
		"a@example.net>\r\nRCPT TO:<victim@other.test",
		"a\x00@example.net",
		"a@[127.0.0.1]",
		"a@-x.example.net",
		"José@example.net",
		"a@exämple.net",
		"=?utf-8?q?x?= <a@example.net>",
		strings.Repeat("l", 64) + "@example.net",
		strings.Repeat("l", 65) + "@example.net",
		"a@" + strings.Repeat("d.", 126) + "net",
		"first.last+tag@sub.example.net",
		"!#$%&'*+-/=?^_`{|}~@example.net",
		"a..b@example.net",
		"<a@example.net>",
		"a@b@example.net",
	} {
		f.Add(s)
	}
	sink := smtpsink.New(f, smtpsink.Options{Transcript: true})
	sess := &session{hostname: "mx.gent.test", dialTimeout: 2 * time.Second, cmdTimeout: 5 * time.Second, dataTimeout: 5 * time.Second}
	host := hostTarget{name: "sink.test", addr: sink.Addr}
	const from = "agent@mail.example.com"
	data := []byte("Subject: fuzz\r\n\r\nfuzz\r\n")

	// deliver sends to addr and checks what was written on the wire.
	deliver := func(t *testing.T, addr string) (refused bool) {
		t.Helper()
		sink.ResetTranscript()
		before := len(sink.Rcpts())
		res, _, err := sess.deliver(context.Background(), host, from, []string{addr}, data)
		if err != nil {
			t.Fatalf("deliver %q: %v", addr, err)
		}
		r, ok := res[addr]
		if !ok || len(res) != 1 {
			t.Fatalf("deliver %q: results %+v", addr, res)
		}
		var rcptLines, mailLines []string
		for _, line := range strings.Split(sink.Transcript(), "\r\n") {
			switch u := strings.ToUpper(line); {
			case strings.HasPrefix(u, "RCPT"):
				rcptLines = append(rcptLines, line)
			case strings.HasPrefix(u, "MAIL"):
				mailLines = append(mailLines, line)
			}
		}
		got := sink.Rcpts()[before:]
		if r.perm && r.code == 553 && r.enhanced == "5.1.3" {
			// Refused at the delivery point: nothing was written at all.
			if len(rcptLines)+len(mailLines) != 0 || len(got) != 0 {
				t.Fatalf("refused %q but wrote %q %q", addr, mailLines, rcptLines)
			}
			return true
		}
		if !r.ok {
			t.Fatalf("deliver %q: %+v", addr, r)
		}
		if mail.CheckMailbox(addr) != nil {
			t.Fatalf("%q is not a mailbox but was sent", addr)
		}
		if len(mailLines) != 1 || !strings.HasPrefix(mailLines[0], "MAIL FROM:<"+from+">") {
			t.Fatalf("MAIL lines %q", mailLines)
		}
		if want := "RCPT TO:<" + addr + ">"; len(rcptLines) != 1 || rcptLines[0] != want {
			t.Fatalf("RCPT lines %q, want exactly %q", rcptLines, want)
		}
		if len(got) != 1 || got[0].To != addr || got[0].ORCPT != "" || len(got[0].Notify) != 0 {
			t.Fatalf("the server read %+v for %q", got, addr)
		}
		return false
	}

	f.Fuzz(func(t *testing.T, raw string) {
		// An address already in the queue, whatever it is: refused at the
		// delivery point or written as exactly one command.
		if raw != "" {
			deliver(t, raw)
		}
		// The same string as an API to entry.
		c, err := mail.Compose(mail.Draft{FromAddress: from, To: []string{raw}, Subject: "s", Text: "t"})
		if err != nil {
			if models.ErrorCode(err) != models.CodeValidation {
				t.Fatalf("compose %q: %v", raw, err)
			}
			return
		}
		if len(c.Recipients) != 1 {
			t.Fatalf("%q gave recipients %+v", raw, c.Recipients)
		}
		addr := c.Recipients[0].Address
		if deliver(t, addr) {
			t.Fatalf("%q passed validation as %q but was refused at delivery", raw, addr)
		}
	})
}
