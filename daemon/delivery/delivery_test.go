package delivery_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"gent/daemon/config"
	"gent/daemon/delivery"
	"gent/daemon/smtpsink"
	"gent/models"
)

func TestSendDeliversSignedMail(t *testing.T) {
	h := newHarness(t)
	body := simple("Ann <ann@example.net>")
	body.Cc = models.AddressList{"bob@example.net"}
	body.Bcc = models.AddressList{"carol@example.net"}
	r := h.send(body)
	if r.Status != "queued" || !strings.HasPrefix(r.ID, "msg_") {
		t.Fatalf("send: %+v", r)
	}
	st := h.waitStatus(r.ID, "delivered")
	if len(st.Recipients) != 3 {
		t.Fatalf("recipients %+v", st.Recipients)
	}
	for _, rc := range st.Recipients {
		if rc.Status != "delivered" || rc.LastCode != 250 || rc.MX != "mx.example.net" || rc.Attempts != 1 {
			t.Fatalf("recipient %+v", rc)
		}
	}
	msgs := h.sink.Messages()
	if len(msgs) != 1 {
		t.Fatalf("want one SMTP transaction for the domain, got %d", len(msgs))
	}
	m := msgs[0]
	if m.From != "agent@mail.example.com" || len(m.To) != 3 || !contains(m.To, "carol@example.net") {
		t.Fatalf("envelope %+v", m)
	}
	if bytes.Contains(m.Data, []byte("carol@example.net")) {
		t.Fatal("Bcc recipient visible in the message")
	}
	// Two signatures (RSA and Ed25519), both valid against the published keys.
	res := h.env.Domains.Resolver()
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(m.Data), &dkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) { return res.LookupTXT(context.Background(), name) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(verifs) != 2 {
		t.Fatalf("want 2 DKIM signatures, got %d", len(verifs))
	}
	for _, v := range verifs {
		if v.Err != nil || v.Domain != "mail.example.com" {
			t.Fatalf("DKIM verification: %+v", v)
		}
	}
	// The sent copy is in the inbox, counted in its usage, with its delivery.
	var sent models.SentMessage
	h.env.MustStatus(200, "GET", "/v1/inboxes/"+h.inbox.ID+"/messages/"+r.ID, h.agent.Secret, nil).JSON(t, &sent)
	if sent.Direction != "outbound" || sent.Status != "delivered" || sent.Delivery == nil || sent.Delivery.Status != "delivered" {
		t.Fatalf("sent copy %+v", sent.MessageSummary)
	}
	if len(sent.Bcc) != 1 || sent.Bcc[0].Address != "carol@example.net" {
		t.Fatalf("the sender's copy keeps its bcc: %+v", sent.Bcc)
	}
	var in models.Inbox
	h.env.MustStatus(200, "GET", "/v1/inboxes/"+h.inbox.ID, h.org.Owner, nil).JSON(t, &in)
	if in.UsedBytes != sent.Size || in.MessageCount != 1 {
		t.Fatalf("usage %d/%d, sent copy %d bytes", in.UsedBytes, in.MessageCount, sent.Size)
	}
	if len(h.events("message.sent")) != 1 || len(h.events("message.delivered")) != 3 {
		t.Fatalf("events: sent %d delivered %d", len(h.events("message.sent")), len(h.events("message.delivered")))
	}
	// The delivery job ran on the outbound queue, which has its own workers.
	var queues []string
	h.env.Store.DB.Raw(`SELECT queue FROM river_job WHERE kind = 'delivery.send'`).Scan(&queues)
	if len(queues) != 1 || queues[0] != delivery.Queue {
		t.Fatalf("delivery jobs on queues %v, want [%s]", queues, delivery.Queue)
	}
}

func TestDeferredThenDelivered(t *testing.T) {
	h := newHarness(t)
	h.sink.Fail(2, 451)
	r := h.send(simple("ann@example.net"))
	st := h.waitStatus(r.ID, "delivered")
	if st.Recipients[0].Attempts != 3 {
		t.Fatalf("want 3 attempts, got %+v", st.Recipients[0])
	}
	if n := len(h.events("message.deferred")); n != 2 {
		t.Fatalf("want 2 deferred events, got %d", n)
	}
	if len(h.sink.Messages()) != 1 {
		t.Fatal("delivered more than once")
	}
}

