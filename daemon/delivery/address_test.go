package delivery_test

import (
	"encoding/json"
	"strings"
	"testing"

	"gent/daemon/delivery"
	"gent/models"
)

// The attack of issue 15: a quoted local part whose quotes were dropped
// when the RCPT command was written, so that its text became a second
// path and DSN parameters.
const (
	injectORCPT  = `"victim@other.test> ORCPT=rfc822;x"@example.net`
	injectNotify = `"victim@other.test> NOTIFY=NEVER"@example.net`
)

// assertSinkClean fails if the sink was ever given the injected recipient
// or a DSN parameter Gent never sends.
func assertSinkClean(t *testing.T, h *harness) {
	t.Helper()
	for _, rc := range h.sink.Rcpts() {
		if strings.Contains(strings.ToLower(rc.To), "victim") || len(rc.Notify) > 0 || rc.ORCPT != "" {
			t.Fatalf("the remote host was given an injected recipient or parameter: %+v", rc)
		}
	}
	for _, m := range h.sink.Messages() {
		for _, to := range m.To {
			if strings.Contains(strings.ToLower(to), "victim") {
				t.Fatalf("the remote host accepted an injected recipient: %+v", m.To)
			}
		}
	}
}

func TestRecipientInjectionRefusedAtEveryEntry(t *testing.T) {
	h := newHarness(t)
	in := "/v1/inboxes/" + h.inbox.ID
	// A message whose Reply-To carries the attack: a reply must not send to it.
	hostile := h.env.Deliver(h.inbox, "From: ann@example.net\r\nReply-To: "+injectNotify+"\r\nTo: agent@mail.example.com\r\n"+
		"Subject: Invoice\r\nMessage-ID: <inv@example.net>\r\n\r\nplease reply\r\n")
	plain := h.env.Deliver(h.inbox, "From: ann@example.net\r\nTo: agent@mail.example.com\r\nSubject: Hi\r\nMessage-ID: <hi@example.net>\r\n\r\nhi\r\n")
	var draft models.Draft
	h.env.MustStatus(201, "POST", in+"/drafts", h.agent.Secret, `{"subject": "later"}`).JSON(t, &draft)
	// A draft stored before addresses were checked is refused when sent.
	var stale models.Draft
	h.env.MustStatus(201, "POST", in+"/drafts", h.agent.Secret, `{"subject": "stale", "text": "x"}`).JSON(t, &stale)
	req, _ := json.Marshal(models.SendRequest{To: models.AddressList{injectORCPT}, Subject: "stale", Text: "x"})
	if err := h.env.Store.DB.Exec(`UPDATE drafts SET request = ? WHERE id = ?`, req, stale.ID).Error; err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("a", 65) + "@example.net"
	label := strings.Repeat("b", 64)
	cases := []struct {
		name, method, path, body, field string
	}{
		{"send to", "POST", in + "/messages/send", `{"to": [` + js(injectORCPT) + `], "subject": "s", "text": "t"}`, "to[0]"},
		{"send notify", "POST", in + "/messages/send", `{"to": ` + js(injectNotify) + `, "subject": "s", "text": "t"}`, "to[0]"},
		{"send cc", "POST", in + "/messages/send", `{"to": "ok@example.net", "cc": ["ok2@example.net", ` + js(injectNotify) + `], "subject": "s", "text": "t"}`, "cc[1]"},
		{"send bcc name-addr", "POST", in + "/messages/send", `{"to": "ok@example.net", "bcc": [` + js("Victim <"+injectNotify+">") + `], "subject": "s", "text": "t"}`, "bcc[0]"},
		{"send reply_to", "POST", in + "/messages/send", `{"to": "ok@example.net", "reply_to": [` + js(injectORCPT) + `], "subject": "s", "text": "t"}`, "reply_to[0]"},
		{"send quoted space", "POST", in + "/messages/send", `{"to": [` + js(`"john doe"@example.net`) + `], "subject": "s", "text": "t"}`, "to[0]"},
		{"send local part 65", "POST", in + "/messages/send", `{"to": [` + js(long) + `], "subject": "s", "text": "t"}`, "to[0]"},
		{"send label 64", "POST", in + "/messages/send", `{"to": ["a@` + label + `.example.net"], "subject": "s", "text": "t"}`, "to[0]"},
		{"send domain 256", "POST", in + "/messages/send", `{"to": ["a@` + strings.Repeat("c.", 128) + `net"], "subject": "s", "text": "t"}`, "to[0]"},
		{"send hyphen label", "POST", in + "/messages/send", `{"to": ["a@-bad.example.net"], "subject": "s", "text": "t"}`, "to[0]"},
		{"send underscore", "POST", in + "/messages/send", `{"to": ["a@bad_domain.example.net"], "subject": "s", "text": "t"}`, "to[0]"},
		{"send literal", "POST", in + "/messages/send", `{"to": ["a@[127.0.0.1]"], "subject": "s", "text": "t"}`, "to[0]"},
		{"send NUL", "POST", in + "/messages/send", `{"to": ["a\u0000b@example.net"], "subject": "s", "text": "t"}`, "to[0]"},
		{"send non-ASCII", "POST", in + "/messages/send", `{"to": ["jos\u00e9@example.net"], "subject": "s", "text": "t"}`, "to[0]"},
		{"reply to", "POST", in + "/messages/" + plain.ID + "/reply", `{"to": [` + js(injectORCPT) + `], "text": "t"}`, "to[0]"},
		{"reply-all cc", "POST", in + "/messages/" + plain.ID + "/reply-all", `{"cc": [` + js(injectORCPT) + `], "text": "t"}`, "cc[0]"},
		{"reply to hostile Reply-To", "POST", in + "/messages/" + hostile.ID + "/reply", `{"text": "t"}`, "to[0]"},
		{"forward to", "POST", in + "/messages/" + plain.ID + "/forward", `{"to": [` + js(injectNotify) + `], "text": "t"}`, "to[0]"},
		{"draft create", "POST", in + "/drafts", `{"to": [` + js(injectORCPT) + `]}`, "to[0]"},
		{"draft create reply", "POST", in + "/drafts", `{"mode": "reply", "reply_to_message": "` + hostile.ID + `"}`, "to[0]"},
		{"draft update", "PATCH", in + "/drafts/" + draft.ID, `{"bcc": [` + js(injectNotify) + `]}`, "bcc[0]"},
		{"draft send", "POST", in + "/drafts/" + stale.ID + "/send", ``, "to[0]"},
	}
	var before int64
	h.env.Store.DB.Raw(`SELECT count(*) FROM messages`).Scan(&before)
	for _, c := range cases {
		var body any
		if c.body != "" {
			body = c.body
		}
		r := h.env.Do(c.method, c.path, h.agent.Secret, body)
		var e models.ErrorBody
		_ = json.Unmarshal(r.Body, &e)
		if r.Status != 422 || e.Error == nil || e.Error.Code != models.CodeValidation || e.Error.Field != c.field {
			t.Errorf("%s: want 422 validation_failed on %s, got %d %s", c.name, c.field, r.Status, r.Body)
		}
	}
	var after int64
	h.env.Store.DB.Raw(`SELECT count(*) FROM messages`).Scan(&after)
	if after != before {
		t.Fatalf("refused sends stored %d messages", after-before)
	}
	// A quoted local part that needs no quoting is the same mailbox
	// (RFC 5321 section 4.1.2) and is sent unquoted.
	h.env.StartJobs()
	r := h.send(models.SendRequest{To: models.AddressList{`"John.Smith"@Example.NET`}, Subject: "s", Text: "t"})
	st := h.waitStatus(r.ID, "delivered")
	if len(st.Recipients) != 1 || st.Recipients[0].Address != "john.smith@example.net" {
		t.Fatalf("recipients %+v", st.Recipients)
	}
	rcpts := h.sink.Rcpts()
	if len(rcpts) != 1 || rcpts[0].To != "john.smith@example.net" {
		t.Fatalf("the sink was given %+v", rcpts)
	}
	assertSinkClean(t, h)
}

