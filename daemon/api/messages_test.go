package api_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"gent/daemon/server/servertest"
	"gent/models"
)

type mailbox struct {
	env   *servertest.Env
	org   servertest.Org
	inbox models.Inbox
	tok   string // all scopes
	base  string // /v1/inboxes/{id}
}

func newMailbox(t *testing.T) *mailbox {
	env, org, in := inboxEnv(t)
	return &mailbox{env: env, org: org, inbox: in, tok: env.Token(org, in.ID, servertest.AllScopes()).Secret,
		base: "/v1/inboxes/" + in.ID}
}

func (m *mailbox) msg(t *testing.T, id string) models.Message {
	t.Helper()
	var out models.Message
	m.env.MustStatus(200, "GET", m.base+"/messages/"+id, m.tok, nil).JSON(t, &out)
	return out
}

func (m *mailbox) list(t *testing.T, query string) models.List[models.MessageSummary] {
	t.Helper()
	var out models.List[models.MessageSummary]
	m.env.MustStatus(200, "GET", m.base+"/messages"+query, m.tok, nil).JSON(t, &out)
	return out
}

func (m *mailbox) usage(t *testing.T) (int64, int64) {
	t.Helper()
	var in models.Inbox
	m.env.MustStatus(200, "GET", "/v1/inboxes/"+m.inbox.ID, m.org.Owner, nil).JSON(t, &in)
	return in.UsedBytes, in.MessageCount
}

func plain(from, subject, body string, extra ...string) string {
	return "From: " + from + "\r\nTo: agent@mail.example.com\r\nSubject: " + subject + "\r\n" +
		strings.Join(extra, "") + "\r\n" + body + "\r\n"
}

func TestReadMessage(t *testing.T) {
	m := newMailbox(t)
	raw, err := os.ReadFile("../mail/testdata/nested.eml")
	if err != nil {
		t.Fatal(err)
	}
	st := m.env.Deliver(m.inbox, string(raw))
	usedBefore, _ := m.usage(t)

	got := m.msg(t, st.ID)
	if got.ID != st.ID || got.ThreadID != st.ThreadID || got.Direction != "inbound" || got.Status != "received" ||
		got.MessageID != "report-1@example.org" || got.From != (models.Address{Name: "Ada Lovelace", Address: "ada@example.org"}) ||
		len(got.To) != 2 || len(got.Cc) != 1 || got.Subject != "Quarterly report" || got.Date == nil ||
		!strings.Contains(got.Text, "Revenue grew") || !strings.Contains(got.HTML, "<p>") ||
		!strings.HasPrefix(got.ExtractedText, "Hello agent,") || got.Auth == nil || got.Read || got.Size != int64(len(raw)) ||
		len(got.Headers) < 8 || !strings.HasPrefix(got.Preview, "Hello agent,") {
		t.Fatalf("message %+v", got)
	}
	if len(got.Attachments) != 3 || !models.HasPrefix(got.Attachments[1].ID, models.PrefixAttach) {
		t.Fatalf("attachments %+v", got.Attachments)
	}

	pdf := m.env.MustStatus(200, "GET", m.base+"/messages/"+st.ID+"/attachments/"+got.Attachments[1].ID, m.tok, nil)
	if pdf.Header.Get("Content-Type") != "application/pdf" || pdf.Header.Get("Content-Disposition") != `attachment; filename=report.pdf` ||
		pdf.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(string(pdf.Body), "%PDF-1.4") || int64(len(pdf.Body)) != got.Attachments[1].Size {
		t.Fatalf("pdf download: %v %q", pdf.Header, pdf.Body[:10])
	}
	img := m.env.MustStatus(200, "GET", m.base+"/messages/"+st.ID+"/attachments/"+got.Attachments[0].ID, m.tok, nil)
	if img.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(string(img.Body), "\x89PNG") {
		t.Fatalf("inline image: %v", img.Header)
	}
	// An attachment id under another message is a 404.
	other := m.env.Deliver(m.inbox, plain("b@example.org", "other", "x"))
	m.env.MustStatus(404, "GET", m.base+"/messages/"+other.ID+"/attachments/"+got.Attachments[1].ID, m.tok, nil)

	r := m.env.MustStatus(200, "GET", m.base+"/messages/"+st.ID+"/raw", m.tok, nil)
	if string(r.Body) != string(raw) || r.Header.Get("Content-Type") != "message/rfc822" {
		t.Fatalf("raw: %v", r.Header)
	}

	// Reading never changes state.
	if again := m.msg(t, st.ID); again.Read {
		t.Fatal("reading marked the message read")
	}
	if used, _ := m.usage(t); used != usedBefore+other.Size {
		t.Fatalf("usage moved: %d", used)
	}
	var th models.ThreadDetail
	m.env.MustStatus(200, "GET", m.base+"/threads/"+st.ThreadID, m.tok, nil).JSON(t, &th)
	if th.UnreadCount != 1 || th.MessageCount != 1 || len(th.Messages) != 1 || th.Messages[0].Text == "" {
		t.Fatalf("thread %+v", th.Thread)
	}

	// A token of another inbox sees nothing of this one, even by id.
	otherInbox := m.env.Inbox(m.org, "other@mail.example.com")
	otherTok := m.env.Token(m.org, otherInbox.ID, servertest.AllScopes()).Secret
	m.env.MustStatus(404, "GET", "/v1/inboxes/"+otherInbox.ID+"/messages/"+st.ID, otherTok, nil)
	m.env.MustStatus(404, "GET", "/v1/inboxes/"+otherInbox.ID+"/messages/"+st.ID+"/raw", otherTok, nil)
	m.env.MustStatus(404, "GET", "/v1/inboxes/"+otherInbox.ID+"/threads/"+st.ThreadID, otherTok, nil)
	m.env.MustStatus(404, "GET", m.base+"/messages/"+st.ID, otherTok, nil)
	// Admin sessions read any inbox of their organization.
	m.env.MustStatus(200, "GET", m.base+"/messages/"+st.ID, m.org.Owner, nil)
}

