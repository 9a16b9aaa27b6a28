package client_test

import (
	"context"
	"strings"
	"testing"

	"gent/daemon/server/servertest"
	"gent/models"
	"gent/tui/client"
)

// heldSends is a daemon with an inbox and a supervised token (the product
// page's body) whose sends are held for approval.
type heldSends struct {
	env   *servertest.Env
	org   servertest.Org
	inbox models.Inbox
	token models.TokenSecret
}

func newHeldSends(t *testing.T, env *servertest.Env) *heldSends {
	t.Helper()
	org := env.Setup()
	env.VerifiedDomain(org, "mail.example.com")
	in := env.Inbox(org, "agent@mail.example.com")
	var tok models.TokenSecret
	env.MustStatus(201, "POST", "/v1/tokens", org.Owner, strings.Replace(`{
  "inbox_id": "inb_123",
  "label": "supervised-reply-agent",
  "scopes": ["email:read", "email:send"],
  "requires_approval": ["email:send"]
}`, "inb_123", in.ID, 1)).JSON(t, &tok)
	return &heldSends{env: env, org: org, inbox: in, token: tok}
}

// hold sends a message with the supervised token: 202 pending_approval.
func (h *heldSends) hold(t *testing.T, subject string) models.SendResponse {
	t.Helper()
	var r models.SendResponse
	h.env.MustStatus(202, "POST", "/v1/inboxes/"+h.inbox.ID+"/messages/send", h.token.Secret, models.SendRequest{
		To: models.AddressList{"Ann <ann@example.net>"}, Subject: subject, Text: "We will refund you.",
		HTML: "<p>We will <b>refund</b> you.</p>",
	}).JSON(t, &r)
	if r.Status != "pending_approval" || r.ApprovalID == "" {
		t.Fatalf("not held: %+v", r)
	}
	return r
}

func TestApprovalsAgainstDaemon(t *testing.T) {
	env := servertest.New(t)
	h := newHeldSends(t, env)
	first := h.hold(t, "Refund")
	second := h.hold(t, "Second")
	third := h.hold(t, "Third")
	url := serve(t, env)
	ctx := context.Background()
	c, err := client.New(url, client.WithToken(client.Secret(env.User(h.org, models.RoleReviewer))))
	if err != nil {
		t.Fatal(err)
	}

	page, err := c.Approvals(ctx, client.ApprovalQuery{Status: models.ApprovalPending, Page: client.Page{Limit: 2}})
	if err != nil || len(page.Data) != 2 || page.Data[0].ID != third.ApprovalID || page.NextCursor == "" {
		t.Fatalf("page %+v %v", page, err)
	}
	all, err := c.AllApprovals(ctx, client.ApprovalQuery{Status: models.ApprovalPending, InboxID: h.inbox.ID})
	if err != nil || len(all) != 3 || all[2].ID != first.ApprovalID || all[2].TokenLabel != "supervised-reply-agent" {
		t.Fatalf("all %+v %v", all, err)
	}
	_, err = c.Approvals(ctx, client.ApprovalQuery{Status: "maybe"})
	apiErr(t, err, 422, models.CodeValidation, "status")

	d, err := c.Approval(ctx, first.ApprovalID)
	if err != nil || d.Message.Subject != "Refund" || d.Message.HTML == "" || len(d.Message.To) != 1 || d.Digest == "" {
		t.Fatalf("detail %+v %v", d, err)
	}

	// Plain approve; a second decision is a 409.
	a, err := c.Approve(ctx, first.ApprovalID, nil)
	if err != nil || a.Status != models.ApprovalApproved || a.Edited {
		t.Fatalf("approve %+v %v", a, err)
	}
	_, err = c.Reject(ctx, first.ApprovalID, "too late")
	apiErr(t, err, 409, models.CodeConflict, "")

	// Approve with edits; a bad edit names its field.
	subject, to := "Re: your refund", models.AddressList{"not an address"}
	_, err = c.Approve(ctx, second.ApprovalID, &models.ApprovalEdits{To: &to})
	apiErr(t, err, 422, models.CodeValidation, "edits.to[0]")
	to = models.AddressList{"bob@example.net"}
	a, err = c.Approve(ctx, second.ApprovalID, &models.ApprovalEdits{Subject: &subject, To: &to})
	if err != nil || !a.Edited || a.ApprovedDigest == a.Digest {
		t.Fatalf("edited %+v %v", a, err)
	}
	if d, err = c.Approval(ctx, second.ApprovalID); err != nil || d.Message.Subject != subject ||
		len(d.Message.To) != 1 || d.Message.To[0].Address != "bob@example.net" {
		t.Fatalf("edited message %+v %v", d, err)
	}

	// Reject needs a reason.
	_, err = c.Reject(ctx, third.ApprovalID, " ")
	apiErr(t, err, 422, models.CodeValidation, "reason")
	a, err = c.Reject(ctx, third.ApprovalID, "Do not promise refunds.")
	if err != nil || a.Status != models.ApprovalRejected || a.Reason != "Do not promise refunds." {
		t.Fatalf("reject %+v %v", a, err)
	}
	_, err = c.Approval(ctx, "apr_01jd7x3k9q8m2n4p6r8t0v2w4y")
	apiErr(t, err, 404, models.CodeNotFound, "")
}
