package policy_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"gent/daemon/auth"
	"gent/daemon/config"
	"gent/daemon/delivery"
	"gent/daemon/dnstest"
	"gent/daemon/server/servertest"
	"gent/daemon/smtpsink"
	"gent/daemon/store/storetest"
	"gent/models"
)

func TestMain(m *testing.M) {
	delivery.PausedRecheck = 200 * time.Millisecond
	storetest.Main(m)
}

type harness struct {
	t        *testing.T
	env      *servertest.Env
	org      servertest.Org
	inbox    models.Inbox
	agent    string // all scopes, not supervised
	reviewer string
	sink     *smtpsink.Sink
	base     string
}

func newHarness(t *testing.T) *harness {
	dns := dnstest.New(t)
	sink := smtpsink.New(t)
	env := servertest.New(t, func(c *config.Config) {
		c.Hostname = "mx.gent.test"
		c.DNS.Resolver, c.DNS.Timeout = dns.Addr, config.Duration(time.Second)
		c.Outbound.Port = sink.Port
		c.Outbound.RetryIntervals = "100ms"
		c.Outbound.RatePerMinute = 1000
	})
	dns.AddA("mx.gent.test", "127.0.0.1")
	dns.AddMX("example.net", 10, "mx.example.net")
	dns.AddA("mx.example.net", "127.0.0.1")
	org := env.Setup()
	env.PublishedDomain(org, "mail.example.com", dns)
	in := env.Inbox(org, "agent@mail.example.com")
	return &harness{t: t, env: env, org: org, inbox: in, agent: env.Token(org, in.ID, servertest.AllScopes()).Secret,
		reviewer: env.User(org, models.RoleReviewer), sink: sink, base: "/v1/inboxes/" + in.ID}
}

func (h *harness) setPolicy(body string) models.InboxPolicy {
	h.t.Helper()
	var p models.InboxPolicy
	h.env.MustStatus(200, "PUT", h.base+"/policy", h.org.Owner, body).JSON(h.t, &p)
	return p
}

func (h *harness) send(to ...string) *servertest.Response {
	return h.env.Do("POST", h.base+"/messages/send", h.agent, models.SendRequest{To: to, Subject: "Hi", Text: "hello"})
}

func (h *harness) count(q string, args ...any) int {
	h.t.Helper()
	var n int64
	if err := h.env.Store.DB.Raw(q, args...).Scan(&n).Error; err != nil {
		h.t.Fatal(err)
	}
	return int(n)
}

