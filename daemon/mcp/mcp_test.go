package mcp_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"gent/daemon/auth"
	"gent/daemon/mcp"
	"gent/models"
)

// toolNames lists a session's tools.
func toolNames(t *testing.T, cs *sdk.ClientSession) map[string]*sdk.Tool {
	t.Helper()
	out := map[string]*sdk.Tool{}
	for tool, err := range cs.Tools(context.Background(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		out[tool.Name] = tool
	}
	return out
}

// The tools each preset token lists, written out from DESIGN.md section 9
// rather than derived from the tool table, so the two check each other.
func TestToolListPerPreset(t *testing.T) {
	h := newHarness(t)
	reads := []string{"whoami", "list_messages", "search_messages", "get_message", "list_threads", "get_thread", "wait_for_message"}
	sends := []string{"send_message", "reply_to_message", "forward_message", "simulate_send", "get_send_status"}
	cases := []struct {
		name   string
		scopes []string
		held   []string
		want   []string
	}{
		{"default agent", defaultAgent, nil, append(append(slices.Clone(reads), sends...), "get_attachment", "update_message")},
		{"supervised send", supervised, []string{models.ScopeEmailSend}, append(slices.Clone(reads), sends...)},
		{"read-only observer", observer, nil, append(slices.Clone(reads), "get_attachment", "list_contacts")},
		{"contacts:read only", []string{models.ScopeContactsRead}, nil, []string{"whoami", "list_contacts"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cs := h.connect(h.token(c.scopes, c.held...).Secret)
			got := toolNames(t, cs)
			var names []string
			for n := range got {
				names = append(names, n)
			}
			slices.Sort(names)
			want := slices.Clone(c.want)
			slices.Sort(want)
			if !slices.Equal(names, want) {
				t.Fatalf("tools:\n got %v\nwant %v", names, want)
			}
			for _, tool := range got {
				a := tool.Annotations
				if a == nil || a.DestructiveHint == nil || a.OpenWorldHint == nil || tool.Description == "" || tool.InputSchema == nil {
					t.Errorf("%s: missing annotations, description or schema: %+v", tool.Name, tool)
					continue
				}
				readOnly := !slices.Contains([]string{"send_message", "reply_to_message", "forward_message", "update_message"}, tool.Name)
				if a.ReadOnlyHint != readOnly || *a.DestructiveHint {
					t.Errorf("%s: readOnlyHint %v destructiveHint %v", tool.Name, a.ReadOnlyHint, *a.DestructiveHint)
				}
				openWorld := slices.Contains([]string{"send_message", "reply_to_message", "forward_message", "wait_for_message"}, tool.Name)
				if *a.OpenWorldHint != openWorld {
					t.Errorf("%s: openWorldHint %v", tool.Name, *a.OpenWorldHint)
				}
			}
		})
	}
	// The table agrees with the lists: every tool is in exactly one scope.
	var all []string
	for _, tool := range mcp.New(mcp.Deps{}).Tools() {
		all = append(all, tool.Name)
	}
	if len(all) != 15 {
		t.Errorf("the tool table has %d tools: %v", len(all), all)
	}
}

// Every tool's happy path, with the structured content compared with the
// REST answer of the same request.
func TestEveryTool(t *testing.T) {
	h := newHarness(t)
	all := []string{models.ScopeEmailRead, models.ScopeEmailSend, models.ScopeEmailWrite, models.ScopeFilesRead, models.ScopeContactsRead}
	tok := h.token(all)
	cs := h.connect(tok.Secret)
	in := h.env.Deliver(h.inbox, fmt.Sprintf(fixtureMail, "Quarterly report", "q1"))
	base := "/v1/inboxes/" + h.inbox.ID

	var who models.WhoAmI
	res := ok(t, cs, "whoami", nil, &who)
	sameJSON(t, "whoami", res, h.env.MustStatus(200, "GET", "/v1/token", tok.Secret, nil).Body)
	if who.InboxID != h.inbox.ID || who.Address != h.inbox.Address {
		t.Fatalf("whoami: %+v", who)
	}

	res = ok(t, cs, "get_message", map[string]any{"message_id": in.ID}, nil)
	sameJSON(t, "get_message", res, h.env.MustStatus(200, "GET", base+"/messages/"+in.ID, tok.Secret, nil).Body)
	if txt := text(res); !strings.HasPrefix(txt, mcp.External) || !strings.Contains(txt, "Hello agent") {
		t.Fatalf("get_message text: %s", txt)
	}

	res = ok(t, cs, "list_messages", map[string]any{"limit": 10}, nil)
	sameJSON(t, "list_messages", res, h.env.MustStatus(200, "GET", base+"/messages?limit=10", tok.Secret, nil).Body)
	if !strings.Contains(text(res), "outside senders") {
		t.Fatalf("list_messages text lacks the external-content notice: %s", text(res))
	}
	res = ok(t, cs, "list_messages", map[string]any{"thread_id": in.ThreadID, "unread": true}, nil)
	sameJSON(t, "list_messages filtered", res, h.env.MustStatus(200, "GET", base+"/messages?thread_id="+in.ThreadID+"&unread=true", tok.Secret, nil).Body)

	var found models.List[models.MessageSummary]
	res = ok(t, cs, "search_messages", map[string]any{"query": "quarterly"}, &found)
	sameJSON(t, "search_messages", res, h.env.MustStatus(200, "GET", base+"/messages?q=quarterly", tok.Secret, nil).Body)
	if len(found.Data) != 1 || found.Data[0].ID != in.ID {
		t.Fatalf("search: %+v", found)
	}

	res = ok(t, cs, "list_threads", nil, nil)
	sameJSON(t, "list_threads", res, h.env.MustStatus(200, "GET", base+"/threads", tok.Secret, nil).Body)
	res = ok(t, cs, "get_thread", map[string]any{"thread_id": in.ThreadID}, nil)
	sameJSON(t, "get_thread", res, h.env.MustStatus(200, "GET", base+"/threads/"+in.ThreadID, tok.Secret, nil).Body)

	var msg models.Message
	ok(t, cs, "get_message", map[string]any{"message_id": in.ID}, &msg)
	var att mcp.AttachmentResult
	ok(t, cs, "get_attachment", map[string]any{"message_id": in.ID, "attachment_id": msg.Attachments[0].ID}, &att)
	rest := h.env.MustStatus(200, "GET", base+"/messages/"+in.ID+"/attachments/"+msg.Attachments[0].ID, tok.Secret, nil)
	if att.Encoding != "text" || att.Content != string(rest.Body) || att.Filename != "report.csv" || att.Truncated {
		t.Fatalf("get_attachment: %+v, REST %q", att, rest.Body)
	}

	var upd models.Message
	res = ok(t, cs, "update_message", map[string]any{"message_id": in.ID, "labels_add": []string{"reports"}, "read": true}, &upd)
	if !upd.Read || !slices.Contains(upd.Labels, "reports") {
		t.Fatalf("update_message: %+v", upd)
	}
	sameJSON(t, "update_message", res, h.env.MustStatus(200, "GET", base+"/messages/"+in.ID, tok.Secret, nil).Body)

	var sim mcp.SimulateResult
	ok(t, cs, "simulate_send", map[string]any{"to": []string{"bob@example.net"}, "subject": "Hi", "text": "Hello"}, &sim)
	if sim.Decision != "send" || len(sim.HoldReasons) != 0 || sim.Error != nil {
		t.Fatalf("simulate_send: %+v", sim)
	}
	ok(t, cs, "simulate_send", map[string]any{"to": []string{"not an address"}, "subject": "Hi", "text": "Hello"}, &sim)
	if sim.Decision != "refuse" || sim.Error == nil || sim.Error.Code != models.CodeValidation {
		t.Fatalf("simulate_send of a bad address: %+v", sim)
	}

	var sent mcp.SendResult
	res = ok(t, cs, "send_message", map[string]any{"to": []string{"bob@example.net"}, "subject": "Hi", "text": "Hello"}, &sent)
	if sent.Status != "queued" || sent.HoldReasons == nil || len(sent.HoldReasons) != 0 || !strings.HasPrefix(sent.MessageID, "msg_") {
		t.Fatalf("send_message: %+v", sent)
	}
	var st models.SendStatus
	res = ok(t, cs, "get_send_status", map[string]any{"message_id": sent.MessageID}, &st)
	sameJSON(t, "get_send_status", res, h.env.MustStatus(200, "GET", base+"/messages/"+sent.MessageID+"/delivery", tok.Secret, nil).Body)
	if st.Status != "queued" || len(st.Recipients) != 1 {
		t.Fatalf("get_send_status: %+v", st)
	}

	var reply, all2, fwd mcp.SendResult
	ok(t, cs, "reply_to_message", map[string]any{"message_id": in.ID, "text": "Thanks"}, &reply)
	ok(t, cs, "reply_to_message", map[string]any{"message_id": in.ID, "text": "Thanks all", "reply_all": true}, &all2)
	ok(t, cs, "forward_message", map[string]any{"message_id": in.ID, "to": []string{"carol@example.net"}, "text": "FYI"}, &fwd)
	var replied models.SentMessage
	ok(t, cs, "get_message", map[string]any{"message_id": reply.MessageID}, &replied)
	if replied.Subject != "Re: Quarterly report" || replied.To[0].Address != "ada@example.org" || replied.ThreadID != in.ThreadID {
		t.Fatalf("reply: %+v", replied.MessageSummary)
	}
	var forwarded models.SentMessage
	ok(t, cs, "get_message", map[string]any{"message_id": fwd.MessageID}, &forwarded)
	if forwarded.Subject != "Fwd: Quarterly report" || forwarded.To[0].Address != "carol@example.net" {
		t.Fatalf("forward: %+v", forwarded.MessageSummary)
	}

	var contacts models.List[models.Contact]
	res = ok(t, cs, "list_contacts", nil, &contacts)
	sameJSON(t, "list_contacts", res, h.env.MustStatus(200, "GET", base+"/contacts", tok.Secret, nil).Body)
	if len(contacts.Data) == 0 {
		t.Fatal("list_contacts: none")
	}

	var w mcp.WaitResult
	ok(t, cs, "wait_for_message", map[string]any{"timeout_seconds": 1}, &w)
	if !w.TimedOut || w.Message != nil {
		t.Fatalf("wait_for_message with no new mail: %+v", w)
	}

	// Mutations are audited as the token, via mcp, under the REST
	// route's action.
	var rows []models.AuditEntry
	if err := h.env.Store.DB.Where("actor_id = ? AND action IN ?", tok.ID, []string{"messages.send", "messages.reply", "messages.forward", "messages.update"}).
		Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 {
		t.Fatalf("want 5 audit entries (send, 2 replies, forward, update), got %d", len(rows))
	}
	for _, r := range rows {
		if r.ActorType != "token" || r.Detail["via"] != "mcp" || r.Outcome != "success" || r.TargetID == "" {
			t.Errorf("audit entry %+v", r)
		}
	}
}

// Refusals are tool errors with the REST error code: a tool outside the
// token's scopes names the scope; another inbox's message is not found;
// bad arguments are validation errors.
func TestRefusals(t *testing.T) {
	h := newHarness(t)
	cs := h.connect(h.token(observer).Secret)
	er := refused(t, cs, "send_message", map[string]any{"to": []string{"bob@example.net"}, "subject": "Hi", "text": "x"})
	if er.Error.Code != models.CodeInsufficientScope || er.Error.Field != models.ScopeEmailSend || er.Retryable {
		t.Fatalf("scope refusal: %+v", er.Error)
	}
	res := call(t, cs, "update_message", map[string]any{"message_id": "msg_x", "read": true})
	if !res.IsError || !strings.Contains(text(res), "email:write") {
		t.Fatalf("update_message by an observer: %s", text(res))
	}

	otherMsg := h.env.Deliver(h.other, fmt.Sprintf(fixtureMail, "not yours", "o1"))
	for _, name := range []string{"get_message"} {
		if er := refused(t, cs, name, map[string]any{"message_id": otherMsg.ID}); er.Error.Code != models.CodeNotFound {
			t.Fatalf("%s of another inbox's message: %+v", name, er.Error)
		}
	}
	if er := refused(t, cs, "get_thread", map[string]any{"thread_id": otherMsg.ThreadID}); er.Error.Code != models.CodeNotFound {
		t.Fatalf("get_thread of another inbox's thread: %+v", er.Error)
	}
	full := h.connect(h.token(append(slices.Clone(defaultAgent), models.ScopeContactsRead)).Secret)
	for _, c := range []struct {
		name string
		args map[string]any
	}{
		{"reply_to_message", map[string]any{"message_id": otherMsg.ID, "text": "x"}},
		{"update_message", map[string]any{"message_id": otherMsg.ID, "read": true}},
		{"get_send_status", map[string]any{"message_id": otherMsg.ID}},
	} {
		if er := refused(t, full, c.name, c.args); er.Error.Code != models.CodeNotFound {
			t.Fatalf("%s of another inbox's message: %+v", c.name, er.Error)
		}
	}
	if er := refused(t, full, "list_messages", map[string]any{"limit": 500}); er.Error.Code != models.CodeValidation || er.Error.Field != "limit" {
		t.Fatalf("limit 500: %+v", er.Error)
	}
	// A cursor of another list is refused as over REST (models.Page).
	for _, name := range []string{"list_messages", "list_threads", "list_contacts"} {
		if er := refused(t, full, name, map[string]any{"cursor": "usr_01jd7x3k9q8m2n4p6r8t0v2w4y"}); er.Error.Field != "cursor" {
			t.Fatalf("%s with another list's cursor: %+v", name, er.Error)
		}
	}
	if er := refused(t, full, "wait_for_message", map[string]any{"timeout_seconds": 61}); er.Error.Field != "timeout_seconds" {
		t.Fatalf("timeout 61: %+v", er.Error)
	}
	if er := refused(t, full, "send_message", map[string]any{"to": []string{"not an address"}, "subject": "x", "text": "x"}); er.Error.Code != models.CodeValidation {
		t.Fatalf("bad address: %+v", er.Error)
	}
	// The other inbox's message is untouched.
	var n int64
	h.env.Store.DB.Raw(`SELECT count(*) FROM messages WHERE id = ? AND read`, otherMsg.ID).Scan(&n)
	if n != 0 {
		t.Fatal("another inbox's message was changed")
	}
}

// A supervised token's send is held, says so, and waits in the reviewers'
// queue; simulate_send predicts the hold.
func TestSupervisedSendIsHeld(t *testing.T) {
	h := newHarness(t)
	cs := h.connect(h.token(supervised, models.ScopeEmailSend).Secret)
	args := map[string]any{"to": []string{"bob@example.net"}, "subject": "Offer", "text": "Hello Bob"}
	var sim mcp.SimulateResult
	ok(t, cs, "simulate_send", args, &sim)
	if sim.Decision != "hold" || len(sim.HoldReasons) != 1 || sim.HoldReasons[0].Code != models.HoldTokenRequiresApproval {
		t.Fatalf("simulate_send: %+v", sim)
	}
	var sent mcp.SendResult
	res := ok(t, cs, "send_message", args, &sent)
	if sent.Status != "pending_approval" || sent.ApprovalID == "" || len(sent.HoldReasons) != 1 ||
		sent.HoldReasons[0].Code != models.HoldTokenRequiresApproval {
		t.Fatalf("held send: %+v", sent)
	}
	if txt := text(res); !strings.Contains(txt, "Held for a human reviewer") || !strings.Contains(txt, "get_send_status") {
		t.Fatalf("held send text: %s", txt)
	}
	var list models.List[models.Approval]
	h.env.MustStatus(200, "GET", "/v1/approvals/?status=pending", h.org.Owner, nil).JSON(t, &list)
	if len(list.Data) != 1 || list.Data[0].ID != sent.ApprovalID || list.Data[0].MessageID != sent.MessageID {
		t.Fatalf("approvals: %+v", list.Data)
	}
	var st models.SendStatus
	ok(t, cs, "get_send_status", map[string]any{"message_id": sent.MessageID}, &st)
	if st.Status != "pending_approval" {
		t.Fatalf("status of a held send: %+v", st)
	}
	// The dry run stored nothing: one message, one approval.
	var n int64
	h.env.Store.DB.Raw(`SELECT count(*) FROM messages WHERE inbox_id = ?`, h.inbox.ID).Scan(&n)
	if n != 1 {
		t.Fatalf("%d messages after one send and one dry run", n)
	}
}

// An idempotency key makes a retried send answer the first send; the
// same key with other arguments is refused as over REST.
func TestSendIdempotencyKey(t *testing.T) {
	h := newHarness(t)
	cs := h.connect(h.token(defaultAgent).Secret)
	args := map[string]any{"to": []string{"bob@example.net"}, "subject": "Once", "text": "only once", "idempotency_key": "k-1"}
	var a, b mcp.SendResult
	ok(t, cs, "send_message", args, &a)
	ok(t, cs, "send_message", args, &b)
	if a.MessageID == "" || a.MessageID != b.MessageID {
		t.Fatalf("retry sent again: %s then %s", a.MessageID, b.MessageID)
	}
	// The answer committed with the send itself (as for a REST send), so
	// a retry after a crash replays it instead of sending again.
	var committed bool
	if err := h.env.Store.DB.Raw(`SELECT effect_committed AND status = 202 FROM idempotency_keys WHERE key = 'k-1'`).Scan(&committed).Error; err != nil || !committed {
		t.Fatalf("the send's answer did not commit with its effect (%v)", err)
	}
	args["text"] = "something else"
	if er := refused(t, cs, "send_message", args); er.Error.Code != models.CodeIdempotencyReused {
		t.Fatalf("key reused with other arguments: %+v", er.Error)
	}
	var n int64
	h.env.Store.DB.Raw(`SELECT count(*) FROM messages WHERE inbox_id = ?`, h.inbox.ID).Scan(&n)
	if n != 1 {
		t.Fatalf("%d messages stored for one idempotent send", n)
	}
}

// Only agent tokens reach /mcp: sessions, bad and missing credentials are
// 401, and a revoked token is refused on its next call.
func TestCredentials(t *testing.T) {
	h := newHarness(t)
	tok := h.token(defaultAgent)
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`
	bad := tok.Secret[:len(tok.Secret)-1] + "A" // another checksum
	if bad == tok.Secret {
		bad = tok.Secret[:len(tok.Secret)-1] + "B"
	}
	for name, cred := range map[string]string{
		"owner session": h.org.Owner,
		"bad token":     bad,
		"no credential": "",
	} {
		req, _ := http.NewRequest("POST", h.url+"/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if cred != "" {
			req.Header.Set("Authorization", "Bearer "+cred)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("%s: want 401, got %d", name, resp.StatusCode)
		}
	}
	cs := h.connect(tok.Secret)
	ok(t, cs, "whoami", nil, nil)
	h.env.MustStatus(204, "DELETE", "/v1/tokens/"+tok.ID, h.org.Owner, nil)
	_, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: "whoami"})
	if err == nil || !strings.Contains(err.Error(), "Unauthorized") {
		t.Fatalf("call with a revoked token: %v", err)
	}
	if _, err := connect(h.url, tok.Secret); err == nil {
		t.Fatal("a revoked token connected")
	}
}

// Twenty tool calls at once, reads and sends mixed, all answered.
func TestConcurrentCalls(t *testing.T) {
	h := newHarness(t)
	cs := h.connect(h.token(defaultAgent).Secret)
	in := h.env.Deliver(h.inbox, fmt.Sprintf(fixtureMail, "busy", "c1"))
	var wg sync.WaitGroup
	errs := make(chan string, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name, args := "get_message", map[string]any{"message_id": in.ID}
			switch i % 4 {
			case 1:
				name, args = "list_messages", nil
			case 2:
				name, args = "send_message", map[string]any{"to": []string{fmt.Sprintf("r%d@example.net", i)}, "subject": "hi", "text": "x"}
			case 3:
				name, args = "whoami", nil
			}
			res, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: name, Arguments: args})
			switch {
			case err != nil:
				errs <- fmt.Sprintf("%s: %v", name, err)
			case res.IsError:
				errs <- fmt.Sprintf("%s: %s", name, text(res))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	var n int64
	h.env.Store.DB.Raw(`SELECT count(*) FROM messages WHERE inbox_id = ? AND direction = 'outbound'`, h.inbox.ID).Scan(&n)
	if n != 5 {
		t.Fatalf("%d sends stored, want 5", n)
	}
}

// A panic in a tool (here: a server built without its services) is an
// internal-error tool result; the daemon goes on serving.
func TestPanicIsToolError(t *testing.T) {
	s := mcp.New(mcp.Deps{})
	p := &auth.Principal{Kind: auth.KindToken, TokenID: "tok_x", Scopes: []string{models.ScopeEmailRead}}
	srv := httptest.NewServer(s.Handler(mcp.Request{Principal: p}))
	defer srv.Close()
	client := sdk.NewClient(&sdk.Implementation{Name: "gent-test", Version: "1"}, nil)
	cs, err := client.Connect(context.Background(), &sdk.StreamableClientTransport{Endpoint: srv.URL, HTTPClient: mcp.HTTPClient("gent_x"), DisableStandaloneSSE: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	for range 2 {
		if er := refused(t, cs, "whoami", nil); er.Error.Code != models.CodeInternal || !er.Retryable {
			t.Fatalf("panic: %+v", er)
		}
	}
}
