package caps_test

import (
	"fmt"
	"strings"
	"testing"

	"gent/models"
)

// The two bodies of the product page, byte for byte.
const (
	enforceBody = `{
  "inbox_id": "inb_123",
  "limit_gb": 10,
  "mode": "enforce",
  "alert_thresholds": [80, 95]
}`
	allowAndBillBody = `{
  "inbox_id": "inb_123",
  "limit_gb": 10,
  "mode": "allow_and_bill",
  "alert_thresholds": [80, 95]
}`
)

func TestProductPageBodies(t *testing.T) {
	h := newHarness(t)
	// The page's inbox id: give the inbox that id.
	if err := h.env.Store.DB.Exec(`UPDATE inboxes SET id = 'inb_123' WHERE id = ?`, h.inbox.ID).Error; err != nil {
		t.Fatal(err)
	}
	h.inbox.ID = "inb_123"
	for _, c := range []struct{ body, mode string }{{enforceBody, models.CapEnforce}, {allowAndBillBody, models.CapAllowAndBill}} {
		var v models.MailboxCap
		h.env.MustStatus(200, "PUT", "/v1/billing/caps/mailbox/", h.org.Owner, c.body).JSON(t, &v)
		if v.InboxID != "inb_123" || v.Address != "agent@mail.example.com" || v.Cap == nil ||
			v.Cap.LimitGB != 10 || v.Cap.LimitBytes != 10_000_000_000 || v.Cap.Mode != c.mode ||
			!intsEqual(v.Cap.AlertThresholds, []int{80, 95}) || v.Percent == nil || *v.Percent != 0 || v.UsedBytes != 0 {
			t.Fatalf("%s: %+v cap %+v", c.mode, v, v.Cap)
		}
		if len(v.Alerts) != 2 || v.Alerts[0].Threshold != 80 || v.Alerts[0].ThresholdBytes != 8_000_000_000 ||
			v.Alerts[0].State != models.AlertArmed || v.Alerts[0].FiredAt != nil || v.Alerts[1].ThresholdBytes != 9_500_000_000 {
			t.Fatalf("%s: alerts %+v", c.mode, v.Alerts)
		}
		if got := h.view(h.inbox); got.Cap == nil || got.Cap.Mode != c.mode {
			t.Fatalf("GET after PUT: %+v", got.Cap)
		}
	}
	// Reviewers and agents may not set caps; another organization does not
	// see the inbox.
	h.env.MustStatus(403, "PUT", "/v1/billing/caps/mailbox/", h.env.User(h.org, models.RoleReviewer), enforceBody)
	tok := h.env.Token(h.org, "inb_123", []string{models.ScopeEmailRead, models.ScopeEmailWrite})
	h.env.MustStatus(403, "PUT", "/v1/billing/caps/mailbox/", tok.Secret, enforceBody)
	h.env.MustStatus(403, "GET", "/v1/billing/caps/mailbox/inb_123", tok.Secret, nil)
	other := h.env.OtherOrg("Other")
	if r := h.env.MustStatus(404, "PUT", "/v1/billing/caps/mailbox/", other.Owner, enforceBody); !strings.Contains(string(r.Body), `"field":"inbox_id"`) {
		t.Fatalf("another org's inbox: %s", r.Body)
	}
	h.env.MustStatus(404, "GET", "/v1/billing/caps/mailbox/inb_123", other.Owner, nil)
	h.env.MustStatus(404, "DELETE", "/v1/billing/caps/mailbox/inb_123", other.Owner, nil)
	// An admin may.
	h.env.MustStatus(200, "PUT", "/v1/billing/caps/mailbox/", h.env.User(h.org, models.RoleAdmin), enforceBody)
}

