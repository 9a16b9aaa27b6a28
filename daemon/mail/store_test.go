package mail_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"gent/daemon/mail"
	"gent/daemon/server/servertest"
	"gent/models"
)

func setup(t *testing.T) (*servertest.Env, servertest.Org, models.Inbox) {
	env := servertest.New(t)
	org := env.Setup()
	env.VerifiedDomain(org, "mail.example.com")
	return env, org, env.Inbox(org, "agent@mail.example.com")
}

func store(env *servertest.Env, in mail.StoreInput) (*mail.Stored, error) {
	var st *mail.Stored
	err := env.Store.Tx(context.Background(), func(tx *gorm.DB) error {
		var err error
		st, err = env.Mail.Store(context.Background(), tx, in)
		return err
	})
	return st, err
}

// raceForCap fills inbox in up to an enforce cap of 7.5 messages of raw
// with 20 concurrent stores: exactly 7 must be stored and counted, the
// other 13 refused with storage_cap_exceeded.
func raceForCap(t *testing.T, env *servertest.Env, in models.Inbox, raw []byte, store func() error) {
	t.Helper()
	size := int64(len(raw))
	env.Store.DB.Exec(`UPDATE inboxes SET cap_mode = 'enforce', cap_limit_bytes = ? WHERE id = ?`, 7*size+size/2, in.ID)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, refused := 0, 0
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := store()
			mu.Lock()
			defer mu.Unlock()
			switch models.ErrorCode(err) {
			case "":
				ok++
			case models.CodeStorageCapExceeded:
				refused++
			default:
				t.Errorf("store: %v", err)
			}
		}()
	}
	wg.Wait()
	var used, count int64
	env.Store.DB.Raw(`SELECT used_bytes FROM inboxes WHERE id = ?`, in.ID).Scan(&used)
	env.Store.DB.Raw(`SELECT count(*) FROM messages WHERE inbox_id = ?`, in.ID).Scan(&count)
	if ok != 7 || refused != 13 || used != 7*size || count != 7 {
		t.Fatalf("ok %d refused %d used %d (want %d) stored %d", ok, refused, used, 7*size, count)
	}
}

// The cap check and the usage increment are one statement: stores racing
// for the last bytes of an enforce cap never take the inbox past it.
func TestCapIsRaceFree(t *testing.T) {
	env, _, in := setup(t)
	raw := []byte("From: a@example.org\r\nSubject: race\r\n\r\n" + strings.Repeat("x", 1000) + "\r\n")
	raceForCap(t, env, in, raw, func() error {
		_, err := store(env, mail.StoreInput{OrgID: in.OrgID, InboxID: in.ID, Direction: models.DirectionInbound,
			Status: models.StatusReceived, Raw: raw})
		return err
	})
}

// A reply that arrives before the message it answers still ends up in one
// thread with it.
func TestThreadOutOfOrder(t *testing.T) {
	env, org, in := setup(t)
	reply := env.Deliver(in, "From: b@example.org\r\nSubject: Re: x\r\nMessage-ID: <r@x>\r\nIn-Reply-To: <o@x>\r\n\r\nreply\r\n")
	orig := env.Deliver(in, "From: a@example.org\r\nSubject: x\r\nMessage-ID: <o@x>\r\n\r\noriginal\r\n")
	fwd := env.Deliver(in, "From: c@example.org\r\nSubject: Fwd: x\r\nMessage-ID: <f@x>\r\nReferences: <z@x> <r@x>\r\n\r\nfwd\r\n")
	if reply.ThreadID != orig.ThreadID || fwd.ThreadID != orig.ThreadID {
		t.Fatalf("threads %s %s %s", reply.ThreadID, orig.ThreadID, fwd.ThreadID)
	}
	// Threads are per inbox: the same conversation in another inbox is
	// another thread.
	other := env.Inbox(org, "x@mail.example.com")
	if o := env.Deliver(other, "From: b@example.org\r\nSubject: Re: x\r\nMessage-ID: <r2@x>\r\nIn-Reply-To: <o@x>\r\n\r\nreply\r\n"); o.ThreadID == orig.ThreadID {
		t.Fatal("a thread spans two inboxes")
	}
}