func TestPolicyRoutes(t *testing.T) {
	h := newHarness(t)
	var p models.InboxPolicy
	h.env.MustStatus(200, "GET", h.base+"/policy", h.reviewer, nil).JSON(t, &p)
	if p.FirstContact != "allow" || p.Recipients.OutsideAllow != "hold" || p.Budget.OnExceed != "refuse" || !p.LoopGuard ||
		p.SendingPaused || p.Budget.PerHour != nil || p.Screening.QuarantineAt != 70 || p.Recipients.Allow == nil {
		t.Fatalf("defaults %+v", p)
	}
	// Agent tokens neither read nor change a policy; reviewers only read.
	h.env.MustStatus(403, "GET", h.base+"/policy", h.agent, nil)
	h.env.MustStatus(403, "PUT", h.base+"/policy", h.agent, `{}`)
	h.env.MustStatus(403, "PUT", h.base+"/policy", h.reviewer, `{}`)
	h.env.MustStatus(403, "PUT", "/v1/policy", h.agent, `{}`)

	for body, field := range map[string]string{
		`{"first_contact": "maybe"}`:                    "first_contact",
		`{"recipients": {"outside_allow": "x"}}`:        "recipients.outside_allow",
		`{"recipients": {"block": ["ok.com", "a@@b"]}}`: "recipients.block[1]",
		`{"budget": {"per_hour": -1}}`:                  "budget.per_hour",
		`{"budget": {"on_exceed": "drop"}}`:             "budget.on_exceed",
	} {
		r := h.env.MustStatus(422, "PUT", h.base+"/policy", h.org.Owner, body)
		var e models.ErrorBody
		r.JSON(t, &e)
		if e.Error.Field != field {
			t.Errorf("%s: field %q, want %q", body, e.Error.Field, field)
		}
	}
	p = h.setPolicy(`{"first_contact": "hold", "recipients": {"block": ["@Spam.example"]}, "budget": {"per_hour": 5}}`)
	if p.FirstContact != "hold" || len(p.Recipients.Block) != 1 || p.Recipients.Block[0] != "spam.example" || *p.Budget.PerHour != 5 ||
		p.Recipients.OutsideAllow != "hold" || !p.LoopGuard {
		t.Fatalf("saved %+v", p)
	}
	var audit models.List[models.AuditEntry]
	h.env.MustStatus(200, "GET", "/v1/audit?action=policy.inbox.changed", h.org.Owner, nil).JSON(t, &audit)
	if len(audit.Data) != 1 {
		t.Fatalf("audit %+v", audit.Data)
	}
	before, _ := audit.Data[0].Detail["before"].(map[string]any)
	after, _ := audit.Data[0].Detail["after"].(map[string]any)
	if before["first_contact"] != "allow" || after["first_contact"] != "hold" {
		t.Fatalf("audit detail %+v", audit.Data[0].Detail)
	}

	var op models.OrgPolicy
	h.env.MustStatus(200, "PUT", "/v1/policy", h.org.Owner, `{"sending_paused": true, "block": ["evil.example"]}`).JSON(t, &op)
	if !op.SendingPaused || len(op.Block) != 1 {
		t.Fatalf("org policy %+v", op)
	}
	if h.count(`SELECT count(*) FROM events WHERE type = 'policy.sending_paused'`) != 1 {
		t.Fatal("policy.sending_paused not evented")
	}
	h.env.MustStatus(200, "PUT", "/v1/policy", h.org.Owner, `{"sending_paused": false}`)
	if h.count(`SELECT count(*) FROM events WHERE type = 'policy.sending_resumed'`) != 1 {
		t.Fatal("policy.sending_resumed not evented")
	}
	// The organization's changes are audited with before and after too.
	h.env.MustStatus(200, "GET", "/v1/audit?action=policy.org.changed", h.org.Owner, nil).JSON(t, &audit)
	if len(audit.Data) != 2 {
		t.Fatalf("org policy audit %+v", audit.Data)
	}
	for _, e := range audit.Data { // newest first
		before, _ := e.Detail["before"].(map[string]any)
		after, _ := e.Detail["after"].(map[string]any)
		if before == nil || after == nil || before["sending_paused"] == after["sending_paused"] {
			t.Fatalf("org policy audit detail %+v", e.Detail)
		}
	}
	r := h.env.MustStatus(422, "PUT", "/v1/policy", h.org.Owner, `{"block": ["ok.example", "not a domain"]}`)
	if r.ErrorCode() != "validation_failed" {
		t.Fatalf("org block list validation: %s", r.Body)
	}
	var fe models.ErrorBody
	r.JSON(t, &fe)
	if fe.Error.Field != "block[1]" {
		t.Fatalf("org block list validation names %q", fe.Error.Field)
	}
	// Another organization's inbox is not found.
	other := h.env.OtherOrg("other")
	h.env.MustStatus(404, "GET", h.base+"/policy", other.Owner, nil)
	h.env.MustStatus(404, "PUT", h.base+"/policy", other.Owner, `{}`)
}

// jwt is a well-formed JSON web token (header.payload.signature).
const jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"