// A recipient already in the queue that is not a mailbox (stored before
// addresses were checked) fails permanently at the delivery point and
// never reaches the remote host; the other recipients are delivered.
func TestQueuedBadRecipientFailsAtDelivery(t *testing.T) {
	h := newHarness(t)
	held := h.env.Token(h.org, h.inbox.ID, []string{models.ScopeEmailRead, models.ScopeEmailSend}, models.ScopeEmailSend)
	var r models.SendResponse
	h.env.MustStatus(202, "POST", "/v1/inboxes/"+h.inbox.ID+"/messages/send", held.Secret,
		models.SendRequest{To: models.AddressList{"ann@example.net"}, Subject: "s", Text: "t"}).JSON(t, &r)
	if r.Status != "pending_approval" {
		t.Fatalf("want a held send, got %+v", r)
	}
	// Smuggle the attack into the held send as an older version would have
	// stored it, keeping the digests true so the approval goes through.
	bad := `victim@other.test> ORCPT=rfc822;x@example.net`
	db := h.env.Store.DB
	if err := db.Exec(`INSERT INTO delivery_recipients (outbound_id, address, org_id, inbox_id, domain, kind, status) VALUES (?, ?, ?, ?, 'example.net', 'to', 'held')`,
		r.ID, bad, h.org.ID, h.inbox.ID).Error; err != nil {
		t.Fatal(err)
	}
	var o struct {
		Raw          []byte
		EnvelopeFrom string
	}
	db.Raw(`SELECT raw, envelope_from FROM outbound_messages WHERE id = ?`, r.ID).Scan(&o)
	dg := delivery.Digest(o.EnvelopeFrom, []delivery.Recipient{{Address: "ann@example.net", Kind: "to"}, {Address: bad, Kind: "to"}}, o.Raw)
	db.Exec(`UPDATE outbound_messages SET digest = ?, recipient_count = 2 WHERE id = ?`, dg, r.ID)
	db.Exec(`UPDATE approvals SET digest = ? WHERE id = ?`, dg, r.ApprovalID)
	h.env.StartJobs()
	h.env.MustStatus(200, "POST", "/v1/approvals/"+r.ApprovalID+"/approve", h.org.Owner, nil)
	st := h.waitStatus(r.ID, "partially_delivered")
	for _, rc := range st.Recipients {
		switch rc.Address {
		case "ann@example.net":
			if rc.Status != "delivered" {
				t.Fatalf("good recipient %+v", rc)
			}
		case bad:
			if rc.Status != "bounced" || rc.LastCode != 553 || !strings.Contains(rc.LastResponse, "5.1.3") {
				t.Fatalf("bad recipient %+v", rc)
			}
		default:
			t.Fatalf("unexpected recipient %+v", rc)
		}
	}
	assertSinkClean(t, h)
	if rc := h.sink.Rcpts(); len(rc) != 1 || rc[0].To != "ann@example.net" {
		t.Fatalf("the sink was given %+v", rc)
	}
}

func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