func TestDroppedConnectionRetried(t *testing.T) {
	h := newHarness(t)
	h.sink.Drop(1)
	r := h.send(simple("ann@example.net"))
	h.waitStatus(r.ID, "delivered")
	if n := len(h.sink.Messages()); n != 1 {
		t.Fatalf("want 1 message, got %d", n)
	}
}

func TestHardBounceDSNAndSuppression(t *testing.T) {
	h := newHarness(t)
	h.sink.RejectRcpt("gone@example.net", 550)
	r := h.send(simple("gone@example.net", "ann@example.net"))
	st := h.waitStatus(r.ID, "partially_delivered")
	for _, rc := range st.Recipients {
		want := map[string]string{"gone@example.net": "bounced", "ann@example.net": "delivered"}[rc.Address]
		if rc.Status != want {
			t.Fatalf("%s: want %s, got %+v", rc.Address, want, rc)
		}
	}
	// A DSN in the sending inbox, threaded with the original.
	var page models.List[models.MessageSummary]
	h.env.MustStatus(200, "GET", "/v1/inboxes/"+h.inbox.ID+"/messages?label=bounce", h.agent.Secret, nil).JSON(t, &page)
	if len(page.Data) != 1 {
		t.Fatalf("want one bounce notice, got %d", len(page.Data))
	}
	dsnID := page.Data[0].ID
	raw := h.env.MustStatus(200, "GET", "/v1/inboxes/"+h.inbox.ID+"/messages/"+dsnID+"/raw", h.agent.Secret, nil).Body
	for _, want := range []string{"multipart/report", "report-type=delivery-status", "Auto-Submitted: auto-generated",
		"Final-Recipient: rfc822; gone@example.net", "Status: 5.1.1", "Action: failed", "message/delivery-status", "text/rfc822-headers"} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Fatalf("DSN lacks %q:\n%s", want, raw)
		}
	}
	if page.Data[0].ThreadID != st.ID && page.Data[0].ThreadID == "" {
		t.Fatal("DSN not threaded")
	}
	var sent models.SentMessage
	h.env.MustStatus(200, "GET", "/v1/inboxes/"+h.inbox.ID+"/messages/"+r.ID, h.agent.Secret, nil).JSON(t, &sent)
	if page.Data[0].ThreadID != sent.ThreadID {
		t.Fatalf("DSN thread %s, original thread %s", page.Data[0].ThreadID, sent.ThreadID)
	}
	ev := h.events("message.bounced")
	if len(ev) != 1 || ev[0].Payload["recipient"] != "gone@example.net" || ev[0].Payload["suppressed"] != true {
		t.Fatalf("bounced events %+v", ev)
	}
	// Suppressed: the next send to it is refused, naming it.
	var sup models.List[models.Suppression]
	h.env.MustStatus(200, "GET", "/v1/inboxes/"+h.inbox.ID+"/suppressions", h.agent.Secret, nil).JSON(t, &sup)
	if len(sup.Data) != 1 || sup.Data[0].Address != "gone@example.net" {
		t.Fatalf("suppressions %+v", sup)
	}
	resp := h.env.Do("POST", "/v1/inboxes/"+h.inbox.ID+"/messages/send", h.agent.Secret, simple("gone@example.net"))
	if resp.Status != 422 || !strings.Contains(string(resp.Body), "gone@example.net") {
		t.Fatalf("send to a suppressed address: %d %s", resp.Status, resp.Body)
	}
	h.env.MustStatus(403, "DELETE", "/v1/inboxes/"+h.inbox.ID+"/suppressions/gone@example.net", h.agent.Secret, nil)
	h.env.MustStatus(204, "DELETE", "/v1/inboxes/"+h.inbox.ID+"/suppressions/gone@example.net", h.org.Owner, nil)
	h.send(simple("gone@example.net"))
}

func TestGiveUpBounces(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Outbound.GiveUpAfter = config.Duration(time.Second) })
	h.sink.Fail(1000, 421)
	r := h.send(simple("ann@example.net"))
	st := h.waitStatus(r.ID, "bounced")
	if st.Recipients[0].Attempts < 2 {
		t.Fatalf("want retries before giving up: %+v", st.Recipients[0])
	}
	if !strings.Contains(st.Recipients[0].LastResponse, "gave up") {
		t.Fatalf("last response %q", st.Recipients[0].LastResponse)
	}
	var sup models.List[models.Suppression]
	h.env.MustStatus(200, "GET", "/v1/inboxes/"+h.inbox.ID+"/suppressions", h.agent.Secret, nil).JSON(t, &sup)
	if len(sup.Data) != 0 {
		t.Fatal("a give-up is not a hard bounce: nothing is suppressed")
	}
	if len(h.events("message.bounced")) != 1 {
		t.Fatal("want a message.bounced event")
	}
}