func TestListAndSearch(t *testing.T) {
	m := newMailbox(t)
	var ids []string
	for i, s := range []struct{ from, subject, body string }{
		{"Ada <ada@example.org>", "Invoice for March", "Please find the invoices attached."},
		{"Bob <bob@example.net>", "Lunch", "Shall we meet at noon?"},
		{"Carol <carol@example.net>", "Quarterly numbers", "Revenue is up; the meeting moved to Friday."},
		{"Dan <dan@example.com>", "Hello", "Nothing much."},
		{"Eve <eve@example.com>", "Re: Invoice for March", "Paid yesterday."},
	} {
		ids = append(ids, m.env.Deliver(m.inbox, plain(s.from, s.subject, s.body, fmt.Sprintf("Message-ID: <m%d@example>\r\n", i))).ID)
	}
	// Newest first, keyset pages.
	var seen []string
	cursor := ""
	for page := 0; page < 3; page++ {
		l := m.list(t, "?limit=2&cursor="+cursor)
		for _, x := range l.Data {
			seen = append(seen, x.ID)
		}
		cursor = l.NextCursor
		if (page < 2) != (cursor != "") {
			t.Fatalf("page %d next %q", page, cursor)
		}
	}
	if strings.Join(seen, ",") != strings.Join([]string{ids[4], ids[3], ids[2], ids[1], ids[0]}, ",") {
		t.Fatalf("order %v", seen)
	}
	if r := m.env.Do("GET", m.base+"/messages?cursor=nonsense", m.tok, nil); r.Status != 422 || r.ErrorCode() != models.CodeValidation {
		t.Fatalf("bad cursor: %d %s", r.Status, r.Body)
	}
	if r := m.env.Do("GET", m.base+"/messages?limit=201", m.tok, nil); r.Status != 422 {
		t.Fatalf("limit 201: %d", r.Status)
	}
	search := func(q string) []string {
		l := m.list(t, "?q="+strings.ReplaceAll(q, " ", "+"))
		var subj []string
		for _, x := range l.Data {
			subj = append(subj, x.Subject)
		}
		return subj
	}
	for q, want := range map[string]string{
		"invoice":           "Re: Invoice for March,Invoice for March", // subject and body, stemmed
		"meetings":          "Quarterly numbers,Lunch",                 // body, stemmed: meeting, meet
		"bob@example.net":   "Lunch",
		"example.com":       "Re: Invoice for March,Hello",
		"carol":             "Quarterly numbers",
		`"meeting moved"`:   "Quarterly numbers",
		"invoice -paid":     "Invoice for March",
		"nonexistentword":   "",
		"lunch or noon":     "Lunch",
		"revenue friday up": "Quarterly numbers",
	} {
		if got := strings.Join(search(q), ","); got != want {
			t.Errorf("q=%q: got %q, want %q", q, got, want)
		}
	}
	// Filters.
	if l := m.list(t, "?direction=outbound"); len(l.Data) != 0 {
		t.Fatal("no outbound mail yet")
	}
	if l := m.list(t, "?direction=inbound&unread=true"); len(l.Data) != 5 {
		t.Fatalf("unread %d", len(l.Data))
	}
	if r := m.env.Do("GET", m.base+"/messages?direction=sideways", m.tok, nil); r.Status != 422 {
		t.Fatalf("direction: %d", r.Status)
	}
	if r := m.env.Do("GET", m.base+"/messages?unread=maybe", m.tok, nil); r.Status != 422 {
		t.Fatalf("unread: %d", r.Status)
	}
	var upd models.Message
	m.env.MustStatus(200, "PATCH", m.base+"/messages/"+ids[1], m.tok, models.UpdateMessageRequest{LabelsAdd: []string{"social", "todo"}}).JSON(t, &upd)
	if strings.Join(upd.Labels, ",") != "social,todo" {
		t.Fatalf("labels %v", upd.Labels)
	}
	if l := m.list(t, "?label=social"); len(l.Data) != 1 || l.Data[0].ID != ids[1] {
		t.Fatalf("label filter %+v", l.Data)
	}
	read := true
	m.env.MustStatus(200, "PATCH", m.base+"/messages/"+ids[1], m.tok, models.UpdateMessageRequest{LabelsRemove: []string{"todo"}, Read: &read}).JSON(t, &upd)
	if strings.Join(upd.Labels, ",") != "social" || !upd.Read {
		t.Fatalf("after patch %+v", upd)
	}
	if l := m.list(t, "?unread=false"); len(l.Data) != 1 {
		t.Fatalf("read filter %d", len(l.Data))
	}
	for _, body := range []string{`{}`, `{"labels_add": [""]}`, `{"labels_add": ["a,b"]}`, `{"read": "yes"}`, `{"labels": ["x"]}`} {
		if r := m.env.Do("PATCH", m.base+"/messages/"+ids[1], m.tok, body); r.Status != 422 {
			t.Errorf("PATCH %s: want 422, got %d %s", body, r.Status, r.Body)
		}
	}
}

