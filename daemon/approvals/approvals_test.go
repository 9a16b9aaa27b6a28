package approvals_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gent/daemon/config"
	"gent/daemon/dnstest"
	"gent/daemon/server"
	"gent/daemon/server/servertest"
	"gent/daemon/smtpsink"
	"gent/daemon/store"
	"gent/daemon/store/storetest"
	"gent/models"
)

func TestMain(m *testing.M) { storetest.Main(m) }

type harness struct {
	t          *testing.T
	env        *servertest.Env
	org        servertest.Org
	inbox      models.Inbox
	supervised models.TokenSecret
	reviewer   string
	sink       *smtpsink.Sink
	dns        *dnstest.Server
	cfg        func(*config.Config)
}

func newHarness(t *testing.T, mutate ...func(*config.Config)) *harness {
	dns := dnstest.New(t)
	sink := smtpsink.New(t)
	cfg := func(c *config.Config) {
		c.Hostname = "mx.gent.test"
		c.DNS.Resolver, c.DNS.Timeout = dns.Addr, config.Duration(time.Second)
		c.Outbound.Port = sink.Port
		c.Outbound.RetryIntervals = "100ms"
		c.Approvals.CheckInterval = config.Duration(time.Second)
		for _, m := range mutate {
			m(c)
		}
	}
	env := servertest.New(t, cfg)
	dns.AddA("mx.gent.test", "127.0.0.1")
	dns.AddMX("example.net", 10, "mx.example.net")
	dns.AddA("mx.example.net", "127.0.0.1")
	org := env.Setup()
	env.PublishedDomain(org, "mail.example.com", dns)
	in := env.Inbox(org, "agent@mail.example.com")
	// The product page's supervised send token body, verbatim.
	var tok models.TokenSecret
	env.MustStatus(201, "POST", "/v1/tokens/", org.Owner, strings.Replace(`{
  "inbox_id": "inb_123",
  "label": "supervised-reply-agent",
  "scopes": ["email:read", "email:send"],
  "requires_approval": ["email:send"]
}`, "inb_123", in.ID, 1)).JSON(t, &tok)
	return &harness{t: t, env: env, org: org, inbox: in, supervised: tok, reviewer: env.User(org, models.RoleReviewer),
		sink: sink, dns: dns, cfg: cfg}
}

func (h *harness) hold(subject string) models.SendResponse {
	h.t.Helper()
	var r models.SendResponse
	h.env.MustStatus(202, "POST", "/v1/inboxes/"+h.inbox.ID+"/messages/send", h.supervised.Secret, models.SendRequest{
		To: models.AddressList{"Ann <ann@example.net>"}, Bcc: models.AddressList{"audit@example.net"}, Subject: subject,
		Text: "We will refund you.", Attachments: []models.SendAttachment{{Filename: "note.txt", ContentBase64: "aGVsbG8="}},
	}).JSON(h.t, &r)
	if r.Status != "pending_approval" || !strings.HasPrefix(r.ApprovalID, "apr_") {
		h.t.Fatalf("want a held send, got %+v", r)
	}
	return r
}

func (h *harness) message(id string) models.SentMessage {
	h.t.Helper()
	var m models.SentMessage
	h.env.MustStatus(200, "GET", "/v1/inboxes/"+h.inbox.ID+"/messages/"+id, h.supervised.Secret, nil).JSON(h.t, &m)
	return m
}