func TestNoMXFallsBackToAddress(t *testing.T) {
	h := newHarness(t)
	h.dns.AddA("plain.example.org", "127.0.0.1")
	r := h.send(simple("someone@plain.example.org"))
	st := h.waitStatus(r.ID, "delivered")
	if st.Recipients[0].MX != "plain.example.org" {
		t.Fatalf("want delivery to the domain's own address, got %+v", st.Recipients[0])
	}
	// A domain that does not exist bounces at once.
	r = h.send(simple("someone@nowhere.example.org"))
	st = h.waitStatus(r.ID, "bounced")
	if !strings.Contains(st.Recipients[0].LastResponse, "5.1.2") {
		t.Fatalf("want 5.1.2, got %+v", st.Recipients[0])
	}
	// A null MX refuses mail.
	h.dns.AddMX("nullmx.example.org", 0, ".")
	r = h.send(simple("someone@nullmx.example.org"))
	st = h.waitStatus(r.ID, "bounced")
	if !strings.Contains(st.Recipients[0].LastResponse, "5.1.10") {
		t.Fatalf("want 5.1.10, got %+v", st.Recipients[0])
	}
}

func TestLocalDelivery(t *testing.T) {
	h := newHarness(t)
	other := h.env.Inbox(h.org, "desk@mail.example.com")
	r := h.send(simple("Desk <Desk+urgent@mail.example.com>"))
	h.waitStatus(r.ID, "delivered")
	if len(h.sink.Messages()) != 0 {
		t.Fatal("hosted mail must not leave the server")
	}
	var page models.List[models.MessageSummary]
	h.env.MustStatus(200, "GET", "/v1/inboxes/"+other.ID+"/messages", h.org.Owner, nil).JSON(t, &page)
	if len(page.Data) != 1 || page.Data[0].Direction != "inbound" || page.Data[0].Subject != "Status update" {
		t.Fatalf("local delivery: %+v", page.Data)
	}
	// A blocked sender bounces at once.
	h.env.MustStatus(201, "POST", "/v1/inboxes/"+other.ID+"/senders", h.org.Owner, models.CreateSenderRuleRequest{Pattern: "agent@mail.example.com", Kind: models.SenderBlock})
	r = h.send(simple("desk@mail.example.com"))
	st := h.waitStatus(r.ID, "bounced")
	if !strings.Contains(st.Recipients[0].LastResponse, "5.7.1") {
		t.Fatalf("blocked: %+v", st.Recipients[0])
	}
	// An unknown hosted mailbox bounces with 5.1.1.
	r = h.send(simple("nobody@mail.example.com"))
	st = h.waitStatus(r.ID, "bounced")
	if !strings.Contains(st.Recipients[0].LastResponse, "5.1.1") {
		t.Fatalf("unknown: %+v", st.Recipients[0])
	}
}

func TestRelayMode(t *testing.T) {
	relay := smtpsink.New(t, smtpsink.Options{User: "gent", Password: "relay-secret"})
	h := newHarness(t, func(c *config.Config) {
		c.Outbound.Mode, c.Outbound.RelayAddr = "relay", relay.Addr
		c.Outbound.RelayUsername, c.Outbound.RelayPassword = "gent", "relay-secret"
		c.Outbound.RelayInsecureSkipVerify = true
	})
	r := h.send(simple("ann@example.net"))
	h.waitStatus(r.ID, "delivered")
	msgs := relay.Messages()
	if len(msgs) != 1 || msgs[0].Auth != "gent" || !msgs[0].TLS {
		t.Fatalf("relay got %+v", msgs)
	}
	if len(h.sink.Messages()) != 0 {
		t.Fatal("relay mode must not deliver to MX hosts")
	}
}

func TestOpportunisticTLS(t *testing.T) {
	tlsSink := smtpsink.New(t, smtpsink.Options{TLS: true})
	h := newHarness(t, func(c *config.Config) { c.Outbound.Port = tlsSink.Port })
	r := h.send(simple("ann@example.net"))
	h.waitStatus(r.ID, "delivered")
	if m := tlsSink.Messages(); len(m) != 1 || !m[0].TLS {
		t.Fatalf("want STARTTLS used: %+v", m)
	}
}

