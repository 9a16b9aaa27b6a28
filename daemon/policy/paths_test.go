package policy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"gent/daemon/mcp"
	"gent/daemon/server/servertest"
	"gent/models"
)

// outcome is what one send answered, whatever its path: a refusal's
// status and code, or the hold reasons' codes of an accepted send (none:
// queued).
type outcome struct {
	status  int // 202 accepted, or the refusal's HTTP status
	code    string
	reasons string // hold reason codes, comma-separated
}

func (o outcome) String() string {
	if o.status != 202 {
		return fmt.Sprintf("%d %s", o.status, o.code)
	}
	if o.reasons == "" {
		return "queued"
	}
	return "held " + o.reasons
}

// sendCase is one send on one path: the recipient, the text, and the
// message answered or forwarded (set up by the path).
type sendCase struct {
	rcpt     string
	text     string
	original string // the message a reply answers (from rcpt) or a forward forwards
	token    string
	mcp      *sdk.ClientSession
}

// sendPath is one way an agent sends: it returns what the send answered
// and what its dry run (or simulate_send) predicted, "" when the path has
// none.
type sendPath struct {
	name  string
	reply bool // answers a message from rcpt (so rcpt is not a first contact)
	send  func(h *harness, c sendCase) (got, dry outcome)
}

// restOutcome reads a REST send's answer.
func restOutcome(h *harness, r *servertest.Response) outcome {
	h.t.Helper()
	if r.Status != 202 {
		return outcome{status: r.Status, code: r.ErrorCode()}
	}
	var sr models.SendResponse
	r.JSON(h.t, &sr)
	var codes []string
	for _, x := range sr.HoldReasons {
		codes = append(codes, x.Code)
	}
	if (sr.Status == "pending_approval") != (len(codes) > 0) {
		h.t.Errorf("send answered %s with hold reasons %v", sr.Status, codes)
	}
	if sr.Status == "pending_approval" {
		// The approval carries the same reasons.
		var a models.ApprovalDetail
		h.env.MustStatus(200, "GET", "/v1/approvals/"+sr.ApprovalID, h.reviewer, nil).JSON(h.t, &a)
		var ac []string
		for _, x := range a.HoldReasons {
			ac = append(ac, x.Code)
		}
		if strings.Join(ac, ",") != strings.Join(codes, ",") {
			h.t.Errorf("approval %s has hold reasons %v, the send answered %v", sr.ApprovalID, ac, codes)
		}
	}
	return outcome{status: 202, reasons: strings.Join(codes, ",")}
}

// dryOutcome reads a dry run's answer (REST ?dry_run=true or simulate_send).
func dryOutcome(h *harness, d models.DryRunResult) outcome {
	switch d.Decision {
	case models.DecisionRefuse:
		if d.Error == nil {
			h.t.Errorf("dry run refuses without an error: %+v", d)
			return outcome{status: -1}
		}
		return outcome{status: statusOfCode(d.Error.Code), code: d.Error.Code}
	case models.DecisionHold, models.DecisionSend:
		var codes []string
		for _, x := range d.HoldReasons {
			codes = append(codes, x.Code)
		}
		if (d.Decision == models.DecisionHold) != (len(codes) > 0) {
			h.t.Errorf("dry run %s with hold reasons %v", d.Decision, codes)
		}
		return outcome{status: 202, reasons: strings.Join(codes, ",")}
	}
	h.t.Errorf("dry run decision %q", d.Decision)
	return outcome{status: -1}
}

func restDry(h *harness, path, tok string, body any) outcome {
	h.t.Helper()
	var d models.DryRunResult
	h.env.MustStatus(200, "POST", path+"?dry_run=true", tok, body).JSON(h.t, &d)
	return dryOutcome(h, d)
}

// mcpOutcome calls a send tool and reads its result or refusal.
func mcpOutcome(h *harness, cs *sdk.ClientSession, tool string, args map[string]any) outcome {
	h.t.Helper()
	res, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		h.t.Fatalf("%s: %v", tool, err)
	}
	b, _ := json.Marshal(res.StructuredContent)
	if res.IsError {
		var er mcp.ErrorResult
		if err := json.Unmarshal(b, &er); err != nil || er.Error == nil {
			h.t.Fatalf("%s: tool error without an error object: %s", tool, b)
		}
		return outcome{status: statusOfCode(er.Error.Code), code: er.Error.Code}
	}
	if tool == "simulate_send" {
		var d models.DryRunResult
		if err := json.Unmarshal(b, &d); err != nil {
			h.t.Fatal(err)
		}
		return dryOutcome(h, d)
	}
	var sr mcp.SendResult
	if err := json.Unmarshal(b, &sr); err != nil {
		h.t.Fatal(err)
	}
	var codes []string
	for _, x := range sr.HoldReasons {
		codes = append(codes, x.Code)
	}
	if (sr.Status == "pending_approval") != (len(codes) > 0) {
		h.t.Errorf("%s answered %s with hold reasons %v", tool, sr.Status, codes)
	}
	return outcome{status: 202, reasons: strings.Join(codes, ",")}
}