func TestThreadsAndDelete(t *testing.T) {
	m := newMailbox(t)
	a := m.env.Deliver(m.inbox, plain("ada@example.org", "Plan", "v1", "Message-ID: <plan@x>\r\n"))
	b := m.env.Deliver(m.inbox, plain("bob@example.net", "Re: Plan", "ok", "Message-ID: <re-plan@x>\r\nIn-Reply-To: <plan@x>\r\nReferences: <plan@x>\r\n"))
	c := m.env.Deliver(m.inbox, plain("ada@example.org", "Re: Plan", "and?", "Message-ID: <re-re-plan@x>\r\nReferences: <plan@x> <re-plan@x>\r\n"))
	lunch := m.env.Deliver(m.inbox, plain("carol@example.net", "Lunch", "noon?"))
	// No In-Reply-To and no References: the subject links a reply...
	reply := m.env.Deliver(m.inbox, plain("dan@example.com", "RE: lunch", "yes"))
	// ...but not a new message that only shares the subject.
	again := m.env.Deliver(m.inbox, plain("erin@example.com", "Lunch", "another lunch"))
	if a.ThreadID != b.ThreadID || b.ThreadID != c.ThreadID || lunch.ThreadID != reply.ThreadID ||
		again.ThreadID == lunch.ThreadID || lunch.ThreadID == a.ThreadID {
		t.Fatalf("threads: %s %s %s | %s %s | %s", a.ThreadID, b.ThreadID, c.ThreadID, lunch.ThreadID, reply.ThreadID, again.ThreadID)
	}
	var threads models.List[models.Thread]
	m.env.MustStatus(200, "GET", m.base+"/threads?limit=2", m.tok, nil).JSON(t, &threads)
	if len(threads.Data) != 2 || threads.Data[0].ID != again.ThreadID || threads.Data[1].ID != lunch.ThreadID || threads.NextCursor == "" {
		t.Fatalf("threads page 1 %+v", threads)
	}
	var rest models.List[models.Thread]
	m.env.MustStatus(200, "GET", m.base+"/threads?limit=2&cursor="+threads.NextCursor, m.tok, nil).JSON(t, &rest)
	if len(rest.Data) != 1 || rest.Data[0].ID != a.ThreadID || rest.NextCursor != "" {
		t.Fatalf("threads page 2 %+v", rest)
	}
	plan := rest.Data[0]
	if plan.MessageCount != 3 || plan.UnreadCount != 3 || plan.Subject != "Plan" ||
		strings.Join(plan.Participants, ",") != "ada@example.org,bob@example.net" {
		t.Fatalf("plan thread %+v", plan)
	}
	var th models.ThreadDetail
	m.env.MustStatus(200, "GET", m.base+"/threads/"+a.ThreadID, m.tok, nil).JSON(t, &th)
	if len(th.Messages) != 3 || th.Messages[0].ID != a.ID || th.Messages[2].ID != c.ID {
		t.Fatalf("thread messages in order: %+v", th.Messages)
	}
	if l := m.list(t, "?thread_id="+a.ThreadID); len(l.Data) != 3 {
		t.Fatalf("thread filter %d", len(l.Data))
	}

	// Delete releases the message's bytes in the same transaction; an
	// emptied thread goes too.
	used, count := m.usage(t)
	m.env.MustStatus(204, "DELETE", m.base+"/messages/"+b.ID, m.tok, nil)
	m.env.MustStatus(404, "DELETE", m.base+"/messages/"+b.ID, m.tok, nil)
	m.env.MustStatus(404, "GET", m.base+"/messages/"+b.ID, m.tok, nil)
	if u, n := m.usage(t); u != used-b.Size || n != count-1 {
		t.Fatalf("usage after delete %d/%d, want %d/%d", u, n, used-b.Size, count-1)
	}
	m.env.MustStatus(200, "GET", m.base+"/threads/"+a.ThreadID, m.tok, nil).JSON(t, &th)
	if th.MessageCount != 2 || th.UnreadCount != 2 {
		t.Fatalf("thread after delete %+v", th.Thread)
	}
	m.env.MustStatus(204, "DELETE", m.base+"/messages/"+again.ID, m.tok, nil)
	m.env.MustStatus(404, "GET", m.base+"/threads/"+again.ThreadID, m.tok, nil)
}

