package policy_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"gent/models"
)

// TestLifecycleIsAnAppendOnlyRecord: a held, approved and delivered send
// has every step, in order, read from the lifecycle table (the steps stay
// when the event log is pruned), page by page with keyset cursors; a send
// whose transaction rolls back leaves no step.
func TestLifecycleIsAnAppendOnlyRecord(t *testing.T) {
	h := newHarness(t)
	h.env.StartJobs()
	h.setPolicy(`{"first_contact": "hold"}`)
	var sr models.SendResponse
	h.env.MustStatus(202, "POST", h.base+"/messages/send", h.agent, models.SendRequest{To: []string{"new@example.net"}, Subject: "s", Text: "t"}).JSON(t, &sr)
	h.env.MustStatus(200, "POST", "/v1/approvals/"+sr.ApprovalID+"/approve", h.reviewer, nil)
	path := h.base + "/messages/" + sr.ID + "/lifecycle"
	want := "policy,held,approved,queued,attempt,delivered"
	kindsOf := func(es []models.LifecycleEntry) string {
		var k []string
		for _, e := range es {
			k = append(k, e.Kind)
		}
		return strings.Join(k, ",")
	}
	deadline := time.Now().Add(20 * time.Second)
	var all models.List[models.LifecycleEntry]
	for {
		h.env.MustStatus(200, "GET", path, h.agent, nil).JSON(t, &all)
		if kindsOf(all.Data) == want || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := kindsOf(all.Data); got != want {
		t.Fatalf("lifecycle %s, want %s", got, want)
	}
	if all.NextCursor != "" {
		t.Fatalf("one page has a next cursor %q", all.NextCursor)
	}
	d := all.Data
	if d[0].Detail["decision"] != "hold" || d[1].Detail["approval_id"] != sr.ApprovalID || d[2].Detail["by"] == nil ||
		d[4].Detail["outcome"] != "delivered" || d[4].Detail["recipient"] != "new@example.net" ||
		!strings.HasPrefix(fmt.Sprint(d[5].Detail["response"]), "250") {
		t.Fatalf("lifecycle details %+v", d)
	}
	for i := 1; i < len(d); i++ {
		if d[i].At.Before(d[i-1].At) {
			t.Fatalf("steps out of order: %+v", d)
		}
	}

	// The steps are their own record: pruning the event log changes nothing.
	if err := h.env.Store.DB.Exec(`DELETE FROM events`).Error; err != nil {
		t.Fatal(err)
	}
	var paged []models.LifecycleEntry
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > len(want) {
			t.Fatal("paging does not end")
		}
		var pg models.List[models.LifecycleEntry]
		h.env.MustStatus(200, "GET", path+"?limit=4&cursor="+cursor, h.agent, nil).JSON(t, &pg)
		if len(pg.Data) > 4 {
			t.Fatalf("page of %d with limit 4", len(pg.Data))
		}
		paged = append(paged, pg.Data...)
		if pg.NextCursor == "" {
			break
		}
		cursor = pg.NextCursor
	}
	if got := kindsOf(paged); got != want {
		t.Fatalf("paged lifecycle %s, want %s", got, want)
	}
	h.env.MustStatus(422, "GET", path+"?cursor=msg_01jd7x3k9q8m2n4p6r8t0v2w4y", h.agent, nil)

	// A refused send stores nothing, so it has no steps; another
	// inbox's token cannot read this message's.
	before := h.count(`SELECT count(*) FROM message_lifecycle`)
	h.setPolicy(`{"recipients": {"block": ["example.org"]}}`)
	if r := h.send("x@example.org"); r.Status != 422 {
		t.Fatalf("blocked send: %d %s", r.Status, r.Body)
	}
	if after := h.count(`SELECT count(*) FROM message_lifecycle`); after != before {
		t.Fatalf("a refused send wrote %d lifecycle rows", after-before)
	}
	// Inbound mail: received, then the screening's verdict.
	in := h.env.Deliver(h.inbox, "From: ann@example.net\r\nTo: agent@mail.example.com\r\nSubject: hi\r\nMessage-ID: <in1@example.net>\r\n\r\nhello\r\n")
	var inbound models.List[models.LifecycleEntry]
	h.env.MustStatus(200, "GET", h.base+"/messages/"+in.ID+"/lifecycle", h.agent, nil).JSON(t, &inbound)
	if got := kindsOf(inbound.Data); got != "received,screened" || inbound.Data[1].Detail["verdict"] != models.VerdictClean ||
		inbound.Data[1].Detail["score"] == nil {
		t.Fatalf("inbound lifecycle %s: %+v", got, inbound.Data)
	}
	other := h.env.Inbox(h.org, "other@mail.example.com")
	otherTok := h.env.Token(h.org, other.ID, []string{models.ScopeEmailRead}).Secret
	h.env.MustStatus(404, "GET", "/v1/inboxes/"+other.ID+"/messages/"+sr.ID+"/lifecycle", otherTok, nil)
	h.env.MustStatus(404, "GET", path, otherTok, nil)
}

// TestBudgetCountsWhatMayStillBeSent: a held send counts against the
// budget while it may still go out, its reviewer's edits count as edited,
// and a rejected one gives its recipients back.
func TestBudgetCountsWhatMayStillBeSent(t *testing.T) {
	h := newHarness(t)
	h.setPolicy(`{"first_contact": "hold", "budget": {"per_hour": 3}}`)
	held := func(to ...string) models.SendResponse {
		t.Helper()
		var sr models.SendResponse
		h.env.MustStatus(202, "POST", h.base+"/messages/send", h.agent, models.SendRequest{To: to, Subject: "s", Text: "t"}).JSON(t, &sr)
		if sr.ApprovalID == "" {
			t.Fatalf("not held: %+v", sr)
		}
		return sr
	}
	a := held("a@example.net", "b@example.net")
	if r := h.send("c@example.net", "d@example.net"); r.Status != 429 {
		t.Fatalf("over budget with a pending hold: %d %s", r.Status, r.Body)
	}
	h.env.MustStatus(200, "POST", "/v1/approvals/"+a.ApprovalID+"/reject", h.reviewer, map[string]string{"reason": "no"})
	b := held("c@example.net", "d@example.net")
	// The reviewer adds a recipient: three now count, and the budget is spent.
	h.env.MustStatus(200, "POST", "/v1/approvals/"+b.ApprovalID+"/approve", h.reviewer,
		map[string]any{"edits": map[string]any{"to": []string{"c@example.net", "d@example.net", "e@example.net"}}})
	if r := h.send("f@example.net"); r.Status != 429 {
		t.Fatalf("budget after an edit added a recipient: %d %s", r.Status, r.Body)
	}
	// An expired hold gives its recipients back too.
	h.env.Store.DB.Exec(`UPDATE outbound_messages SET created_at = now() - interval '2 hours' WHERE inbox_id = ?`, h.inbox.ID)
	x := held("g@example.net", "h@example.net", "i@example.net")
	if r := h.send("j@example.net"); r.Status != 429 {
		t.Fatalf("over budget with a pending hold: %d %s", r.Status, r.Body)
	}
	h.env.Store.DB.Exec(`UPDATE approvals SET expires_at = now() - interval '1 minute' WHERE id = ?`, x.ApprovalID)
	if n, err := h.env.Approvals.ExpireDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("expire: %d %v", n, err)
	}
	held("j@example.net", "k@example.net", "l@example.net")
}
