package smtpin_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"gent/daemon/config"
	"gent/models"
)

func TestDeliverAndRead(t *testing.T) {
	h := newHarness(t)
	msg := simpleMessage("first contact")
	// The same inbox twice (case, plus-tag): one copy.
	if err := h.send("ada@example.org", []string{"agent@mail.example.com", "Agent+Billing@MAIL.example.com"}, msg); err != nil {
		t.Fatalf("send: %v", err)
	}
	if n := h.messages(); n != 1 {
		t.Fatalf("want 1 stored message, got %d", n)
	}
	tok := h.env.Token(h.org, h.inbox.ID, []string{models.ScopeEmailRead})
	var list models.List[models.MessageSummary]
	h.env.MustStatus(200, "GET", "/v1/inboxes/"+h.inbox.ID+"/messages", tok.Secret, nil).JSON(t, &list)
	if len(list.Data) != 1 {
		t.Fatalf("list %+v", list)
	}
	m := list.Data[0]
	if m.Direction != "inbound" || m.Status != "received" || m.Subject != "first contact" || m.From.Address != "ada@example.org" ||
		m.Auth == nil || !strings.HasPrefix(m.Auth.Summary, "mx.gent.test; spf=") || m.Read {
		t.Fatalf("message %+v", m)
	}
	raw := h.env.MustStatus(200, "GET", "/v1/inboxes/"+h.inbox.ID+"/messages/"+m.ID+"/raw", tok.Secret, nil)
	body := string(raw.Body)
	unfolded := strings.ReplaceAll(body, "\r\n\t", " ")
	if raw.Header.Get("Content-Type") != "message/rfc822" ||
		!strings.HasPrefix(unfolded, "Received: from client.example.org ([127.0.0.1]) by mx.gent.test (gentd) with ESMTP id") ||
		!strings.Contains(unfolded, "\r\nAuthentication-Results: mx.gent.test; spf=none smtp.mailfrom=example.org; dkim=none; dmarc=none header.from=example.org\r\n") ||
		!strings.HasSuffix(body, msg) {
		t.Fatalf("raw:\n%s", body)
	}
	// Usage counts the stored bytes, in the same transaction.
	var in models.Inbox
	h.env.MustStatus(200, "GET", "/v1/inboxes/"+h.inbox.ID, h.org.Owner, nil).JSON(t, &in)
	if in.UsedBytes != int64(len(body)) || in.MessageCount != 1 || m.Size != in.UsedBytes {
		t.Fatalf("usage %d/%d, size %d, raw %d", in.UsedBytes, in.MessageCount, m.Size, len(body))
	}
	// One message.received event.
	var ev []models.Event
	h.env.Store.DB.Where("type = ?", models.EventMessageReceived).Find(&ev)
	if len(ev) != 1 || ev[0].Payload["message_id"] != m.ID || ev[0].InboxID == nil || *ev[0].InboxID != h.inbox.ID {
		b, _ := json.Marshal(ev)
		t.Fatalf("events %s", b)
	}
	var rcptTo string
	h.env.Store.DB.Raw(`SELECT rcpt_to FROM messages`).Scan(&rcptTo)
	if rcptTo != "agent@mail.example.com" {
		t.Fatalf("rcpt_to %q", rcptTo)
	}
}

func TestRecipients(t *testing.T) {
	h := newHarness(t)
	h.env.PendingDomain(h.org, "pending.example.com")
	gone := h.env.Inbox(h.org, "gone@mail.example.com")
	h.env.MustStatus(204, "DELETE", "/v1/inboxes/"+gone.ID, h.org.Owner, nil)

	d := h.dial()
	d.cmd("EHLO client.example.org", "250 ")
	d.cmd("MAIL FROM:<ada@example.org>", "250 ")
	d.cmd("RCPT TO:<nobody@mail.example.com>", "550 5.1.1 ")
	d.cmd("RCPT TO:<gone@mail.example.com>", "550 5.1.1 ")
	d.cmd("RCPT TO:<victim@gmail.com>", "550 5.7.1 ")
	d.cmd("RCPT TO:<agent@pending.example.com>", "550 5.7.1 ")
	d.cmd("RCPT TO:<agent@mail.example.com.evil.test>", "550 5.7.1 ")
	d.cmd("RCPT TO:<agent>", "501 ")
	d.cmd("RCPT TO:<AGENT+news@Mail.Example.COM>", "250 ")
	d.cmd("DATA", "354 ")
	d.write(simpleMessage("tagged") + ".\r\n")
	d.expect("250 2.0.0 ")
	d.cmd("QUIT", "221 ")
	if n := h.messages(); n != 1 {
		t.Fatalf("stored %d", n)
	}
}