// statusOfCode is the HTTP status of the policy's refusal codes (an MCP
// refusal carries the code only).
func statusOfCode(code string) int {
	switch code {
	case models.CodeRecipientBlocked, models.CodeLoopGuard, models.CodeValidation:
		return 422
	case models.CodeSendingPaused:
		return 423
	case models.CodeSendBudgetExceeded:
		return 429
	}
	return 0
}

var sendPaths = []sendPath{
	{name: "REST send", send: func(h *harness, c sendCase) (outcome, outcome) {
		body := models.SendRequest{To: []string{c.rcpt}, Subject: "Hello", Text: c.text}
		dry := restDry(h, h.base+"/messages/send", c.token, body)
		return restOutcome(h, h.env.Do("POST", h.base+"/messages/send", c.token, body)), dry
	}},
	{name: "REST reply", reply: true, send: func(h *harness, c sendCase) (outcome, outcome) {
		p := h.base + "/messages/" + c.original + "/reply"
		body := map[string]any{"text": c.text}
		dry := restDry(h, p, c.token, body)
		return restOutcome(h, h.env.Do("POST", p, c.token, body)), dry
	}},
	{name: "REST reply-all", reply: true, send: func(h *harness, c sendCase) (outcome, outcome) {
		p := h.base + "/messages/" + c.original + "/reply-all"
		body := map[string]any{"text": c.text}
		dry := restDry(h, p, c.token, body)
		return restOutcome(h, h.env.Do("POST", p, c.token, body)), dry
	}},
	{name: "REST forward", send: func(h *harness, c sendCase) (outcome, outcome) {
		p := h.base + "/messages/" + c.original + "/forward"
		body := map[string]any{"to": []string{c.rcpt}, "text": c.text}
		dry := restDry(h, p, c.token, body)
		return restOutcome(h, h.env.Do("POST", p, c.token, body)), dry
	}},
	{name: "REST draft send", send: func(h *harness, c sendCase) (outcome, outcome) {
		var d models.Draft
		h.env.MustStatus(201, "POST", h.base+"/drafts", c.token, map[string]any{"to": []string{c.rcpt}, "subject": "Hello", "text": c.text}).JSON(h.t, &d)
		p := h.base + "/drafts/" + d.ID + "/send"
		dry := restDry(h, p, c.token, nil)
		return restOutcome(h, h.env.Do("POST", p, c.token, nil)), dry
	}},
	{name: "MCP send_message", send: func(h *harness, c sendCase) (outcome, outcome) {
		args := map[string]any{"to": []string{c.rcpt}, "subject": "Hello", "text": c.text}
		dry := mcpOutcome(h, c.mcp, "simulate_send", args)
		return mcpOutcome(h, c.mcp, "send_message", args), dry
	}},
	{name: "MCP reply_to_message", reply: true, send: func(h *harness, c sendCase) (outcome, outcome) {
		return mcpOutcome(h, c.mcp, "reply_to_message", map[string]any{"message_id": c.original, "text": c.text}), outcome{}
	}},
	{name: "MCP reply_to_message reply_all", reply: true, send: func(h *harness, c sendCase) (outcome, outcome) {
		return mcpOutcome(h, c.mcp, "reply_to_message", map[string]any{"message_id": c.original, "text": c.text, "reply_all": true}), outcome{}
	}},
	{name: "MCP forward_message", send: func(h *harness, c sendCase) (outcome, outcome) {
		return mcpOutcome(h, c.mcp, "forward_message", map[string]any{"message_id": c.original, "to": []string{c.rcpt}, "text": c.text}), outcome{}
	}},
}

