package servertest

import (
	"net/http"
	"strings"
	"testing"
)

// TestCheckSpec shows what the contract check catches: an undocumented
// route, an undocumented status, a response field of the wrong type, a
// request the server accepted that the spec forbids; and what it lets
// through: a conforming answer, a refused invalid request, raw bodies.
func TestCheckSpec(t *testing.T) {
	jsonH := http.Header{"Content-Type": []string{"application/json"}}
	auth := http.Header{"Authorization": []string{"Bearer gses_x"}, "Content-Type": []string{"application/json"}}
	cases := []struct {
		name, method, path string
		reqBody            string
		status             int
		respH              http.Header
		respBody           string
		want               string // "" = passes; else a substring of the failure
	}{
		{"conforming", "GET", "/v1/auth/status", "", 200, jsonH, `{"setup_required":true}`, ""},
		{"trailing slash", "GET", "/v1/auth/status/", "", 200, jsonH, `{"setup_required":false}`, ""},
		{"field typed differently", "GET", "/v1/auth/status", "", 200, jsonH, `{"setup_required":"yes"}`, "does not match"},
		{"field missing", "GET", "/v1/auth/status", "", 200, jsonH, `{}`, "setup_required"},
		{"status not documented", "GET", "/v1/auth/status", "", 418, jsonH, `{}`, "status is not supported"},
		{"route not documented", "GET", "/v1/nowhere", "", 200, jsonH, `{}`, "no such operation"},
		{"unknown route 404", "GET", "/v1/nowhere", "", 404, jsonH, `{"error":{"code":"not_found","message":"x"}}`, ""},
		{"accepted forbidden request", "POST", "/v1/approvals/apr_1/reject", `{"reason":""}`, 200, jsonH,
			`{"id":"apr_1","inbox_id":"i","message_id":"m","status":"rejected","subject":"s","to":[],"digest":"d","edited":false,"expires_at":"2025-01-01T00:00:00Z","created_at":"2025-01-01T00:00:00Z"}`, "forbids"},
		{"refused invalid request", "POST", "/v1/approvals/apr_1/reject", `{"reason":""}`, 422, jsonH,
			`{"error":{"code":"validation_failed","message":"reason","field":"reason"}}`, ""},
		{"raw body", "GET", "/v1/inboxes/inb_1/messages/msg_1/raw", "", 200,
			http.Header{"Content-Type": []string{"message/rfc822"}}, "Subject: x\r\n\r\nhi", ""},
	}
	for _, c := range cases {
		got := checkSpec(c.method, c.path, auth, []byte(c.reqBody), c.status, c.respH, []byte(c.respBody))
		switch {
		case c.want == "" && got != "":
			t.Errorf("%s: want no finding, got %s", c.name, got)
		case c.want != "" && !strings.Contains(got, c.want):
			t.Errorf("%s: want a finding with %q, got %q", c.name, c.want, got)
		}
	}
}