func TestIdempotentSend(t *testing.T) {
	h := newHarness(t)
	a := h.send(simple("ann@example.net"), "Idempotency-Key", "send-1")
	b := h.send(simple("ann@example.net"), "Idempotency-Key", "send-1")
	if a.ID != b.ID {
		t.Fatalf("a retried send must answer the first send: %s vs %s", a.ID, b.ID)
	}
	h.waitStatus(a.ID, "delivered")
	time.Sleep(200 * time.Millisecond)
	if n := len(h.sink.Messages()); n != 1 {
		t.Fatalf("want one delivery, got %d", n)
	}
	var n int64
	h.env.Store.DB.Raw(`SELECT count(*) FROM messages WHERE direction = 'outbound'`).Scan(&n)
	if n != 1 {
		t.Fatalf("want one stored copy, got %d", n)
	}
}

func TestSendValidation(t *testing.T) {
	h := newHarness(t)
	path := "/v1/inboxes/" + h.inbox.ID + "/messages/send"
	cases := []struct {
		name, body string
		status     int
		field      string
	}{
		{"no recipient", `{"subject":"x","text":"y"}`, 422, "to"},
		{"bad address", `{"to":"not an address","text":"y"}`, 422, "to[0]"},
		{"subject injection", `{"to":"a@example.net","subject":"hi\r\nBcc: evil@example.org","text":"y"}`, 422, "subject"},
		{"header injection", `{"to":"a@example.net","text":"y","headers":{"X-A":"1\r\nBcc: evil@example.org"}}`, 422, "headers.X-A"},
		{"reserved header", `{"to":"a@example.net","text":"y","headers":{"From":"ceo@example.com"}}`, 422, "headers.From"},
		{"address injection", `{"to":["a@example.net\r\nBcc: evil@example.org"],"text":"y"}`, 422, "to[0]"},
		{"no body", `{"to":"a@example.net","subject":"x"}`, 422, "text"},
		{"unknown field", `{"to":"a@example.net","text":"y","from":"ceo@example.com"}`, 422, "from"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.env.Do("POST", path, h.agent.Secret, tc.body)
			var eb models.ErrorBody
			r.JSON(t, &eb)
			if r.Status != tc.status || eb.Error.Field != tc.field {
				t.Fatalf("want %d %q, got %d %s", tc.status, tc.field, r.Status, r.Body)
			}
		})
	}
	// Nothing was stored or sent.
	var n int64
	h.env.Store.DB.Raw(`SELECT count(*) FROM messages`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d messages stored by refused sends", n)
	}
	// A read-only token may not send.
	obs := h.env.Token(h.org, h.inbox.ID, []string{models.ScopeEmailRead})
	if r := h.env.Do("POST", path, obs.Secret, simple("a@example.net")); r.Status != 403 || r.ErrorCode() != "insufficient_scope" {
		t.Fatalf("observer send: %d %s", r.Status, r.Body)
	}
	// An unverified (degraded) domain does not send.
	h.env.Store.DB.Exec(`UPDATE domains SET status = 'degraded'`)
	if r := h.env.Do("POST", path, h.agent.Secret, simple("a@example.net")); r.Status != 409 {
		t.Fatalf("degraded domain: %d %s", r.Status, r.Body)
	}
}