func TestSendOutcomes(t *testing.T) {
	h := newHarness(t)
	held := h.env.Token(h.org, h.inbox.ID, servertest.AllScopes(), models.ScopeEmailSend).Secret
	// Someone we have heard from: not a first contact.
	h.env.Deliver(h.inbox, "From: known@example.net\r\nTo: agent@mail.example.com\r\nSubject: hi\r\nMessage-ID: <k1@example.net>\r\n\r\nhello\r\n")

	type outcome struct {
		status  int
		code    string
		field   string
		reasons []string
	}
	cases := []struct {
		name   string
		policy string
		org    string
		token  string
		req    models.SendRequest
		want   outcome
	}{
		{"defaults send", `{}`, `{}`, "", models.SendRequest{To: []string{"new@example.net"}}, outcome{status: 202}},
		{"blocked address", `{"recipients": {"block": ["bad@example.net"]}}`, `{}`, "",
			models.SendRequest{To: []string{"ok@example.net", "bad@example.net"}}, outcome{status: 422, code: "recipient_blocked", field: "to[1]"}},
		{"blocked domain in cc", `{"recipients": {"block": ["*.example.net"]}}`, `{}`, "",
			models.SendRequest{To: []string{"ok@example.org"}, Cc: []string{"x@sub.example.net"}}, outcome{status: 422, code: "recipient_blocked", field: "cc[0]"}},
		{"organization block", `{}`, `{"block": ["example.net"]}`, "",
			models.SendRequest{To: []string{"a@example.net"}}, outcome{status: 422, code: "recipient_blocked", field: "to[0]"}},
		{"inbox paused", `{"sending_paused": true}`, `{}`, "", models.SendRequest{To: []string{"a@example.net"}}, outcome{status: 423, code: "sending_paused"}},
		{"organization paused", `{}`, `{"sending_paused": true}`, "", models.SendRequest{To: []string{"a@example.net"}}, outcome{status: 423, code: "sending_paused"}},
		{"outside allow refused", `{"recipients": {"allow": ["example.org"], "outside_allow": "refuse"}}`, `{}`, "",
			models.SendRequest{To: []string{"a@example.org", "b@example.net"}}, outcome{status: 422, code: "recipient_blocked", field: "to[1]"}},
		{"outside allow held", `{"recipients": {"allow": ["example.org"]}}`, `{}`, "",
			models.SendRequest{To: []string{"b@example.net"}}, outcome{status: 202, reasons: []string{"outside_allow"}}},
		{"first contact held", `{"first_contact": "hold"}`, `{}`, "",
			models.SendRequest{To: []string{"stranger@example.net"}}, outcome{status: 202, reasons: []string{"first_contact"}}},
		{"known contact sent", `{"first_contact": "hold"}`, `{}`, "",
			models.SendRequest{To: []string{"Known@example.net"}}, outcome{status: 202}},
		{"secret held", `{}`, `{}`, "",
			models.SendRequest{To: []string{"a@example.net"}, Text: "the key is AKIAIOSFODNN7EXAMPLE"}, outcome{status: 202, reasons: []string{"secret_detected"}}},
		{"jwt in attachment", `{}`, `{}`, "",
			models.SendRequest{To: []string{"a@example.net"}, Attachments: []models.SendAttachment{{Filename: "t.txt", ContentType: "text/plain",
				ContentBase64: base64.StdEncoding.EncodeToString([]byte("token=" + jwt))}}}, outcome{status: 202, reasons: []string{"secret_detected"}}},
		{"agent token in subject", `{}`, `{}`, "",
			models.SendRequest{To: []string{"a@example.net"}, Subject: "use " + auth.NewTokenValue()}, outcome{status: 202, reasons: []string{"secret_detected"}}},
		{"token and policy reasons together", `{"first_contact": "hold"}`, `{}`, held,
			models.SendRequest{To: []string{"z@example.net"}, Text: "-----BEGIN RSA PRIVATE KEY-----\nabc\n"},
			outcome{status: 202, reasons: []string{"token_requires_approval", "first_contact", "secret_detected"}}},
		{"budget refused", `{"budget": {"per_day": 1}}`, `{}`, "",
			models.SendRequest{To: []string{"a@example.net", "b@example.net"}}, outcome{status: 429, code: "send_budget_exceeded"}},
		{"budget held", `{"budget": {"per_hour": 1, "on_exceed": "hold"}}`, `{}`, "",
			models.SendRequest{To: []string{"a@example.net", "b@example.net"}}, outcome{status: 202, reasons: []string{"budget"}}},
	}
	for _, c := range cases {
		h.setPolicy(c.policy)
		h.env.MustStatus(200, "PUT", "/v1/policy", h.org.Owner, c.org)
		// The budgets count this inbox's sends: start each case afresh.
		h.env.Store.DB.Exec(`UPDATE outbound_messages SET created_at = now() - interval '2 days' WHERE inbox_id = ?`, h.inbox.ID)
		tok := c.token
		if tok == "" {
			tok = h.agent
		}
		if c.req.Subject == "" {
			c.req.Subject = "Hello"
		}
		if c.req.Text == "" {
			c.req.Text = "hi"
		}
		// The dry run first: same decision, nothing stored.
		msgs := h.count(`SELECT count(*) FROM messages`)
		evs := h.count(`SELECT count(*) FROM events`)
		aud := h.count(`SELECT count(*) FROM audit_log`)
		var dry models.DryRunResult
		h.env.MustStatus(200, "POST", h.base+"/messages/send?dry_run=true", tok, c.req).JSON(t, &dry)
		if h.count(`SELECT count(*) FROM messages`) != msgs || h.count(`SELECT count(*) FROM events`) != evs ||
			h.count(`SELECT count(*) FROM audit_log`) != aud {
			t.Errorf("%s: the dry run changed something", c.name)
		}
		wantDecision := models.DecisionSend
		switch {
		case c.want.status >= 400:
			wantDecision = models.DecisionRefuse
		case len(c.want.reasons) > 0:
			wantDecision = models.DecisionHold
		}
		if dry.Decision != wantDecision || (dry.Error == nil) != (c.want.code == "") || dry.Error != nil && dry.Error.Code != c.want.code ||
			len(dry.HoldReasons) != len(c.want.reasons) {
			t.Errorf("%s: dry run %+v %+v", c.name, dry, dry.Error)
		}

		r := h.env.Do("POST", h.base+"/messages/send", tok, c.req)
		if r.Status != c.want.status {
			t.Errorf("%s: status %d %s", c.name, r.Status, r.Body)
			continue
		}
		if c.want.status >= 400 {
			var e models.ErrorBody
			r.JSON(t, &e)
			if e.Error.Code != c.want.code || e.Error.Field != c.want.field {
				t.Errorf("%s: error %+v", c.name, e.Error)
			}
			if c.want.status == 429 && r.Header.Get("Retry-After") == "" {
				t.Errorf("%s: no Retry-After", c.name)
			}
			continue
		}
		var sr models.SendResponse
		r.JSON(t, &sr)
		if (sr.Status == "pending_approval") != (len(c.want.reasons) > 0) {
			t.Errorf("%s: send %+v", c.name, sr)
			continue
		}
		if len(c.want.reasons) == 0 {
			continue
		}
		var a models.ApprovalDetail
		h.env.MustStatus(200, "GET", "/v1/approvals/"+sr.ApprovalID, h.reviewer, nil).JSON(t, &a)
		var got []string
		for _, hr := range a.HoldReasons {
			got = append(got, hr.Code)
			if hr.Detail == "" {
				t.Errorf("%s: reason %s without detail", c.name, hr.Code)
			}
			if strings.Contains(hr.Detail, "AKIA") || strings.Contains(hr.Detail, "eyJ") || strings.Contains(hr.Detail, "gent_") {
				t.Errorf("%s: the reason shows the secret: %s", c.name, hr.Detail)
			}
		}
		if strings.Join(got, ",") != strings.Join(c.want.reasons, ",") {
			t.Errorf("%s: hold reasons %v, want %v", c.name, got, c.want.reasons)
		}
		var ev int
		ev = h.count(`SELECT count(*) FROM events WHERE type = 'approval.requested' AND payload->>'approval_id' = ? AND jsonb_array_length(payload->'hold_reasons') = ?`,
			sr.ApprovalID, len(c.want.reasons))
		if ev != 1 {
			t.Errorf("%s: approval.requested without the hold reasons", c.name)
		}
	}
}