// TestPolicyOnEverySendPath is the table of policy × send path × expected
// outcome: every rule of the sending policy gives the same answer on the
// REST send, reply, reply-all, forward and draft send routes, on their dry
// runs, and on the MCP send tools and simulate_send, because they all call
// the one evaluation (daemon/policy).
func TestPolicyOnEverySendPath(t *testing.T) {
	h := newHarness(t)
	url := h.env.Listen()
	connect := func(tok string) *sdk.ClientSession {
		client := sdk.NewClient(&sdk.Implementation{Name: "policy-test", Version: "1"}, nil)
		cs, err := client.Connect(context.Background(), &sdk.StreamableClientTransport{Endpoint: url + "/mcp",
			HTTPClient: mcp.HTTPClient(tok), DisableStandaloneSSE: true, MaxRetries: -1}, nil)
		if err != nil {
			t.Fatalf("connect MCP: %v", err)
		}
		t.Cleanup(func() { _ = cs.Close() })
		return cs
	}
	agentMCP := connect(h.agent)
	held := h.env.Token(h.org, h.inbox.ID, servertest.AllScopes(), models.ScopeEmailSend).Secret
	heldMCP := connect(held)
	// The message forwarded, from someone the inbox knows.
	fwd := h.env.Deliver(h.inbox, "From: known@example.net\r\nTo: agent@mail.example.com\r\nSubject: report\r\nMessage-ID: <fwd@example.net>\r\n\r\nthe report\r\n")

	queued := outcome{status: 202}
	heldFor := func(codes string) outcome { return outcome{status: 202, reasons: codes} }
	refused := func(status int, code string) outcome { return outcome{status: status, code: code} }
	cases := []struct {
		name, policy, org string
		domain            string // the recipient's domain (default example.net)
		text              string
		header            string // a header of the message answered
		heldToken         bool
		want              outcome
		wantReply         *outcome // on the reply paths, when it differs
	}{
		{name: "defaults", want: queued},
		{name: "inbox block list", policy: `{"recipients": {"block": ["blocked.example"]}}`, domain: "blocked.example",
			want: refused(422, "recipient_blocked")},
		{name: "organization block list", org: `{"block": ["*.blocked.example"]}`, domain: "sub.blocked.example",
			want: refused(422, "recipient_blocked")},
		{name: "inbox paused", policy: `{"sending_paused": true}`, want: refused(423, "sending_paused")},
		{name: "organization paused", org: `{"sending_paused": true}`, want: refused(423, "sending_paused")},
		{name: "outside the allow list, refuse", policy: `{"recipients": {"allow": ["allowed.example"], "outside_allow": "refuse"}}`,
			want: refused(422, "recipient_blocked")},
		{name: "outside the allow list, hold", policy: `{"recipients": {"allow": ["allowed.example"]}}`, want: heldFor("outside_allow")},
		{name: "on the allow list", policy: `{"recipients": {"allow": ["@allowed.example"], "outside_allow": "refuse"}}`, domain: "allowed.example",
			want: queued},
		// A reply answers someone who wrote to the inbox: never a first contact.
		{name: "first contact", policy: `{"first_contact": "hold"}`, want: heldFor("first_contact"), wantReply: &queued},
		{name: "secret in the text", text: "the key: AKIAIOSFODNN7EXAMPLE", want: heldFor("secret_detected")},
		{name: "budget, refuse", policy: `{"budget": {"per_hour": 0}}`, want: refused(429, "send_budget_exceeded")},
		{name: "budget, hold", policy: `{"budget": {"per_day": 0, "on_exceed": "hold"}}`, want: heldFor("budget")},
		{name: "token requires approval", heldToken: true, want: heldFor("token_requires_approval")},
		// The loop guard looks at the message answered: a send or a
		// forward answers nothing.
		{name: "answering an autoresponder", header: "Auto-Submitted: auto-replied", want: queued,
			wantReply: &outcome{status: 202, reasons: "loop_risk"}},
		{name: "answering a mailing list", header: "Precedence: list", want: queued, wantReply: &outcome{status: 202, reasons: "loop_risk"}},
		{name: "loop guard off", policy: `{"loop_guard": false}`, header: "Auto-Submitted: auto-generated", want: queued},
		{name: "every reason at once", policy: `{"first_contact": "hold", "recipients": {"allow": ["allowed.example"]}, "budget": {"per_hour": 0, "on_exceed": "hold"}}`,
			text: "-----BEGIN OPENSSH PRIVATE KEY-----", heldToken: true, header: "Auto-Submitted: auto-replied",
			want:      heldFor("token_requires_approval,outside_allow,first_contact,secret_detected,budget"),
			wantReply: &outcome{status: 202, reasons: "token_requires_approval,outside_allow,loop_risk,secret_detected,budget"}},
	}
	for ci, c := range cases {
		policy, org := c.policy, c.org
		if policy == "" {
			policy = `{}`
		}
		if org == "" {
			org = `{}`
		}
		h.setPolicy(policy)
		h.env.MustStatus(200, "PUT", "/v1/policy", h.org.Owner, org)
		domain := c.domain
		if domain == "" {
			domain = "example.net"
		}
		text := c.text
		if text == "" {
			text = "hi"
		}
		for pi, p := range sendPaths {
			sc := sendCase{rcpt: fmt.Sprintf("c%dp%d@%s", ci, pi, domain), text: text, token: h.agent, mcp: agentMCP, original: fwd.ID}
			if c.heldToken {
				sc.token, sc.mcp = held, heldMCP
			}
			want := c.want
			if p.reply {
				hdr := ""
				if c.header != "" {
					hdr = c.header + "\r\n"
				}
				st := h.env.Deliver(h.inbox, fmt.Sprintf("%sFrom: %s\r\nTo: agent@mail.example.com\r\nSubject: question %d-%d\r\nMessage-ID: <q%d.%d@example.net>\r\n\r\nhello\r\n",
					hdr, sc.rcpt, ci, pi, ci, pi))
				sc.original = st.ID
				if c.wantReply != nil {
					want = *c.wantReply
				}
			}
			sends := h.count(`SELECT count(*) FROM outbound_messages`)
			got, dry := p.send(h, sc)
			if got != want {
				t.Errorf("%s on %s: %s, want %s", c.name, p.name, got, want)
			}
			if dry != (outcome{}) && dry != want {
				t.Errorf("%s on %s: the dry run says %s, want %s", c.name, p.name, dry, want)
			}
			if stored := h.count(`SELECT count(*) FROM outbound_messages`) - sends; stored != map[bool]int{true: 1}[want.status == 202] {
				t.Errorf("%s on %s: %d sends recorded", c.name, p.name, stored)
			}
		}
	}
}