func TestReplyKeepsThread(t *testing.T) {
	h := newHarness(t)
	orig := h.env.Deliver(h.inbox, "From: Ann <ann@example.net>\r\nTo: agent@mail.example.com\r\nCc: bob@example.net, agent@mail.example.com\r\n"+
		"Subject: Order 7\r\nMessage-ID: <order7@example.net>\r\nReferences: <root@example.net>\r\n\r\nWhere is my order?\r\n")
	var r models.SendResponse
	h.env.MustStatus(202, "POST", "/v1/inboxes/"+h.inbox.ID+"/messages/"+orig.ID+"/reply-all", h.agent.Secret,
		models.ReplyRequest{Text: "It ships today."}).JSON(t, &r)
	if r.ThreadID != orig.ThreadID {
		t.Fatalf("reply thread %s, original %s", r.ThreadID, orig.ThreadID)
	}
	h.waitStatus(r.ID, "delivered")
	m := h.sink.Messages()[0]
	for _, want := range []string{"In-Reply-To: <order7@example.net>", "References: <root@example.net> <order7@example.net>", "Subject: Re: Order 7"} {
		if !bytes.Contains(m.Data, []byte(want)) {
			t.Fatalf("reply lacks %q:\n%s", want, m.Data)
		}
	}
	if !contains(m.To, "ann@example.net") || !contains(m.To, "bob@example.net") || contains(m.To, "agent@mail.example.com") {
		t.Fatalf("reply-all recipients %v", m.To)
	}
	// Forward attaches the original.
	h.env.MustStatus(202, "POST", "/v1/inboxes/"+h.inbox.ID+"/messages/"+orig.ID+"/forward", h.agent.Secret,
		models.ReplyRequest{To: models.AddressList{"billing@example.net"}, Text: "FYI"}).JSON(t, &r)
	h.waitStatus(r.ID, "delivered")
	fwd := h.sink.Messages()[1]
	if !bytes.Contains(fwd.Data, []byte("message/rfc822")) || !bytes.Contains(fwd.Data, []byte("Subject: Fwd: Order 7")) {
		t.Fatalf("forward:\n%s", fwd.Data)
	}
	h.env.MustStatus(422, "POST", "/v1/inboxes/"+h.inbox.ID+"/messages/"+orig.ID+"/forward", h.agent.Secret, models.ReplyRequest{Text: "FYI"})
	h.env.MustStatus(404, "POST", "/v1/inboxes/"+h.inbox.ID+"/messages/msg_nope/reply", h.agent.Secret, models.ReplyRequest{Text: "x"})
}

// TestSendRecordsItsAuditEntryAndStepsWithIt: an accepted send's audit
// entry and its lifecycle steps commit with it (one transaction), exactly
// once, and the steps stay in order through the delivery; a refused send is
// audited as a failure, with nothing stored.
func TestSendRecordsItsAuditEntryAndStepsWithIt(t *testing.T) {
	h := newHarness(t)
	r := h.send(simple("ann@example.net"))
	h.waitStatus(r.ID, "delivered")
	// The sent copy shows its send's status; its own row is not rewritten
	// by the delivery (every new version of it would get entries in all
	// its indexes).
	var sent models.SentMessage
	h.env.MustStatus(200, "GET", "/v1/inboxes/"+h.inbox.ID+"/messages/"+r.ID, h.agent.Secret, nil).JSON(t, &sent)
	var stored string
	if err := h.env.Store.DB.Raw(`SELECT status FROM messages WHERE id = ?`, r.ID).Scan(&stored).Error; err != nil {
		t.Fatal(err)
	}
	if sent.Status != "delivered" || stored != "queued" {
		t.Fatalf("sent copy shows %q, its row holds %q", sent.Status, stored)
	}
	type entry struct {
		ActorType, ActorID, TargetID, Outcome string
		Status                                int
	}
	var got []entry
	if err := h.env.Store.DB.Raw(`SELECT actor_type, actor_id, target_id, outcome, status FROM audit_log
		WHERE action = 'messages.send' AND org_id = ? ORDER BY id`, h.org.ID).Scan(&got).Error; err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != (entry{"token", h.agent.ID, h.inbox.ID, "success", 202}) {
		t.Fatalf("audit entries of the send: %+v", got)
	}
	var steps models.List[models.LifecycleEntry]
	h.env.MustStatus(200, "GET", "/v1/inboxes/"+h.inbox.ID+"/messages/"+r.ID+"/lifecycle", h.agent.Secret, nil).JSON(t, &steps)
	var kinds []string
	for _, s := range steps.Data {
		kinds = append(kinds, s.Kind)
	}
	if strings.Join(kinds, ",") != "policy,queued,attempt,delivered" || steps.Data[0].Detail["decision"] != "send" ||
		steps.Data[1].Detail["recipients"] != float64(1) {
		t.Fatalf("lifecycle %v: %+v", kinds, steps.Data)
	}

	h.env.MustStatus(422, "POST", "/v1/inboxes/"+h.inbox.ID+"/messages/send", h.agent.Secret, simple("not an address"))
	got = nil
	if err := h.env.Store.DB.Raw(`SELECT actor_type, actor_id, target_id, outcome, status FROM audit_log
		WHERE action = 'messages.send' AND org_id = ? ORDER BY id`, h.org.ID).Scan(&got).Error; err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1] != (entry{"token", h.agent.ID, h.inbox.ID, "failure", 422}) {
		t.Fatalf("audit entries after a refused send: %+v", got)
	}
}