// TestBudgetExactUnderConcurrency: 50 concurrent sends against a budget of
// 10 recipients an hour accept exactly 10, spread over two daemons on one
// database, each committing sends in groups.
func TestBudgetExactUnderConcurrency(t *testing.T) {
	dns := dnstest.New(t)
	envs := servertest.Replicas(t, 2, func(cfg *config.Config) {
		cfg.DNS.Resolver, cfg.DNS.Timeout = dns.Addr, config.Duration(time.Second)
		cfg.Outbound.RatePerMinute = 1000
	})
	a, b := envs[0], envs[1]
	org := a.Setup()
	a.PublishedDomain(org, "mail.example.com", dns)
	in := a.Inbox(org, "agent@mail.example.com")
	tok := a.Token(org, in.ID, servertest.AllScopes()).Secret
	base := "/v1/inboxes/" + in.ID
	a.MustStatus(200, "PUT", base+"/policy", org.Owner, `{"budget": {"per_hour": 10}}`)

	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			env := a
			if i%2 == 1 {
				env = b
			}
			r := env.Do("POST", base+"/messages/send", tok, models.SendRequest{To: []string{fmt.Sprintf("r%d@example.net", i)}, Subject: "s", Text: "t"})
			mu.Lock()
			codes[r.Status]++
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	if codes[202] != 10 || codes[429] != 40 {
		t.Fatalf("outcomes %v", codes)
	}
	var n int64
	a.Store.DB.Raw(`SELECT coalesce(sum(recipient_count), 0) FROM outbound_messages WHERE inbox_id = ?`, in.ID).Scan(&n)
	if n != 10 {
		t.Fatalf("%d recipients accepted", n)
	}
	// A dry run reads the budget and consumes none of it.
	var dry models.DryRunResult
	b.MustStatus(200, "POST", base+"/messages/send?dry_run=true", tok, models.SendRequest{To: []string{"x@example.net"}, Subject: "s", Text: "t"}).JSON(t, &dry)
	if dry.Decision != "refuse" || dry.Error == nil || dry.Error.Code != "send_budget_exceeded" {
		t.Fatalf("dry run %+v", dry)
	}
}

