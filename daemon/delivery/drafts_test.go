package delivery_test

import (
	"testing"

	"gent/models"
)

func TestDrafts(t *testing.T) {
	h := newHarness(t)
	base := "/v1/inboxes/" + h.inbox.ID + "/drafts"
	// A draft may be incomplete; it counts in usage.
	var d models.Draft
	h.env.MustStatus(201, "POST", base, h.agent.Secret, `{"subject": "Quarterly report"}`).JSON(t, &d)
	if d.Subject != "Quarterly report" || len(d.To) != 0 || d.Size == 0 {
		t.Fatalf("draft %+v", d)
	}
	var in models.Inbox
	h.env.MustStatus(200, "GET", "/v1/inboxes/"+h.inbox.ID, h.org.Owner, nil).JSON(t, &in)
	if in.UsedBytes != d.Size {
		t.Fatalf("usage %d, draft %d", in.UsedBytes, d.Size)
	}
	// Sending it incomplete is refused and keeps it.
	h.env.MustStatus(422, "POST", base+"/"+d.ID+"/send", h.agent.Secret, nil)
	// Header injection is refused in drafts too.
	h.env.MustStatus(422, "PATCH", base+"/"+d.ID, h.agent.Secret, `{"subject": "a\r\nBcc: evil@example.org"}`)
	var up models.Draft
	h.env.MustStatus(200, "PATCH", base+"/"+d.ID, h.agent.Secret, `{"to": ["ann@example.net"], "text": "Numbers attached."}`).JSON(t, &up)
	if up.ID != d.ID || up.ThreadID != d.ThreadID || up.Subject != "Quarterly report" || len(up.To) != 1 {
		t.Fatalf("patched %+v", up)
	}
	var page models.List[models.Draft]
	h.env.MustStatus(200, "GET", base, h.agent.Secret, nil).JSON(t, &page)
	if len(page.Data) != 1 {
		t.Fatalf("drafts %+v", page.Data)
	}
	// A read-only token cannot write drafts.
	obs := h.env.Token(h.org, h.inbox.ID, []string{models.ScopeEmailRead})
	h.env.MustStatus(403, "POST", base, obs.Secret, `{}`)
	// Send: the draft becomes the sent message.
	var r models.SendResponse
	h.env.MustStatus(202, "POST", base+"/"+d.ID+"/send", h.agent.Secret, nil).JSON(t, &r)
	h.waitStatus(r.ID, "delivered")
	h.env.MustStatus(404, "GET", base+"/"+d.ID, h.agent.Secret, nil)
	h.env.MustStatus(404, "POST", base+"/"+d.ID+"/send", h.agent.Secret, nil)
	if n := len(h.sink.Messages()); n != 1 {
		t.Fatalf("want one delivery, got %d", n)
	}
	var used, sum int64
	h.env.Store.DB.Raw(`SELECT used_bytes FROM inboxes WHERE id = ?`, h.inbox.ID).Scan(&used)
	h.env.Store.DB.Raw(`SELECT coalesce(sum(size), 0) FROM messages WHERE inbox_id = ?`, h.inbox.ID).Scan(&sum)
	if used != sum {
		t.Fatalf("usage %d, stored %d", used, sum)
	}
	// A reply draft threads with its original; delete releases it.
	orig := h.env.Deliver(h.inbox, "From: ann@example.net\r\nTo: agent@mail.example.com\r\nSubject: Q3\r\nMessage-ID: <q3@example.net>\r\n\r\nhi\r\n")
	var rd models.Draft
	h.env.MustStatus(201, "POST", base, h.agent.Secret, models.DraftRequest{Mode: "reply", ReplyToMessage: orig.ID}).JSON(t, &rd)
	if rd.ThreadID != orig.ThreadID || rd.Mode != "reply" || rd.Subject != "Re: Q3" {
		t.Fatalf("reply draft %+v (original thread %s)", rd, orig.ThreadID)
	}
	// A reply's subject and Reply-To are not its own: refused, not dropped.
	var rej models.ErrorBody
	h.env.MustStatus(422, "PATCH", base+"/"+rd.ID, h.agent.Secret, `{"subject": "Something else"}`).JSON(t, &rej)
	if rej.Error == nil || rej.Error.Field != "subject" {
		t.Fatalf("reply draft subject: %s", h.env.Do("GET", base+"/"+rd.ID, h.agent.Secret, nil).Body)
	}
	h.env.MustStatus(422, "POST", base, h.agent.Secret, models.DraftRequest{Mode: "forward", ReplyToMessage: orig.ID,
		ReplyTo: &models.AddressList{"x@example.net"}})
	h.env.MustStatus(204, "DELETE", base+"/"+rd.ID, h.agent.Secret, nil)
	h.env.MustStatus(422, "POST", base, h.agent.Secret, `{"mode": "reply"}`)
}

func TestSupervisedDraftIsHeld(t *testing.T) {
	h := newHarness(t)
	sup := h.env.Token(h.org, h.inbox.ID, []string{models.ScopeEmailRead, models.ScopeEmailSend, models.ScopeEmailWrite}, models.ScopeEmailSend)
	base := "/v1/inboxes/" + h.inbox.ID + "/drafts"
	var d models.Draft
	h.env.MustStatus(201, "POST", base, sup.Secret, `{"to": "ann@example.net", "subject": "x", "text": "y"}`).JSON(t, &d)
	var r models.SendResponse
	h.env.MustStatus(202, "POST", base+"/"+d.ID+"/send", sup.Secret, nil).JSON(t, &r)
	if r.Status != "pending_approval" || r.ApprovalID == "" {
		t.Fatalf("draft send by a supervised token: %+v", r)
	}
}