func TestSetCapValidation(t *testing.T) {
	h := newHarness(t)
	id := h.inbox.ID
	cases := []struct {
		name, body, field string
		status            int
	}{
		{"no inbox", `{"limit_gb": 10, "mode": "enforce"}`, "inbox_id", 422},
		{"unknown inbox", `{"inbox_id": "inb_01jd7x3k9q8m2n4p6r8t0v2w4y", "limit_gb": 10, "mode": "enforce"}`, "inbox_id", 404},
		{"no limit", `{"inbox_id": "%s", "mode": "enforce"}`, "limit_gb", 422},
		{"null limit", `{"inbox_id": "%s", "limit_gb": null, "mode": "enforce"}`, "limit_gb", 422},
		{"zero limit", `{"inbox_id": "%s", "limit_gb": 0, "mode": "enforce"}`, "limit_gb", 422},
		{"negative limit", `{"inbox_id": "%s", "limit_gb": -1, "mode": "enforce"}`, "limit_gb", 422},
		{"limit as string", `{"inbox_id": "%s", "limit_gb": "10", "mode": "enforce"}`, "limit_gb", 422},
		{"limit too large", `{"inbox_id": "%s", "limit_gb": 1000001, "mode": "enforce"}`, "limit_gb", 422},
		{"limit below a byte", `{"inbox_id": "%s", "limit_gb": 0.0000000001, "mode": "enforce"}`, "limit_gb", 422},
		{"no mode", `{"inbox_id": "%s", "limit_gb": 10}`, "mode", 422},
		{"bad mode", `{"inbox_id": "%s", "limit_gb": 10, "mode": "soft"}`, "mode", 422},
		{"mode in caps", `{"inbox_id": "%s", "limit_gb": 10, "mode": "ENFORCE"}`, "mode", 422},
		{"threshold 0", `{"inbox_id": "%s", "limit_gb": 10, "mode": "enforce", "alert_thresholds": [0]}`, "alert_thresholds[0]", 422},
		{"threshold 101", `{"inbox_id": "%s", "limit_gb": 10, "mode": "enforce", "alert_thresholds": [80, 101]}`, "alert_thresholds[1]", 422},
		{"threshold twice", `{"inbox_id": "%s", "limit_gb": 10, "mode": "enforce", "alert_thresholds": [80, 95, 80]}`, "alert_thresholds[2]", 422},
		{"fractional threshold", `{"inbox_id": "%s", "limit_gb": 10, "mode": "enforce", "alert_thresholds": [80.5]}`, "alert_thresholds", 422},
		{"thresholds not a list", `{"inbox_id": "%s", "limit_gb": 10, "mode": "enforce", "alert_thresholds": 80}`, "alert_thresholds", 422},
		{"too many thresholds", `{"inbox_id": "%s", "limit_gb": 10, "mode": "enforce", "alert_thresholds": [1,2,3,4,5,6,7,8,9,10,11]}`, "alert_thresholds", 422},
		{"unknown field", `{"inbox_id": "%s", "limit_gb": 10, "mode": "enforce", "limit_bytes": 5}`, "limit_bytes", 422},
		{"not JSON", `{"inbox_id": `, "", 400},
	}
	for _, c := range cases {
		body := c.body
		if strings.Contains(body, "%s") {
			body = fmt.Sprintf(body, id)
		}
		r := h.put(body)
		var e models.ErrorBody
		r.JSON(t, &e)
		if r.Status != c.status || e.Error == nil || e.Error.Field != c.field {
			t.Errorf("%s: want %d naming %q, got %d %s", c.name, c.status, c.field, r.Status, r.Body)
		}
	}
	if v := h.view(h.inbox); v.Cap != nil {
		t.Fatalf("a refused PUT stored a cap: %+v", v.Cap)
	}

	// Accepted: fractions of a GB, thresholds sorted, defaults, none.
	ok := []struct {
		name, body string
		limit      int64
		thresholds []int
	}{
		{"half a GB", `{"inbox_id": "%s", "limit_gb": 0.5, "mode": "enforce"}`, 500_000_000, []int{80, 95}},
		{"sorted", `{"inbox_id": "%s", "limit_gb": 2.25, "mode": "allow_and_bill", "alert_thresholds": [95, 50, 100, 1]}`, 2_250_000_000, []int{1, 50, 95, 100}},
		{"null thresholds", `{"inbox_id": "%s", "limit_gb": 1, "mode": "enforce", "alert_thresholds": null}`, 1_000_000_000, []int{80, 95}},
		{"no alerts", `{"inbox_id": "%s", "limit_gb": 0.000002, "mode": "enforce", "alert_thresholds": []}`, 2000, []int{}},
		{"a petabyte", `{"inbox_id": "%s", "limit_gb": 1000000, "mode": "enforce"}`, 1_000_000_000_000_000, []int{80, 95}},
	}
	for _, c := range ok {
		var v models.MailboxCap
		r := h.put(fmt.Sprintf(c.body, id))
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", c.name, r.Status, r.Body)
		}
		r.JSON(t, &v)
		if v.Cap.LimitBytes != c.limit || !intsEqual(v.Cap.AlertThresholds, c.thresholds) || len(v.Alerts) != len(c.thresholds) {
			t.Fatalf("%s: %+v %+v", c.name, v.Cap, v.Alerts)
		}
	}
}