func TestSeveralInboxesOneTransaction(t *testing.T) {
	h := newHarness(t)
	other := h.env.Inbox(h.org, "other@mail.example.com")
	if err := h.send("ada@example.org", []string{"agent@mail.example.com", "other@mail.example.com"}, simpleMessage("both")); err != nil {
		t.Fatal(err)
	}
	if n := h.count(`SELECT count(DISTINCT inbox_id) FROM messages`); n != 2 || h.messages() != 2 {
		t.Fatalf("want one copy per inbox, got %d messages", h.messages())
	}
	// Other is nearly full: the message fits agent@ but would take other@
	// past its cap, so it is refused for both and nothing is stored.
	h.env.Store.DB.Exec(`UPDATE inboxes SET cap_mode = 'enforce', cap_limit_bytes = used_bytes + 10 WHERE id = ?`, other.ID)
	before := h.count(`SELECT sum(used_bytes) FROM inboxes`)
	err := h.send("ada@example.org", []string{"agent@mail.example.com", "other@mail.example.com"}, simpleMessage("too big for other"))
	wantCode(t, err, "552 5.2.2")
	if n := h.messages(); n != 2 || h.count(`SELECT sum(used_bytes) FROM inboxes`) != before {
		t.Fatalf("a refused message changed the store: %d messages", n)
	}
}

func TestOverCap(t *testing.T) {
	h := newHarness(t)
	// Full already: 452 at RCPT, before any data.
	h.env.Store.DB.Exec(`UPDATE inboxes SET cap_mode = 'enforce', cap_limit_bytes = 0 WHERE id = ?`, h.inbox.ID)
	wantCode(t, h.send("ada@example.org", []string{"agent@mail.example.com"}, simpleMessage("full")), "452 4.2.2")
	// allow_and_bill never refuses.
	h.env.Store.DB.Exec(`UPDATE inboxes SET cap_mode = 'allow_and_bill' WHERE id = ?`, h.inbox.ID)
	if err := h.send("ada@example.org", []string{"agent@mail.example.com"}, simpleMessage("billed")); err != nil {
		t.Fatal(err)
	}
	// Room left, but less than this message: 552 at the end of DATA.
	h.env.Store.DB.Exec(`UPDATE inboxes SET cap_mode = 'enforce', cap_limit_bytes = used_bytes + 100 WHERE id = ?`, h.inbox.ID)
	wantCode(t, h.send("ada@example.org", []string{"agent@mail.example.com"}, simpleMessage("crosses")+strings.Repeat("x", 200)+"\r\n"), "552 5.2.2")
	if n := h.messages(); n != 1 {
		t.Fatalf("stored %d", n)
	}
	// A message that fits exactly is accepted.
	h.env.Store.DB.Exec(`UPDATE inboxes SET cap_limit_bytes = used_bytes + 100000 WHERE id = ?`, h.inbox.ID)
	if err := h.send("ada@example.org", []string{"agent@mail.example.com"}, simpleMessage("fits")); err != nil {
		t.Fatal(err)
	}
}