func TestLoopGuard(t *testing.T) {
	h := newHarness(t)
	reply := func(id string) *servertest.Response {
		return h.env.Do("POST", h.base+"/messages/"+id+"/reply", h.agent, models.ReplyRequest{Text: "thanks"})
	}
	reasons := func(r *servertest.Response) []string {
		t.Helper()
		var sr models.SendResponse
		r.JSON(t, &sr)
		if sr.ApprovalID == "" {
			return nil
		}
		var a models.ApprovalDetail
		h.env.MustStatus(200, "GET", "/v1/approvals/"+sr.ApprovalID, h.reviewer, nil).JSON(t, &a)
		var out []string
		for _, x := range a.HoldReasons {
			out = append(out, x.Code+": "+x.Detail)
		}
		return out
	}
	// Over SMTP, with the headers an autoresponder sets.
	addr := h.env.ListenSMTP()
	for i, hdr := range []string{"Auto-Submitted: auto-replied", "Precedence: bulk", "List-Id: <news.example.net>", ""} {
		raw := fmt.Sprintf("%sFrom: bot@example.net\r\nTo: agent@mail.example.com\r\nSubject: auto %d\r\nMessage-ID: <auto%d@example.net>\r\n\r\nI am away.\r\n", hdr, i, i)
		from := "bot@example.net"
		if hdr == "" {
			from = "" // a null return path
		} else {
			raw = hdr + "\r\n" + raw[len(hdr):]
		}
		if err := sendSMTP(addr, from, raw); err != nil {
			t.Fatalf("%q: %v", hdr, err)
		}
		var id string
		h.env.Store.DB.Raw(`SELECT id FROM messages WHERE message_id = ?`, fmt.Sprintf("auto%d@example.net", i)).Scan(&id)
		if id == "" {
			t.Fatalf("%s: not received", hdr)
		}
		// Recorded on the message as it arrived.
		var m models.Message
		h.env.MustStatus(200, "GET", h.base+"/messages/"+id, h.agent, nil).JSON(t, &m)
		want := map[string]string{"Auto-Submitted: auto-replied": "Auto-Submitted: auto-replied", "Precedence: bulk": "Precedence: bulk",
			"List-Id: <news.example.net>": "List-Id", "": "null return path"}[hdr]
		if m.Automatic == nil || *m.Automatic != want {
			t.Errorf("%q: message automatic %v, want %q", hdr, m.Automatic, want)
		}
		r := reply(id)
		if r.Status != 202 {
			t.Fatalf("%s: %d %s", hdr, r.Status, r.Body)
		}
		if got := reasons(r); len(got) != 1 || !strings.HasPrefix(got[0], "loop_risk") {
			t.Errorf("%s: reasons %v", hdr, got)
		}
	}
	// Auto-Submitted: no is a person's mail.
	st := h.env.Deliver(h.inbox, "Auto-Submitted: no\r\nFrom: ann@example.net\r\nTo: agent@mail.example.com\r\nSubject: q\r\nMessage-ID: <q1@example.net>\r\n\r\nhi\r\n")
	var person models.Message
	h.env.MustStatus(200, "GET", h.base+"/messages/"+st.ID, h.agent, nil).JSON(t, &person)
	if person.Automatic == nil || *person.Automatic != "" {
		t.Fatalf("a person's mail is marked automatic: %v", person.Automatic)
	}
	for i := 0; i < 10; i++ {
		if r := reply(st.ID); r.Status != 202 {
			t.Fatalf("reply %d: %d %s", i, r.Status, r.Body)
		} else if got := reasons(r); len(got) != 0 {
			t.Fatalf("reply %d: %v", i, got)
		}
	}
	// The 11th send in the thread within the hour is held.
	if got := reasons(reply(st.ID)); len(got) != 1 || !strings.HasPrefix(got[0], "loop_risk") {
		t.Fatalf("11th reply: %v", got)
	}
	// More than 100 References: refused.
	var refs []string
	for i := 0; i < 101; i++ {
		refs = append(refs, fmt.Sprintf("<r%d@example.net>", i))
	}
	long := h.env.Deliver(h.inbox, "From: ann@example.net\r\nTo: agent@mail.example.com\r\nSubject: long\r\nMessage-ID: <long@example.net>\r\nReferences: "+
		strings.Join(refs, "\r\n ")+"\r\n\r\nhi\r\n")
	r := reply(long.ID)
	if r.Status != 422 || r.ErrorCode() != "loop_guard" {
		t.Fatalf("long thread: %d %s", r.Status, r.Body)
	}
	// Without the loop guard, all of it goes.
	h.setPolicy(`{"loop_guard": false}`)
	if r := reply(long.ID); r.Status != 202 || len(reasons(r)) != 0 {
		t.Fatalf("loop guard off: %d %s", r.Status, r.Body)
	}
}

