package api_test

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"

	"gent/daemon/server/servertest"
	"gent/models"
)

// Every list route refuses a cursor that is not one of its own with 422
// validation_failed naming cursor — never an empty page or the first page.
// The list routes are found, not listed: every GET route of the app whose
// answer is a list envelope is tried, so a new list route joins the test.
func TestInvalidCursorIs422OnEveryList(t *testing.T) {
	env := servertest.New(t)
	org := env.Setup()
	name := models.NewID("") + ".example.com"
	env.VerifiedDomain(org, name)
	in := env.Inbox(org, "agent@"+name)
	env.Deliver(in, "From: someone@outside.test\r\nTo: agent@"+name+"\r\nSubject: hi\r\n\r\nhello\r\n")
	var wh models.WebhookCreated
	env.MustStatus(201, "POST", "/v1/webhooks", org.Owner, map[string]any{
		"url": "http://127.0.0.1:9/hook", "event_types": []string{models.EventMessageReceived}}).JSON(t, &wh)

	// A cursor of every kind a list pages by; each list accepts only its own.
	ids := map[string]string{}
	for _, p := range []string{models.PrefixUser, models.PrefixAudit, models.PrefixInbox, models.PrefixToken,
		models.PrefixDomain, models.PrefixMessage, models.PrefixApproval, models.PrefixWebhook, models.PrefixDelivery,
		models.PrefixEvent, models.PrefixContact, models.PrefixSender, models.PrefixCaptured, models.PrefixQueued, models.PrefixPause} {
		ids[p] = models.NewID(p)
	}
	bad := []string{"nonsense", "0", "usr_", strings.Repeat("a", 30), "msg_" + strings.Repeat("!", 26),
		base64.RawURLEncoding.EncodeToString([]byte("2025-01-01T00:00:00Z|nothing")), "nobody@", "a b@c.test"}

	var lists []string
	for _, r := range env.App.GetRoutes(true) {
		if r.Method != "GET" {
			continue
		}
		path := strings.NewReplacer(":inbox_id", in.ID, ":id", wh.ID).Replace(r.Path)
		if strings.Contains(path, ":") {
			continue // an object route (attachments…), not a list
		}
		first := env.Do("GET", path, org.Owner, nil)
		var envelope map[string]json.RawMessage
		if first.Status != 200 || json.Unmarshal(first.Body, &envelope) != nil {
			continue
		}
		if _, ok := envelope["next_cursor"]; !ok {
			continue
		}
		if _, ok := envelope["data"]; !ok {
			continue
		}
		lists = append(lists, r.Path)
		// The list's own kind: one of the ids above is accepted (it is a
		// position, even if no row has it); all other kinds are refused.
		accepted := 0
		var tries []string
		for _, id := range ids {
			tries = append(tries, id)
		}
		tries = append(tries, bad...)
		for _, cur := range tries {
			resp := env.Do("GET", path+"?cursor="+url.QueryEscape(cur), org.Owner, nil)
			switch {
			case resp.Status == 200:
				accepted++
				if !strings.HasPrefix(cur, kindOf(r.Path)) {
					t.Errorf("GET %s?cursor=%s: 200, want 422 (%s)", r.Path, cur, resp.Body)
				}
			case resp.Status != 422 || resp.ErrorCode() != models.CodeValidation || !strings.Contains(string(resp.Body), `"field":"cursor"`):
				t.Errorf("GET %s?cursor=%s: %d %s, want 422 validation_failed cursor", r.Path, cur, resp.Status, resp.Body)
			}
		}
		if kindOf(r.Path) != "@" && kindOf(r.Path) != "thread" && accepted != 1 && r.Path != "/v1/events" && r.Path != "/v1/inboxes/:inbox_id/events" {
			t.Errorf("GET %s: accepted %d of the cursors, want exactly its own kind", r.Path, accepted)
		}
	}
	// Every list the API has was found above.
	for _, want := range []string{"/v1/users", "/v1/audit", "/v1/inboxes", "/v1/tokens", "/v1/domains",
		"/v1/inboxes/:inbox_id/messages", "/v1/inboxes/:inbox_id/threads", "/v1/inboxes/:inbox_id/drafts",
		"/v1/inboxes/:inbox_id/suppressions", "/v1/inboxes/:inbox_id/contacts", "/v1/inboxes/:inbox_id/senders",
		"/v1/approvals", "/v1/events", "/v1/inboxes/:inbox_id/events", "/v1/webhooks", "/v1/webhooks/:id/deliveries",
		"/v1/billing/caps/mailbox", "/v1/billing/usage", "/v1/captured", "/v1/quarantine", "/v1/deliveries", "/v1/delivery-pauses"} {
		if !slices.Contains(lists, want) {
			t.Errorf("list route %s not found among %v", want, lists)
		}
	}

	env.MustStatus(200, "GET", "/v1/inboxes/"+in.ID+"/suppressions?cursor="+url.QueryEscape("someone@outside.test"), org.Owner, nil)

	// A real next_cursor still pages (threads and suppressions included).
	for range 2 {
		env.Deliver(in, "From: someone@outside.test\r\nTo: agent@"+name+"\r\nSubject: another\r\n\r\nhello\r\n")
	}
	for _, path := range []string{"/v1/inboxes/" + in.ID + "/threads", "/v1/inboxes/" + in.ID + "/messages", "/v1/audit"} {
		var p models.List[json.RawMessage]
		env.MustStatus(200, "GET", path+"?limit=1", org.Owner, nil).JSON(t, &p)
		if p.NextCursor == "" {
			t.Fatalf("%s: no next cursor", path)
		}
		env.MustStatus(200, "GET", path+"?limit=1&cursor="+url.QueryEscape(p.NextCursor), org.Owner, nil)
	}
}

// kindOf is the id prefix a list route pages by ("@" for addresses,
// "thread" for the thread list's composite cursor).
func kindOf(path string) string {
	switch path {
	case "/v1/users":
		return models.PrefixUser
	case "/v1/audit":
		return models.PrefixAudit
	case "/v1/inboxes", "/v1/billing/caps/mailbox", "/v1/billing/usage":
		return models.PrefixInbox
	case "/v1/tokens":
		return models.PrefixToken
	case "/v1/domains":
		return models.PrefixDomain
	case "/v1/inboxes/:inbox_id/messages", "/v1/inboxes/:inbox_id/drafts", "/v1/quarantine":
		return models.PrefixMessage
	case "/v1/approvals":
		return models.PrefixApproval
	case "/v1/webhooks":
		return models.PrefixWebhook
	case "/v1/webhooks/:id/deliveries":
		return models.PrefixDelivery
	case "/v1/events", "/v1/inboxes/:inbox_id/events":
		return models.PrefixEvent
	case "/v1/inboxes/:inbox_id/contacts":
		return models.PrefixContact
	case "/v1/inboxes/:inbox_id/senders":
		return models.PrefixSender
	case "/v1/captured":
		return models.PrefixCaptured
	case "/v1/deliveries":
		return models.PrefixQueued
	case "/v1/delivery-pauses":
		return models.PrefixPause
	case "/v1/inboxes/:inbox_id/suppressions":
		return "@"
	case "/v1/inboxes/:inbox_id/threads":
		return "thread"
	}
	return "?"
}