func TestLimits(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.SMTP.MaxMessageBytes = 4096
		c.SMTP.MaxRecipients = 2
		c.SMTP.MaxLineLength = 1000
		c.SMTP.MaxReceived = 3
	})
	h.env.Inbox(h.org, "b@mail.example.com")
	h.env.Inbox(h.org, "c@mail.example.com")

	t.Run("too big", func(t *testing.T) {
		d := h.dial()
		d.cmd("EHLO client.example.org", "250 ")
		d.cmd("MAIL FROM:<ada@example.org> SIZE=5000", "552 5.3.4 ")
		d.envelope()
		d.cmd("DATA", "354 ")
		d.write(simpleMessage("big") + strings.Repeat(strings.Repeat("y", 70)+"\r\n", 100) + ".\r\n")
		d.expect("552 5.3.4 ")
		d.cmd("NOOP", "250 ")
		if n := h.messages(); n != 0 {
			t.Fatalf("stored %d", n)
		}
	})
	t.Run("too many recipients", func(t *testing.T) {
		d := h.dial()
		d.envelope()
		d.cmd("RCPT TO:<b@mail.example.com>", "250 ")
		d.cmd("RCPT TO:<c@mail.example.com>", "452 4.5.3 ")
	})
	t.Run("long command line", func(t *testing.T) {
		d := h.dial()
		d.cmd("EHLO "+strings.Repeat("a", 1200), "500 5.4.0 ")
		if !d.closed() {
			t.Fatal("connection left open")
		}
	})
	t.Run("long data line", func(t *testing.T) {
		d := h.dial()
		d.envelope()
		d.cmd("DATA", "354 ")
		d.write("Subject: long\r\n\r\n" + strings.Repeat("z", 1500) + "\r\n.\r\n")
		d.expect("500 5.5.2 ")
		if n := h.messages(); n != 0 {
			t.Fatalf("stored %d", n)
		}
	})
	t.Run("mail loop", func(t *testing.T) {
		d := h.dial()
		d.envelope()
		d.cmd("DATA", "354 ")
		d.write(strings.Repeat("Received: from a by b; Mon, 3 Mar 2025 10:00:00 +0000\r\n", 4) + simpleMessage("loop") + ".\r\n")
		d.expect("554 5.4.6 ")
		d.cmd("DATA", "502 5.5.1 ") // the transaction is over
	})
	t.Run("header too big", func(t *testing.T) {
		h := newHarness(t, func(c *config.Config) { c.SMTP.MaxHeaderBytes = 2048 })
		d := h.dial()
		d.envelope()
		d.cmd("DATA", "354 ")
		d.write(strings.Repeat("X-Pad: "+strings.Repeat("p", 90)+"\r\n", 30) + simpleMessage("pad") + ".\r\n")
		d.expect("552 5.3.4 ")
	})
	t.Run("MIME too deep", func(t *testing.T) {
		h := newHarness(t, func(c *config.Config) { c.SMTP.MaxMIMEDepth = 2 })
		d := h.dial()
		d.envelope()
		d.cmd("DATA", "354 ")
		d.write("Subject: deep\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
			"--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\nContent-Type: text/plain\r\n\r\ndeep\r\n--c--\r\n--b--\r\n--a--\r\n.\r\n")
		d.expect("554 5.6.0 ")
	})
}

func TestBlockedSenders(t *testing.T) {
	h := newHarness(t)
	rule := func(pattern, kind string) {
		h.env.MustStatus(201, "POST", "/v1/inboxes/"+h.inbox.ID+"/senders", h.org.Owner,
			models.CreateSenderRuleRequest{Pattern: pattern, Kind: kind})
	}
	rule("spam.example", "block")
	rule("friend@spam.example", "allow")
	msg := func(from string) string {
		return "From: <" + from + ">\r\nTo: agent@mail.example.com\r\nSubject: hi\r\n\r\nhi\r\n"
	}
	// Envelope sender blocked (subdomains too): 550 at RCPT.
	wantCode(t, h.send("x@spam.example", []string{"agent@mail.example.com"}, msg("x@spam.example")), "550 5.7.1")
	wantCode(t, h.send("x@eu.spam.example", []string{"agent@mail.example.com"}, msg("x@eu.spam.example")), "550 5.7.1")
	// The more specific allow wins.
	if err := h.send("friend@spam.example", []string{"agent@mail.example.com"}, msg("friend@spam.example")); err != nil {
		t.Fatal(err)
	}
	// Header From blocked behind an innocent envelope: 550 at end of DATA.
	wantCode(t, h.send("bounce@mailer.example", []string{"agent@mail.example.com"}, msg("boss@spam.example")), "550 5.7.1")
	if n := h.messages(); n != 1 {
		t.Fatalf("stored %d", n)
	}
	// An allow list: block everyone, allow one domain.
	rule("*", "block")
	rule("partner.example", "allow")
	wantCode(t, h.send("someone@else.example", []string{"agent@mail.example.com"}, msg("someone@else.example")), "550 5.7.1")
	wantCode(t, h.send("", []string{"agent@mail.example.com"}, msg("mailer-daemon@else.example")), "550 5.7.1")
	if err := h.send("a@partner.example", []string{"agent@mail.example.com"}, msg("a@partner.example")); err != nil {
		t.Fatal(err)
	}
	// The longest matching domain decides: ok.spam.example (allow) over
	// spam.example (block) over "*" (block).
	rule("ok.spam.example", "allow")
	if err := h.send("x@mx.ok.spam.example", []string{"agent@mail.example.com"}, msg("x@mx.ok.spam.example")); err != nil {
		t.Fatal(err)
	}
	wantCode(t, h.send("x@ko.spam.example", []string{"agent@mail.example.com"}, msg("x@ko.spam.example")), "550 5.7.1")
}

