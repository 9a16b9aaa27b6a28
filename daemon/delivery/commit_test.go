package delivery_test

import (
	"testing"

	"gent/models"
)

// TestSendAmbiguousCommit: the database backend committing a send is
// stopped, so COMMIT times out in gentd. A send (and a draft send) that
// commits after all answers 202 and exists once, delivered once; one that
// surely did not commit answers an error and left nothing.
func TestSendAmbiguousCommit(t *testing.T) {
	h := newHarness(t)
	sent := func(subject string) int64 {
		var n int64
		h.env.Store.DB.Raw(`SELECT count(*) FROM messages WHERE subject = ?`, subject).Scan(&n)
		return n
	}
	path := "/v1/inboxes/" + h.inbox.ID + "/messages/send"

	fired := h.env.CommitFault(true)
	r := h.send(models.SendRequest{To: []string{"ann@example.net"}, Subject: "committed after all", Text: "hi"})
	if !fired() {
		t.Fatal("the fault did not happen: COMMIT did not fail")
	}
	h.waitStatus(r.ID, "delivered")
	if n := sent("committed after all"); n != 1 {
		t.Fatalf("stored %d", n)
	}

	fired = h.env.CommitFault(false)
	resp := h.env.Do("POST", path, h.agent.Secret, models.SendRequest{To: []string{"ann@example.net"}, Subject: "never committed", Text: "hi"})
	if !fired() {
		t.Fatal("the fault did not happen: COMMIT did not fail")
	}
	if resp.Status < 500 {
		t.Fatalf("not committed: status %d %s", resp.Status, resp.Body)
	}
	if n := sent("never committed"); n != 0 {
		t.Fatalf("stored %d", n)
	}

	// A draft send runs in a transaction of its own.
	var d models.Draft
	base := "/v1/inboxes/" + h.inbox.ID + "/drafts"
	h.env.MustStatus(201, "POST", base, h.agent.Secret, `{"to": ["ann@example.net"], "subject": "draft committed", "text": "hi"}`).JSON(t, &d)
	fired = h.env.CommitFault(true)
	var dr models.SendResponse
	h.env.MustStatus(202, "POST", base+"/"+d.ID+"/send", h.agent.Secret, nil).JSON(t, &dr)
	if !fired() {
		t.Fatal("the fault did not happen: COMMIT did not fail")
	}
	h.waitStatus(dr.ID, "delivered")
	if n := sent("draft committed"); n != 1 {
		t.Fatalf("draft send stored %d", n)
	}
	if n := len(h.sink.Messages()); n != 2 {
		t.Fatalf("want two deliveries, got %d", n)
	}
}