func TestPauseHoldsQueuedDeliveries(t *testing.T) {
	h := newHarness(t)
	var sr models.SendResponse
	h.env.MustStatus(202, "POST", h.base+"/messages/send", h.agent, models.SendRequest{To: []string{"a@example.net"}, Subject: "s", Text: "t"}).JSON(t, &sr)
	h.setPolicy(`{"sending_paused": true}`)
	h.env.StartJobs()
	// The job runs, finds sending paused and snoozes without an attempt.
	deadline := time.Now().Add(15 * time.Second)
	for h.count(`SELECT count(*) FROM river_job WHERE args->>'outbound_id' = ? AND (metadata->>'snoozes')::int > 0`, sr.ID) == 0 {
		if time.Now().After(deadline) {
			var states []string
			h.env.Store.DB.Raw(`SELECT state || ' ' || coalesce(attempted_at::text, '-') || ' ' || args::text FROM river_job`).Scan(&states)
			t.Fatalf("the delivery job did not snooze: %v", states)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(h.sink.Messages()) != 0 || h.count(`SELECT count(*) FROM delivery_recipients WHERE outbound_id = ? AND attempts > 0`, sr.ID) != 0 {
		t.Fatal("delivered while paused")
	}
	if r := h.send("b@example.net"); r.Status != http.StatusLocked {
		t.Fatalf("send while paused: %d", r.Status)
	}
	h.setPolicy(`{"sending_paused": false}`)
	for len(h.sink.Messages()) == 0 {
		if time.Now().After(deadline.Add(15 * time.Second)) {
			t.Fatal("not delivered after resuming")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The lifecycle shows each step, oldest first.
	var lc struct {
		Data []models.LifecycleEntry `json:"data"`
	}
	for {
		h.env.MustStatus(200, "GET", h.base+"/messages/"+sr.ID+"/lifecycle", h.agent, nil).JSON(t, &lc)
		if len(lc.Data) > 0 && lc.Data[len(lc.Data)-1].Kind == "delivered" || time.Now().After(deadline.Add(20*time.Second)) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	var kinds []string
	for _, e := range lc.Data {
		kinds = append(kinds, e.Kind)
	}
	if strings.Join(kinds, ",") != "policy,queued,attempt,delivered" {
		t.Fatalf("lifecycle %v", kinds)
	}
}

func TestHeldByPolicyApprovedDeliveredOnce(t *testing.T) {
	h := newHarness(t)
	h.env.StartJobs()
	h.setPolicy(`{"first_contact": "hold"}`)
	var sr models.SendResponse
	h.env.MustStatus(202, "POST", h.base+"/messages/send", h.agent, models.SendRequest{To: []string{"new@example.net"}, Subject: "s", Text: "t"}).JSON(t, &sr)
	if sr.Status != "pending_approval" {
		t.Fatalf("not held: %+v", sr)
	}
	h.env.MustStatus(200, "POST", "/v1/approvals/"+sr.ApprovalID+"/approve", h.reviewer, nil)
	deadline := time.Now().Add(15 * time.Second)
	for len(h.sink.Messages()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("not delivered")
		}
		time.Sleep(50 * time.Millisecond)
	}
	var lc struct {
		Data []models.LifecycleEntry `json:"data"`
	}
	for {
		h.env.MustStatus(200, "GET", h.base+"/messages/"+sr.ID+"/lifecycle", h.org.Owner, nil).JSON(t, &lc)
		if len(lc.Data) > 0 && lc.Data[len(lc.Data)-1].Kind == "delivered" || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	var kinds []string
	for _, e := range lc.Data {
		kinds = append(kinds, e.Kind)
	}
	if strings.Join(kinds, ",") != "policy,held,approved,queued,attempt,delivered" {
		t.Fatalf("lifecycle %v", kinds)
	}
	if n := len(h.sink.Messages()); n != 1 {
		t.Fatalf("delivered %d times", n)
	}
}

// TestAutoSubmittedWhenAsked: the inbox's outbound mail carries
// "Auto-Submitted: auto-generated" only when its policy asks for it.
func TestAutoSubmittedWhenAsked(t *testing.T) {
	h := newHarness(t)
	raw := func() string {
		t.Helper()
		var sr models.SendResponse
		h.env.MustStatus(202, "POST", h.base+"/messages/send", h.agent, models.SendRequest{To: []string{"a@example.net"}, Subject: "s", Text: "t"}).JSON(t, &sr)
		return string(h.env.MustStatus(200, "GET", h.base+"/messages/"+sr.ID+"/raw", h.agent, nil).Body)
	}
	if r := raw(); strings.Contains(strings.ToLower(r), "auto-submitted") {
		t.Fatalf("marked without being asked:\n%s", r)
	}
	h.setPolicy(`{"auto_submitted": true}`)
	if r := raw(); !strings.Contains(r, "Auto-Submitted: auto-generated\r\n") {
		t.Fatalf("not marked:\n%s", r)
	}
}

// sendSMTP delivers one message to the agent's inbox over SMTP.
func sendSMTP(addr, from, raw string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("client.example.net"); err != nil {
		return err
	}
	return c.SendMail(from, []string{"agent@mail.example.com"}, strings.NewReader(raw))
}

// TestEditRechecksWhatItChanges: a reviewer's edit of a held send is
// checked again for what an edit can change: its recipients (block
// lists), the recipients it adds against a refusing budget, and a secret
// it adds; a refused edit leaves the send pending.
func TestEditRechecksWhatItChanges(t *testing.T) {
	h := newHarness(t)
	h.setPolicy(`{"first_contact": "hold", "recipients": {"block": ["bad@example.net"]}, "budget": {"per_hour": 3}}`)
	hold := func(text string) models.SendResponse {
		t.Helper()
		var sr models.SendResponse
		h.env.MustStatus(202, "POST", h.base+"/messages/send", h.agent, models.SendRequest{To: []string{"new@example.net"}, Subject: "s", Text: text}).JSON(t, &sr)
		if sr.ApprovalID == "" {
			t.Fatalf("not held: %+v", sr)
		}
		return sr
	}
	approve := func(id string, edits map[string]any) *servertest.Response {
		return h.env.Do("POST", "/v1/approvals/"+id+"/approve", h.reviewer, map[string]any{"edits": edits})
	}
	refusedAs := func(what string, r *servertest.Response, status int, code, field string) {
		t.Helper()
		var e models.ErrorBody
		r.JSON(t, &e)
		if r.Status != status || e.Error == nil || e.Error.Code != code || e.Error.Field != field {
			t.Fatalf("%s: %d %s, want %d %s field %s", what, r.Status, r.Body, status, code, field)
		}
	}
	sr := hold("t")
	// Recipients: the block list.
	refusedAs("edit to a blocked address", approve(sr.ApprovalID, map[string]any{"to": []string{"ok@example.net", "bad@example.net"}}),
		422, "recipient_blocked", "edits.to[1]")
	// Budget (3 an hour, 1 counted): an edit adding three recipients is
	// refused, with Retry-After; one adding two fits.
	r := approve(sr.ApprovalID, map[string]any{"to": []string{"a@example.net"}, "cc": []string{"b@example.net", "c@example.net", "d@example.net"}})
	refusedAs("edit over the budget", r, 429, "send_budget_exceeded", "edits")
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("budget refusal of an edit without Retry-After")
	}
	// Secrets: the edit may not add one.
	refusedAs("edit adding a key", approve(sr.ApprovalID, map[string]any{"text": "use AKIAIOSFODNN7EXAMPLE"}),
		422, "validation_failed", "edits.text")
	refusedAs("edit adding a JWT to the subject", approve(sr.ApprovalID, map[string]any{"subject": "token " + jwt}),
		422, "validation_failed", "edits.subject")
	if h.count(`SELECT count(*) FROM approvals WHERE id = ? AND status = 'pending'`, sr.ApprovalID) != 1 {
		t.Fatal("a refused edit decided the approval")
	}
	h.env.MustStatus(200, "POST", "/v1/approvals/"+sr.ApprovalID+"/approve", h.reviewer,
		map[string]any{"edits": map[string]any{"to": []string{"a@example.net", "b@example.net", "c@example.net"}, "text": "fixed"}})
	if n := h.count(`SELECT recipient_count FROM outbound_messages WHERE id = ?`, sr.ID); n != 3 {
		t.Fatalf("the edited send counts %d recipients, want 3", n)
	}

	// A secret the agent wrote is the hold the reviewer decides: editing
	// around it (or keeping it) is fine.
	h.env.Store.DB.Exec(`UPDATE outbound_messages SET created_at = now() - interval '2 hours' WHERE inbox_id = ?`, h.inbox.ID)
	sk := hold("the key is AKIAIOSFODNN7EXAMPLE")
	h.env.MustStatus(200, "POST", "/v1/approvals/"+sk.ApprovalID+"/approve", h.reviewer,
		map[string]any{"edits": map[string]any{"text": "the key is AKIAIOSFODNN7EXAMPLE, rotate it"}})

	// A budget that holds: the reviewer's approval decides it.
	h.setPolicy(`{"first_contact": "hold", "budget": {"per_hour": 1, "on_exceed": "hold"}}`)
	h.env.Store.DB.Exec(`UPDATE outbound_messages SET created_at = now() - interval '2 hours' WHERE inbox_id = ?`, h.inbox.ID)
	sb := hold("t")
	h.env.MustStatus(200, "POST", "/v1/approvals/"+sb.ApprovalID+"/approve", h.reviewer,
		map[string]any{"edits": map[string]any{"to": []string{"a@example.net", "b@example.net"}}})
}
