package approvals_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"gent/models"
)

// approveStatus approves with body and returns the status and error.
func (h *harness) approveErr(id, body string) (int, *models.Error) {
	h.t.Helper()
	r := h.env.Do("POST", "/v1/approvals/"+id+"/approve", h.reviewer, body)
	var e models.ErrorBody
	_ = json.Unmarshal(r.Body, &e)
	return r.Status, e.Error
}

// A reviewer's edits cannot smuggle a recipient into the RCPT command
// either (issue 15, item 2): refused with 422 naming the field, the send
// stays held and unchanged, and nothing reaches the remote host.
func TestApproveEditsRefuseInjectedRecipient(t *testing.T) {
	h := newHarness(t)
	h.env.StartJobs()
	r := h.hold("Refund")
	var before []byte
	h.env.Store.DB.Raw(`SELECT raw FROM outbound_messages WHERE id = ?`, r.ID).Scan(&before)
	for field, body := range map[string]string{
		"edits.to[0]":  `{"edits":{"to":["\"victim@other.test> ORCPT=rfc822;x\"@ext.test"]}}`,
		"edits.cc[0]":  `{"edits":{"cc":["\"victim@other.test> NOTIFY=NEVER\"@ext.test"]}}`,
		"edits.bcc[1]": `{"edits":{"bcc":["ok@example.net", "` + strings.Repeat("x", 65) + `@example.net"]}}`,
	} {
		status, e := h.approveErr(r.ApprovalID, body)
		if status != 422 || e == nil || e.Code != models.CodeValidation || e.Field != field {
			t.Errorf("%s: want 422 on %s, got %d %+v", body, field, status, e)
		}
	}
	var ap models.Approval
	h.env.MustStatus(200, "GET", "/v1/approvals/"+r.ApprovalID, h.reviewer, nil).JSON(t, &ap)
	var after []byte
	h.env.Store.DB.Raw(`SELECT raw FROM outbound_messages WHERE id = ?`, r.ID).Scan(&after)
	if ap.Status != models.ApprovalPending || string(after) != string(before) {
		t.Fatalf("a refused edit changed the held send: %s", ap.Status)
	}
	var jobs int64
	h.env.Store.DB.Raw(`SELECT count(*) FROM river_job WHERE kind = 'delivery.send'`).Scan(&jobs)
	if jobs != 0 || len(h.sink.Rcpts()) != 0 {
		t.Fatalf("a refused edit queued %d deliveries; the remote host was given %+v", jobs, h.sink.Rcpts())
	}
}

// A reviewer's edit rebuilds the held message: beyond the send limits (a
// held draft stored before they were checked) it is a 422 naming the
// field, not a 500, and the send stays held and unchanged (issue 15,
// item 6).
func TestApproveEditsBeyondLimitsAnswer422(t *testing.T) {
	h := newHarness(t)
	many := make([]models.SendAttachment, 500)
	for i := range many {
		many[i] = models.SendAttachment{Filename: fmt.Sprintf("a%d.txt", i), ContentBase64: "eA=="}
	}
	lots, big := map[string]string{}, map[string]string{}
	for i := 0; i < 3000; i++ {
		lots[fmt.Sprintf("X-H-%d", i)] = "v"
	}
	for i := 0; i < 95; i++ {
		big[fmt.Sprintf("X-Big-%d", i)] = strings.Repeat("é", 499)
	}
	for _, c := range []struct {
		name  string
		edit  func(d map[string]any)
		field string
	}{
		{"500 attachments", func(d map[string]any) { d["Attachments"] = many }, "attachments"},
		{"3000 headers", func(d map[string]any) { d["Headers"] = lots }, "headers"},
		{"header section", func(d map[string]any) { d["Headers"] = big }, "headers"},
	} {
		r := h.hold("Refund")
		var stored string
		h.env.Store.DB.Raw(`SELECT draft::text FROM approvals WHERE id = ?`, r.ApprovalID).Scan(&stored)
		var d map[string]any
		if err := json.Unmarshal([]byte(stored), &d); err != nil {
			t.Fatal(err)
		}
		c.edit(d)
		b, _ := json.Marshal(d)
		if err := h.env.Store.DB.Exec(`UPDATE approvals SET draft = ?::jsonb WHERE id = ?`, string(b), r.ApprovalID).Error; err != nil {
			t.Fatal(err)
		}
		var before []byte
		h.env.Store.DB.Raw(`SELECT raw FROM outbound_messages WHERE id = ?`, r.ID).Scan(&before)
		status, e := h.approveErr(r.ApprovalID, `{"edits":{"subject":"Your refund"}}`)
		if status != 422 || e == nil || e.Code != models.CodeValidation || e.Field != c.field {
			t.Errorf("%s: want 422 on %s, got %d %+v", c.name, c.field, status, e)
		}
		var ap models.Approval
		h.env.MustStatus(200, "GET", "/v1/approvals/"+r.ApprovalID, h.reviewer, nil).JSON(t, &ap)
		var after []byte
		h.env.Store.DB.Raw(`SELECT raw FROM outbound_messages WHERE id = ?`, r.ID).Scan(&after)
		if ap.Status != models.ApprovalPending || ap.Subject != "Refund" || string(after) != string(before) {
			t.Errorf("%s: a refused edit changed the held send: %s %q", c.name, ap.Status, ap.Subject)
		}
	}
}