func TestContacts(t *testing.T) {
	m := newMailbox(t)
	m.env.Deliver(m.inbox, plain("Ada Lovelace <Ada@Example.org>", "one", "x"))
	m.env.Deliver(m.inbox, plain("ada@example.org", "two", "x"))
	var list models.List[models.Contact]
	m.env.MustStatus(200, "GET", m.base+"/contacts", m.tok, nil).JSON(t, &list)
	if len(list.Data) != 1 {
		t.Fatalf("contacts %+v", list)
	}
	ada := list.Data[0]
	if ada.Address != "ada@example.org" || ada.Name != "Ada Lovelace" || ada.ReceivedCount != 2 || ada.SentCount != 0 ||
		ada.Source != "mail" || ada.LastSeenAt.Before(ada.FirstSeenAt) {
		t.Fatalf("ada %+v", ada)
	}
	var c models.Contact
	m.env.MustStatus(201, "POST", m.base+"/contacts", m.tok, models.CreateContactRequest{Address: "Grace@Example.com", Name: "Grace"}).JSON(t, &c)
	if c.Address != "grace@example.com" || c.Source != "api" || !models.HasPrefix(c.ID, models.PrefixContact) {
		t.Fatalf("created %+v", c)
	}
	m.env.MustStatus(200, "POST", m.base+"/contacts", m.tok, models.CreateContactRequest{Address: "ada@example.org", Name: "Countess"}).JSON(t, &c)
	if c.ID != ada.ID || c.Name != "Countess" || c.ReceivedCount != 2 {
		t.Fatalf("renamed %+v", c)
	}
	for _, body := range []string{`{"address": "not-an-address"}`, `{"address": ""}`, `{"address": "a@b.c", "name": "x\ny"}`, `{"addr": "a@b.c"}`} {
		if r := m.env.Do("POST", m.base+"/contacts", m.tok, body); r.Status != 422 {
			t.Errorf("POST %s: want 422, got %d", body, r.Status)
		}
	}
	m.env.MustStatus(200, "GET", m.base+"/contacts?limit=1", m.tok, nil).JSON(t, &list)
	if len(list.Data) != 1 || list.NextCursor == "" {
		t.Fatalf("page %+v", list)
	}
	m.env.MustStatus(204, "DELETE", m.base+"/contacts/"+ada.ID, m.tok, nil)
	m.env.MustStatus(404, "DELETE", m.base+"/contacts/"+ada.ID, m.tok, nil)
}