func TestDatabaseFailureIs451(t *testing.T) {
	h := newHarness(t)
	if err := h.env.Store.DB.Exec(`ALTER TABLE attachments RENAME TO attachments_away`).Error; err != nil {
		t.Fatal(err)
	}
	msg := "From: a@example.org\r\nSubject: att\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" +
		"Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\n\r\npdf\r\n--b--\r\n"
	wantCode(t, h.send("ada@example.org", []string{"agent@mail.example.com"}, msg), "451 4.3.0")
	// Rolled back whole: no message, no usage, no thread.
	if h.messages() != 0 || h.count(`SELECT used_bytes FROM inboxes WHERE id = ?`, h.inbox.ID) != 0 || h.count(`SELECT count(*) FROM threads`) != 0 {
		t.Fatal("a failed store left rows behind")
	}
}

func TestTimeouts(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.SMTP.ReadTimeout = config.Duration(300 * time.Millisecond)
		c.SMTP.DataTimeout = config.Duration(400 * time.Millisecond)
		c.SMTP.MaxSession = config.Duration(1500 * time.Millisecond)
	})
	t.Run("idle command", func(t *testing.T) {
		d := h.dial()
		d.cmd("EHLO client.example.org", "250 ")
		d.expect("421 4.4.2 ")
		if !d.closed() {
			t.Fatal("connection left open")
		}
	})
	t.Run("stalled data", func(t *testing.T) {
		d := h.dial()
		d.envelope()
		d.cmd("DATA", "354 ")
		d.write("Subject: slow\r\n\r\nstarted but never ends")
		d.expect("421 4.4.2 ")
		if n := h.messages(); n != 0 {
			t.Fatalf("stored %d", n)
		}
	})
	t.Run("session length", func(t *testing.T) {
		d := h.dial()
		start := time.Now()
		for time.Since(start) < 5*time.Second {
			d.write("NOOP\r\n")
			r := d.reply()
			if strings.HasPrefix(r, "421 4.4.2") {
				if el := time.Since(start); el < time.Second {
					t.Fatalf("session ended after %v", el)
				}
				return
			}
			if !strings.HasPrefix(r, "250 ") {
				t.Fatalf("reply %q", r)
			}
			time.Sleep(150 * time.Millisecond)
		}
		t.Fatal("the session outlived max_session")
	})
}

func TestConnectionCaps(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.SMTP.MaxPerIP = 2 })
	a, b := h.dial(), h.dial()
	// The third from 127.0.0.1 is refused instead of greeted.
	conn := rawDial(t, h.addr)
	if got := conn.reply(); !strings.HasPrefix(got, "421 4.7.0 mx.gent.test too many connections from your address") {
		t.Fatalf("third connection: %q", got)
	}
	a.cmd("QUIT", "221 ")
	waitFor(t, func() bool { return h.env.SMTP.Active() == 1 })
	c := h.dial()
	c.cmd("NOOP", "250 ")
	b.cmd("QUIT", "221 ")

	g := newHarness(t, func(c *config.Config) { c.SMTP.MaxConnections = 1 })
	g.dial()
	if got := rawDial(t, g.addr).reply(); !strings.HasPrefix(got, "421 4.7.0 mx.gent.test too many connections,") {
		t.Fatalf("over the global cap: %q", got)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not met in 2s")
}