func TestStoreOutboundCopy(t *testing.T) {
	env, _, in := setup(t)
	raw := "From: agent@mail.example.com\r\nTo: Ada <ada@example.org>, agent@mail.example.com\r\nCc: bob@example.net\r\n" +
		"Bcc: secret@example.com\r\nSubject: sent\r\n\r\nhello\r\n"
	st, err := store(env, mail.StoreInput{OrgID: in.OrgID, InboxID: in.ID, Direction: models.DirectionOutbound,
		Status: "queued", Raw: []byte(raw), Read: true, Labels: []string{"sent"}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := env.Mail.GetMessage(context.Background(), in.OrgID, in.ID, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Direction != "outbound" || m.Status != "queued" || !m.Read || m.Auth != nil || len(m.Bcc) != 1 ||
		strings.Join(m.Labels, ",") != "sent" {
		t.Fatalf("outbound copy %+v", m.MessageSummary)
	}
	contacts, _, err := env.Mail.ListContacts(context.Background(), in.OrgID, in.ID, "", 50)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range contacts {
		got = append(got, fmt.Sprintf("%s:%d/%d", c.Address, c.SentCount, c.ReceivedCount))
	}
	if strings.Join(got, ",") != "ada@example.org:1/0,bob@example.net:1/0,secret@example.com:1/0" {
		t.Fatalf("contacts %v (the inbox itself is not a contact)", got)
	}
	var events int64
	env.Store.DB.Raw(`SELECT count(*) FROM events`).Scan(&events)
	if events != 0 {
		t.Fatal("message.received emitted for outbound mail")
	}
	var threadUnread int64
	env.Store.DB.Raw(`SELECT unread_count FROM threads WHERE id = ?`, st.ThreadID).Scan(&threadUnread)
	if threadUnread != 0 {
		t.Fatal("a read copy counted as unread")
	}
}

// Deleting an inbox purges its mail in batches and releases the usage.
func TestPurgeDeletedInbox(t *testing.T) {
	env, org, in := setup(t)
	keep := env.Inbox(org, "keep@mail.example.com")
	for i := 0; i < 5; i++ {
		env.Deliver(in, fmt.Sprintf("From: a@example.org\r\nSubject: %d\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"+
			"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b\r\nContent-Type: image/png\r\n\r\npng\r\n--b--\r\n", i))
	}
	env.Deliver(keep, "From: a@example.org\r\nSubject: kept\r\n\r\nx\r\n")
	env.MustStatus(204, "DELETE", "/v1/inboxes/"+in.ID, org.Owner, nil)
	env.StartJobs()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var n int64
		env.Store.DB.Raw(`SELECT count(*) FROM inboxes WHERE id = ?`, in.ID).Scan(&n)
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("inbox not purged")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, table := range []string{"messages", "threads", "attachments", "contacts"} {
		var n int64
		env.Store.DB.Raw(`SELECT count(*) FROM `+table+` WHERE inbox_id = ?`, in.ID).Scan(&n)
		if n != 0 {
			t.Fatalf("%s left: %d", table, n)
		}
	}
	var kept int64
	env.Store.DB.Raw(`SELECT count(*) FROM messages WHERE inbox_id = ?`, keep.ID).Scan(&kept)
	if kept != 1 {
		t.Fatal("another inbox's mail was purged")
	}
}

// Search results are the newest matches, page after page, whichever plan
// a word gets: dense (one walk), less dense (walked further), sparse or
// rare and old (the GIN index), absent.
func TestSearchPlans(t *testing.T) {
	env, org, in := setup(t)
	other := env.Inbox(org, "other@mail.example.com")
	const n = 1300
	ids := make([]string, n)
	err := env.Store.Tx(context.Background(), func(tx *gorm.DB) error {
		for i := 0; i < n; i++ {
			words := "filler"
			if i%2 == 0 {
				words += " alpha"
			}
			if i%250 == 0 {
				words += " beta"
			}
			if i == 3 {
				words += " gamma"
			}
			if i%7 == 0 {
				words += " delta"
			}
			st, err := env.Mail.Store(context.Background(), tx, mail.StoreInput{OrgID: in.OrgID, InboxID: in.ID,
				Direction: models.DirectionInbound, Status: models.StatusReceived,
				Raw: []byte(fmt.Sprintf("From: a@example.org\r\nSubject: n%d\r\n\r\n%s\r\n", i, words))})
			if err != nil {
				return err
			}
			ids[i] = st.ID
		}
		// Another inbox's matches never show.
		_, err := env.Mail.Store(context.Background(), tx, mail.StoreInput{OrgID: other.OrgID, InboxID: other.ID,
			Direction: models.DirectionInbound, Status: models.StatusReceived,
			Raw: []byte("From: a@example.org\r\nSubject: x\r\n\r\nalpha beta gamma\r\n")})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := func(pred func(i int) bool) []string {
		var out []string
		for i := n - 1; i >= 0; i-- {
			if pred(i) {
				out = append(out, ids[i])
			}
		}
		return out
	}
	all := func(q string, limit int) []string {
		var got []string
		cursor := ""
		for pages := 0; pages < 1000; pages++ {
			page, next, err := env.Mail.ListMessages(context.Background(), in.OrgID, in.ID, models.MessageFilter{Query: q}, cursor, limit)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range page {
				got = append(got, m.ID)
			}
			if next == "" {
				return got
			}
			cursor = next
		}
		t.Fatal("endless pages")
		return nil
	}
	for _, c := range []struct {
		q     string
		limit int
		want  []string
	}{
		{"alpha", 200, want(func(i int) bool { return i%2 == 0 })},
		{"beta", 2, want(func(i int) bool { return i%250 == 0 })},
		{"beta", 50, want(func(i int) bool { return i%250 == 0 })},
		{"gamma", 50, want(func(i int) bool { return i == 3 })},
		{"delta", 100, want(func(i int) bool { return i%7 == 0 })},
		{"alpha beta", 1, want(func(i int) bool { return i%250 == 0 })},
		{"zeppelin", 50, nil},
	} {
		if got := all(c.q, c.limit); strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("q=%q limit %d: got %d results, want %d (or another order)", c.q, c.limit, len(got), len(c.want))
		}
	}
}

// The text without quoted history is stored only when it differs from
// the text; either way a reader gets both.
func TestExtractedTextStoredOnce(t *testing.T) {
	env, _, in := setup(t)
	for _, c := range []struct {
		name, body, extracted string
		stored                bool
	}{
		{"no quoted history", "Hello agent,\r\nthe invoice is attached.\r\n", "Hello agent,\nthe invoice is attached.", false},
		{"a reply", "Thanks, done.\r\n\r\nOn Mon, 1 Dec 2026, Ada wrote:\r\n> Can you do it?\r\n", "Thanks, done.", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			raw := []byte("From: ada@example.org\r\nTo: agent@mail.example.com\r\nSubject: " + c.name + "\r\n\r\n" + c.body)
			st, err := store(env, mail.StoreInput{OrgID: in.OrgID, InboxID: in.ID, Direction: models.DirectionInbound,
				Status: models.StatusReceived, Raw: raw})
			if err != nil {
				t.Fatal(err)
			}
			var stored *string
			env.Store.DB.Raw(`SELECT extracted_text FROM messages WHERE id = ?`, st.ID).Scan(&stored)
			if (stored != nil) != c.stored {
				t.Fatalf("extracted_text stored: %v, want %v", stored != nil, c.stored)
			}
			m, err := env.Mail.GetMessage(context.Background(), in.OrgID, in.ID, st.ID)
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(m.ExtractedText) != c.extracted || m.Text == "" {
				t.Fatalf("extracted %q text %q", m.ExtractedText, m.Text)
			}
		})
	}
}