func (h *harness) waitMessageStatus(id, want string) models.SentMessage {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		m := h.message(id)
		if m.Status == want {
			return m
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("message %s: want %s, still %s", id, want, m.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (h *harness) eventCount(typ string) int {
	var n int64
	h.env.Store.DB.Raw(`SELECT count(*) FROM events WHERE type = ?`, typ).Scan(&n)
	return int(n)
}

func TestHeldUntilApproved(t *testing.T) {
	h := newHarness(t)
	h.env.StartJobs()
	r := h.hold("Refund")
	// Held: not queued, nothing delivered, the agent sees pending_approval.
	time.Sleep(300 * time.Millisecond)
	if len(h.sink.Messages()) != 0 {
		t.Fatal("a held message left before approval")
	}
	m := h.message(r.ID)
	if m.Status != "pending_approval" || m.Approval == nil || m.Approval.Status != "pending" {
		t.Fatalf("agent view %+v %+v", m.Status, m.Approval)
	}
	if h.eventCount("approval.requested") != 1 {
		t.Fatal("approval.requested not emitted")
	}
	// The reviewer sees the pending queue and the whole message.
	var page models.List[models.Approval]
	h.env.MustStatus(200, "GET", "/v1/approvals?status=pending", h.reviewer, nil).JSON(t, &page)
	if len(page.Data) != 1 || page.Data[0].ID != r.ApprovalID || page.Data[0].TokenLabel != "supervised-reply-agent" {
		t.Fatalf("pending queue %+v", page.Data)
	}
	var d models.ApprovalDetail
	h.env.MustStatus(200, "GET", "/v1/approvals/"+r.ApprovalID, h.reviewer, nil).JSON(t, &d)
	hm := d.Message
	if hm.Subject != "Refund" || hm.Text != "We will refund you." || len(hm.To) != 1 || hm.To[0].Address != "ann@example.net" ||
		len(hm.Bcc) != 1 || hm.Bcc[0].Address != "audit@example.net" || len(hm.Attachments) != 1 || hm.Attachments[0].Filename != "note.txt" ||
		hm.ThreadID == "" || d.Digest == "" {
		t.Fatalf("held message %+v", d)
	}
	// An agent can never decide, not even on its own mail.
	h.env.MustStatus(403, "POST", "/v1/approvals/"+r.ApprovalID+"/approve", h.supervised.Secret, nil)
	h.env.MustStatus(403, "GET", "/v1/approvals", h.supervised.Secret, nil)
	// Approve → queued in the same transaction → delivered.
	var ap models.Approval
	h.env.MustStatus(200, "POST", "/v1/approvals/"+r.ApprovalID+"/approve", h.reviewer, nil).JSON(t, &ap)
	if ap.Status != "approved" || ap.Edited || ap.ApprovedDigest != ap.Digest {
		t.Fatalf("approval %+v", ap)
	}
	h.waitMessageStatus(r.ID, "delivered")
	msgs := h.sink.WaitFor(t, 1, 10*time.Second)
	if !bytes.Contains(msgs[0].Data, []byte("We will refund you.")) || len(msgs[0].To) != 2 {
		t.Fatalf("delivered %+v", msgs[0])
	}
	if h.eventCount("message.approved") != 1 {
		t.Fatal("message.approved not emitted")
	}
	var n int64
	h.env.Store.DB.Raw(`SELECT count(*) FROM audit_log WHERE action = 'approval.approved' AND detail->>'digest' = ?`, ap.Digest).Scan(&n)
	if n != 1 {
		t.Fatal("decision not audited with its digest")
	}
	// A second decision loses.
	h.env.MustStatus(409, "POST", "/v1/approvals/"+r.ApprovalID+"/approve", h.reviewer, nil)
	h.env.MustStatus(409, "POST", "/v1/approvals/"+r.ApprovalID+"/reject", h.reviewer, models.RejectRequest{Reason: "late"})
}

func TestRejectedNeverSent(t *testing.T) {
	h := newHarness(t)
	h.env.StartJobs()
	r := h.hold("Refund")
	h.env.MustStatus(422, "POST", "/v1/approvals/"+r.ApprovalID+"/reject", h.reviewer, models.RejectRequest{Reason: "  "})
	var ap models.Approval
	h.env.MustStatus(200, "POST", "/v1/approvals/"+r.ApprovalID+"/reject", h.reviewer,
		models.RejectRequest{Reason: "Do not promise refunds; escalate to billing."}).JSON(t, &ap)
	if ap.Status != "rejected" {
		t.Fatalf("%+v", ap)
	}
	m := h.message(r.ID)
	if m.Status != "rejected" || m.Approval.Reason != "Do not promise refunds; escalate to billing." {
		t.Fatalf("agent view %s %+v", m.Status, m.Approval)
	}
	// It was never sent, and its label says so.
	if slices.Contains(m.Labels, "sent") || !slices.Contains(m.Labels, "rejected") {
		t.Fatalf("labels of a rejected send: %v", m.Labels)
	}
	h.env.MustStatus(409, "POST", "/v1/approvals/"+r.ApprovalID+"/approve", h.reviewer, nil)
	time.Sleep(500 * time.Millisecond)
	if len(h.sink.Messages()) != 0 {
		t.Fatal("a rejected message was delivered")
	}
	if h.eventCount("message.rejected") != 1 {
		t.Fatal("message.rejected not emitted")
	}
}

func TestApproveWithEdits(t *testing.T) {
	h := newHarness(t)
	h.env.StartJobs()
	h.env.MustStatus(201, "POST", "/v1/inboxes/"+h.inbox.ID+"/senders", h.org.Owner, models.CreateSenderRuleRequest{Pattern: "x.example", Kind: models.SenderBlock})
	r := h.hold("Refund")
	// Edits are validated like a new send.
	h.env.MustStatus(422, "POST", "/v1/approvals/"+r.ApprovalID+"/approve", h.reviewer, `{"edits":{"subject":"a\r\nBcc: evil@example.org"}}`)
	h.env.MustStatus(422, "POST", "/v1/approvals/"+r.ApprovalID+"/approve", h.reviewer, `{"edits":{"to":["not an address"]}}`)
	var ap models.Approval
	h.env.MustStatus(200, "POST", "/v1/approvals/"+r.ApprovalID+"/approve", h.reviewer,
		`{"edits":{"subject":"Your refund request","text":"Billing will contact you within a day."}}`).JSON(t, &ap)
	if !ap.Edited || ap.ApprovedDigest == ap.Digest || ap.Subject != "Your refund request" {
		t.Fatalf("edited approval %+v", ap)
	}
	m := h.waitMessageStatus(r.ID, "delivered")
	if m.Subject != "Your refund request" || !contains(m.Labels, "edited") || !m.Approval.Edited {
		t.Fatalf("the agent sees the edited version: %+v %v", m.Subject, m.Labels)
	}
	msgs := h.sink.WaitFor(t, 1, 10*time.Second)
	if !bytes.Contains(msgs[0].Data, []byte("Billing will contact you")) || bytes.Contains(msgs[0].Data, []byte("We will refund you")) {
		t.Fatalf("sent as edited?\n%s", msgs[0].Data)
	}
	var n int64
	h.env.Store.DB.Raw(`SELECT count(*) FROM audit_log WHERE action = 'approval.approved' AND detail->>'edited_by' <> '' AND detail->>'approved_digest' = ?`, ap.ApprovedDigest).Scan(&n)
	if n != 1 {
		t.Fatal("edit not audited with both digests and the editor")
	}
	// Usage follows the edited size exactly.
	var used, size int64
	h.env.Store.DB.Raw(`SELECT used_bytes FROM inboxes WHERE id = ?`, h.inbox.ID).Scan(&used)
	h.env.Store.DB.Raw(`SELECT coalesce(sum(size),0) FROM messages WHERE inbox_id = ?`, h.inbox.ID).Scan(&size)
	if used != size {
		t.Fatalf("usage %d, stored %d", used, size)
	}
}

func TestConcurrentDecisionsOneWinner(t *testing.T) {
	h := newHarness(t)
	r := h.hold("Refund")
	var wg sync.WaitGroup
	statuses := make(chan int, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if i%2 == 0 {
				statuses <- h.env.Do("POST", "/v1/approvals/"+r.ApprovalID+"/approve", h.reviewer, nil).Status
			} else {
				statuses <- h.env.Do("POST", "/v1/approvals/"+r.ApprovalID+"/reject", h.reviewer, models.RejectRequest{Reason: "no"}).Status
			}
		}(i)
	}
	wg.Wait()
	close(statuses)
	wins := 0
	for s := range statuses {
		switch s {
		case 200:
			wins++
		case 409:
		default:
			t.Errorf("unexpected status %d", s)
		}
	}
	if wins != 1 {
		t.Fatalf("want exactly one decision, got %d", wins)
	}
	var jobs int64
	h.env.Store.DB.Raw(`SELECT count(*) FROM river_job WHERE kind = 'delivery.send'`).Scan(&jobs)
	var status string
	h.env.Store.DB.Raw(`SELECT status FROM approvals WHERE id = ?`, r.ApprovalID).Scan(&status)
	if (status == "approved") != (jobs == 1) || jobs > 1 {
		t.Fatalf("approval %s with %d delivery jobs", status, jobs)
	}
}

func TestExpiry(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Approvals.ExpireAfter = config.Duration(500 * time.Millisecond) })
	r := h.hold("Refund")
	r2 := h.hold("Second")
	// Deciding after expiry is a 409, and expires it on the spot.
	time.Sleep(600 * time.Millisecond)
	h.env.MustStatus(409, "POST", "/v1/approvals/"+r.ApprovalID+"/approve", h.reviewer, nil)
	if m := h.message(r.ID); m.Status != "expired" {
		t.Fatalf("want expired, got %s", m.Status)
	}
	// The job expires the rest.
	h.env.StartJobs()
	h.waitMessageStatus(r2.ID, "expired")
	if h.eventCount("message.expired") != 2 {
		t.Fatalf("want 2 message.expired, got %d", h.eventCount("message.expired"))
	}
	time.Sleep(300 * time.Millisecond)
	if len(h.sink.Messages()) != 0 {
		t.Fatal("an expired message was delivered")
	}
	var page models.List[models.Approval]
	h.env.MustStatus(200, "GET", "/v1/approvals?status=expired", h.reviewer, nil).JSON(t, &page)
	if len(page.Data) != 2 {
		t.Fatalf("expired list %+v", page.Data)
	}
}

