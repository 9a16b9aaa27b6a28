package delivery_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"gent/models"
)

// overLimit are the three shapes of issue 15, item 6, each as the fields a
// request adds, with the field the 422 must name.
func overLimit() []struct {
	name  string
	atts  []models.SendAttachment
	hdrs  map[string]string
	field string
} {
	many := make([]models.SendAttachment, 500)
	for i := range many {
		many[i] = models.SendAttachment{Filename: fmt.Sprintf("a%d.txt", i), ContentBase64: "eA=="}
	}
	lots := map[string]string{}
	for i := 0; i < 3000; i++ {
		lots[fmt.Sprintf("X-H-%d", i)] = "v"
	}
	// Within the count, but encoded (non-ASCII: RFC 2047) the header
	// section is larger than smtp.max_header_bytes (256 KiB).
	big := map[string]string{}
	for i := 0; i < 95; i++ {
		big[fmt.Sprintf("X-Big-%d", i)] = strings.Repeat("é", 499)
	}
	return []struct {
		name  string
		atts  []models.SendAttachment
		hdrs  map[string]string
		field string
	}{
		{"500 attachments", many, nil, "attachments"},
		{"3000 headers", nil, lots, "headers"},
		{"header section", nil, big, "headers"},
	}
}

func TestLimitsAnswer422AtEveryEntry(t *testing.T) {
	h := newHarness(t)
	in := "/v1/inboxes/" + h.inbox.ID
	orig := h.env.Deliver(h.inbox, "From: ann@example.net\r\nTo: agent@mail.example.com\r\nSubject: Hi\r\nMessage-ID: <hi@example.net>\r\n\r\nhi\r\n")
	var draft models.Draft
	h.env.MustStatus(201, "POST", in+"/drafts", h.agent.Secret, `{"to": "ann@example.net", "subject": "later", "text": "x"}`).JSON(t, &draft)
	for _, c := range overLimit() {
		// A draft stored before the limits were checked is refused when sent.
		var stale models.Draft
		h.env.MustStatus(201, "POST", in+"/drafts", h.agent.Secret, `{"to": "ann@example.net", "subject": "stale", "text": "x"}`).JSON(t, &stale)
		req, _ := json.Marshal(models.SendRequest{To: models.AddressList{"ann@example.net"}, Subject: "stale", Text: "x",
			Attachments: c.atts, Headers: c.hdrs})
		if err := h.env.Store.DB.Exec(`UPDATE drafts SET request = ? WHERE id = ?`, req, stale.ID).Error; err != nil {
			t.Fatal(err)
		}
		send := models.SendRequest{To: models.AddressList{"ann@example.net"}, Subject: "s", Text: "t", Attachments: c.atts, Headers: c.hdrs}
		reply := models.ReplyRequest{Text: "t", Attachments: c.atts, Headers: c.hdrs}
		fwd := reply
		fwd.To = models.AddressList{"bob@example.net"}
		atts, hdrs := c.atts, c.hdrs
		patch := models.DraftRequest{Attachments: &atts}
		if c.atts == nil {
			patch = models.DraftRequest{Headers: &hdrs}
		}
		create := models.DraftRequest{To: &send.To, Text: &send.Text, Attachments: patch.Attachments, Headers: patch.Headers}
		routes := []struct {
			name, method, path string
			body               any
		}{
			{"send", "POST", in + "/messages/send", send},
			{"reply", "POST", in + "/messages/" + orig.ID + "/reply", reply},
			{"reply-all", "POST", in + "/messages/" + orig.ID + "/reply-all", reply},
			{"forward", "POST", in + "/messages/" + orig.ID + "/forward", fwd},
			{"draft create", "POST", in + "/drafts", create},
			{"draft update", "PATCH", in + "/drafts/" + draft.ID, patch},
			{"draft send", "POST", in + "/drafts/" + stale.ID + "/send", nil},
		}
		var before, used int64
		h.env.Store.DB.Raw(`SELECT count(*) FROM messages`).Scan(&before)
		h.env.Store.DB.Raw(`SELECT used_bytes FROM inboxes WHERE id = ?`, h.inbox.ID).Scan(&used)
		for _, r := range routes {
			res := h.env.Do(r.method, r.path, h.agent.Secret, r.body)
			var e models.ErrorBody
			_ = json.Unmarshal(res.Body, &e)
			if res.Status != 422 || e.Error == nil || e.Error.Code != models.CodeValidation || e.Error.Field != c.field {
				t.Errorf("%s, %s: want 422 validation_failed on %s, got %d %.300s", c.name, r.name, c.field, res.Status, res.Body)
			}
		}
		var after, usedAfter int64
		h.env.Store.DB.Raw(`SELECT count(*) FROM messages`).Scan(&after)
		h.env.Store.DB.Raw(`SELECT used_bytes FROM inboxes WHERE id = ?`, h.inbox.ID).Scan(&usedAfter)
		if after != before || usedAfter != used {
			t.Errorf("%s: refused requests stored %d messages, %d bytes", c.name, after-before, usedAfter-used)
		}
		var d models.Draft
		h.env.MustStatus(200, "GET", in+"/drafts/"+draft.ID, h.agent.Secret, nil).JSON(t, &d)
		if len(d.Attachments) != 0 || len(d.Headers) != 0 || d.Size != draft.Size {
			t.Errorf("%s: a refused update changed the draft", c.name)
		}
	}
	// At the limits, a send goes through.
	atts := make([]models.SendAttachment, 100)
	for i := range atts {
		atts[i] = models.SendAttachment{Filename: fmt.Sprintf("a%d.txt", i), ContentBase64: "eA=="}
	}
	hdrs := map[string]string{}
	for i := 0; i < 100; i++ {
		hdrs[fmt.Sprintf("X-H-%d", i)] = strings.Repeat("v", 998)
	}
	h.send(models.SendRequest{To: models.AddressList{"ann@example.net"}, Subject: "s", Text: "t", HTML: "<p>t</p>", Attachments: atts, Headers: hdrs})
}
