package approvals_test

import (
	"encoding/json"
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