func TestOtherOrganizationAndValidation(t *testing.T) {
	h := newHarness(t)
	r := h.hold("Refund")
	other := h.env.OtherOrg("Other")
	h.env.MustStatus(404, "GET", "/v1/approvals/"+r.ApprovalID, other.Owner, nil)
	h.env.MustStatus(404, "POST", "/v1/approvals/"+r.ApprovalID+"/approve", other.Owner, nil)
	h.env.MustStatus(404, "POST", "/v1/approvals/"+r.ApprovalID+"/reject", other.Owner, models.RejectRequest{Reason: "x"})
	var page models.List[models.Approval]
	h.env.MustStatus(200, "GET", "/v1/approvals", other.Owner, nil).JSON(t, &page)
	if len(page.Data) != 0 {
		t.Fatal("other org sees approvals")
	}
	h.env.MustStatus(422, "GET", "/v1/approvals?status=maybe", h.reviewer, nil)
	// Replies and idempotent replays by a supervised token are held too.
	orig := h.env.Deliver(h.inbox, "From: ann@example.net\r\nTo: agent@mail.example.com\r\nSubject: Q\r\nMessage-ID: <q@example.net>\r\n\r\nhi\r\n")
	var rr models.SendResponse
	h.env.MustStatus(202, "POST", "/v1/inboxes/"+h.inbox.ID+"/messages/"+orig.ID+"/reply", h.supervised.Secret, models.ReplyRequest{Text: "ok"},
		"Idempotency-Key", "r1").JSON(t, &rr)
	var again models.SendResponse
	h.env.MustStatus(202, "POST", "/v1/inboxes/"+h.inbox.ID+"/messages/"+orig.ID+"/reply", h.supervised.Secret, models.ReplyRequest{Text: "ok"},
		"Idempotency-Key", "r1").JSON(t, &again)
	if rr.Status != "pending_approval" || !reflect.DeepEqual(again, rr) {
		t.Fatalf("reply %+v, replay %+v", rr, again)
	}
	var fw models.SendResponse
	h.env.MustStatus(202, "POST", "/v1/inboxes/"+h.inbox.ID+"/messages/"+orig.ID+"/forward", h.supervised.Secret,
		models.ReplyRequest{To: models.AddressList{"x@example.net"}, Text: "fyi"}).JSON(t, &fw)
	if fw.Status != "pending_approval" {
		t.Fatalf("forward %+v", fw)
	}
	var jobs int64
	h.env.Store.DB.Raw(`SELECT count(*) FROM river_job WHERE kind = 'delivery.send'`).Scan(&jobs)
	if jobs != 0 {
		t.Fatalf("%d delivery jobs for held sends", jobs)
	}
}

// Held sends survive a restart: a second daemon on the same database sees
// the same queue, and approving there delivers.
func TestHeldSurvivesRestart(t *testing.T) {
	h := newHarness(t)
	r := h.hold("Refund")
	cfg := servertest.Config(t)
	h.cfg(&cfg)
	cfg.DataDir = h.env.Config.DataDir // same master key
	st, err := store.Connect(context.Background(), h.env.Store.URL, 10, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Pool.Close()
	d, err := server.New(cfg, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	env2 := &servertest.Env{T: t, Daemon: d}
	env2.StartJobs()
	time.Sleep(300 * time.Millisecond)
	if len(h.sink.Messages()) != 0 {
		t.Fatal("held message left after restart")
	}
	env2.MustStatus(200, "POST", "/v1/approvals/"+r.ApprovalID+"/approve", h.reviewer, nil)
	h.sink.WaitFor(t, 1, 10*time.Second)
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