func TestListGetRemove(t *testing.T) {
	h := newHarness(t)
	var inboxes []models.Inbox
	inboxes = append(inboxes, h.inbox)
	for i := 0; i < 4; i++ {
		inboxes = append(inboxes, h.env.Inbox(h.org, fmt.Sprintf("a%d@mail.example.com", i)))
	}
	h.mustStore(inboxes[1], message(1000, "one"))
	h.setCap(inboxes[1], 4000, models.CapEnforce, 20, 50)
	other := h.env.OtherOrg("Other")
	h.env.VerifiedDomain(other, "other.example.com")
	h.env.Inbox(other, "x@other.example.com")

	var all []models.MailboxCap
	cursor := ""
	for pages := 0; ; pages++ {
		var l models.List[models.MailboxCap]
		h.env.MustStatus(200, "GET", "/v1/billing/caps/mailbox/?limit=2&cursor="+cursor, h.org.Owner, nil).JSON(t, &l)
		all = append(all, l.Data...)
		if l.NextCursor == "" {
			break
		}
		if pages > 5 {
			t.Fatal("pages never end")
		}
		cursor = l.NextCursor
	}
	if len(all) != 5 {
		t.Fatalf("listed %d inboxes, want the organization's 5", len(all))
	}
	for i, v := range all {
		if i > 0 && v.InboxID <= all[i-1].InboxID {
			t.Fatal("not in id order")
		}
		if v.InboxID == inboxes[1].ID {
			if v.Cap == nil || v.UsedBytes != 1000 || v.MessageCount != 1 || v.Percent == nil || *v.Percent != 25 ||
				len(v.Alerts) != 2 || v.Alerts[0].State != models.AlertFired || v.Alerts[0].FiredAt == nil || v.Alerts[1].State != models.AlertArmed {
				t.Fatalf("capped inbox %+v", v)
			}
		} else if v.Cap != nil || v.Percent != nil || len(v.Alerts) != 0 {
			t.Fatalf("an inbox without a cap: %+v", v)
		}
	}
	// "cap": null on the wire.
	r := h.env.MustStatus(200, "GET", "/v1/billing/caps/mailbox/"+inboxes[2].ID, h.org.Owner, nil)
	if !strings.Contains(string(r.Body), `"cap":null`) || !strings.Contains(string(r.Body), `"percent":null`) {
		t.Fatalf("no cap: %s", r.Body)
	}
	h.env.MustStatus(422, "GET", "/v1/billing/caps/mailbox/?cursor=nonsense", h.org.Owner, nil)
	h.env.MustStatus(404, "GET", "/v1/billing/caps/mailbox/inb_01jd7x3k9q8m2n4p6r8t0v2w4y", h.org.Owner, nil)

	// Remove: no limit any more, no alerts; removing again is fine.
	h.env.MustStatus(204, "DELETE", "/v1/billing/caps/mailbox/"+inboxes[1].ID, h.org.Owner, nil)
	if v := h.view(inboxes[1]); v.Cap != nil || len(v.Alerts) != 0 || v.UsedBytes != 1000 {
		t.Fatalf("after remove: %+v", v)
	}
	if n := h.count(`SELECT count(*) FROM cap_alerts WHERE inbox_id = ?`, inboxes[1].ID); n != 0 {
		t.Fatalf("%d alert rows left", n)
	}
	h.env.MustStatus(204, "DELETE", "/v1/billing/caps/mailbox/"+inboxes[1].ID, h.org.Owner, nil)
	h.mustStore(inboxes[1], message(5000, "no limit now"))
	// The changes are in the audit trail with what they changed.
	if n := h.count(`SELECT count(*) FROM audit_log WHERE action = 'caps.changed' AND target_id = ? AND detail->'after'->>'mode' = 'enforce'`, inboxes[1].ID); n != 1 {
		t.Fatalf("caps.changed audit entries: %d", n)
	}
	if n := h.count(`SELECT count(*) FROM audit_log WHERE action = 'caps.removed' AND target_id = ?`, inboxes[1].ID); n != 1 {
		t.Fatalf("caps.removed audit entries: %d", n)
	}
	// A deleted inbox leaves the list.
	h.env.MustStatus(204, "DELETE", "/v1/inboxes/"+inboxes[3].ID, h.org.Owner, nil)
	h.env.MustStatus(404, "GET", "/v1/billing/caps/mailbox/"+inboxes[3].ID, h.org.Owner, nil)
	h.env.MustStatus(404, "PUT", "/v1/billing/caps/mailbox", h.org.Owner, fmt.Sprintf(`{"inbox_id": %q, "limit_gb": 1, "mode": "enforce"}`, inboxes[3].ID))
}