func TestSenderRulesAPI(t *testing.T) {
	m := newMailbox(t)
	var r models.SenderRule
	m.env.MustStatus(201, "POST", m.base+"/senders", m.org.Owner, `{"pattern": "@Spam.Example.", "kind": "block"}`).JSON(t, &r)
	if r.Pattern != "spam.example" || r.Kind != "block" || !models.HasPrefix(r.ID, models.PrefixSender) {
		t.Fatalf("rule %+v", r)
	}
	if resp := m.env.Do("POST", m.base+"/senders", m.org.Owner, `{"pattern": "spam.example", "kind": "allow"}`); resp.Status != 409 {
		t.Fatalf("duplicate: %d", resp.Status)
	}
	for _, body := range []string{`{"pattern": "spam.example", "kind": "maybe"}`, `{"pattern": "", "kind": "block"}`,
		`{"pattern": "not a domain", "kind": "block"}`, `{"pattern": "a@@b", "kind": "block"}`} {
		if resp := m.env.Do("POST", m.base+"/senders", m.org.Owner, body); resp.Status != 422 {
			t.Errorf("POST %s: want 422, got %d", body, resp.Status)
		}
	}
	m.env.MustStatus(201, "POST", m.base+"/senders", m.org.Owner, models.CreateSenderRuleRequest{Pattern: "*", Kind: "block"})
	var list models.List[models.SenderRule]
	m.env.MustStatus(200, "GET", m.base+"/senders", m.org.Owner, nil).JSON(t, &list)
	if len(list.Data) != 2 {
		t.Fatalf("rules %+v", list)
	}
	m.env.MustStatus(204, "DELETE", m.base+"/senders/"+r.ID, m.org.Owner, nil)
	m.env.MustStatus(404, "DELETE", m.base+"/senders/"+r.ID, m.org.Owner, nil)
	// Agents may not change their own boundary.
	m.env.MustStatus(403, "POST", m.base+"/senders", m.tok, models.CreateSenderRuleRequest{Pattern: "x.example", Kind: "allow"})
}
