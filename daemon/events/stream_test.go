package events_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"gorm.io/gorm"

	"gent/daemon/config"
	"gent/daemon/server/servertest"
	"gent/daemon/store/storetest"
	"gent/models"
)

func TestStreamReceivesEmittedEventQuickly(t *testing.T) {
	d := start(t)
	org := d.Setup()
	inb := d.inbox(org, "agent")
	s := d.open("/v1/events", org.Owner)

	var worst time.Duration
	for i := range 5 {
		committed := time.Now()
		ev := d.emit(org.ID, inb, models.EventMessageReceived, map[string]any{"message_id": fmt.Sprintf("msg_%d", i), "subject": "hello"})
		m := s.next(time.Second) // the bound: within a second of the commit
		worst = max(worst, time.Since(committed))
		if m.ID != ev.ID || m.Event != models.EventMessageReceived {
			t.Fatalf("got %s %s, want %s message.received", m.ID, m.Event, ev.ID)
		}
		var got models.Event
		if err := json.Unmarshal([]byte(m.Data), &got); err != nil {
			t.Fatal(err)
		}
		if got.ID != ev.ID || got.OrgID != org.ID || got.InboxID == nil || *got.InboxID != inb ||
			got.Payload["message_id"] != fmt.Sprintf("msg_%d", i) || got.CreatedAt.IsZero() {
			t.Fatalf("event data %s", m.Data)
		}
	}
	t.Logf("slowest commit-to-stream latency over 5 events: %s", worst)
}

func TestStreamTypeFilterAndHeartbeat(t *testing.T) {
	d := start(t, func(c *config.Config) { c.Events.Heartbeat = config.Duration(100 * time.Millisecond) })
	org := d.Setup()
	s := d.open("/v1/events?type=message.bounced,domain.verified", org.Owner)
	d.emit(org.ID, "", models.EventMessageSent, nil)
	want := d.emit(org.ID, "", models.EventDomainVerified, map[string]any{"domain_id": "dom_x"})
	if m := s.next(2 * time.Second); m.ID != want.ID {
		t.Fatalf("filtered stream got %s (%s), want %s", m.ID, m.Event, want.ID)
	}
	beats := 0
	deadline := time.After(3 * time.Second)
	for beats < 2 {
		select {
		case m := <-s.msgs:
			if m.Comment == "heartbeat" {
				beats++
			} else if m.Comment == "" {
				t.Fatalf("unexpected event %s", m.Event)
			}
		case <-deadline:
			t.Fatal("no heartbeats on an idle stream")
		}
	}
	if r := d.Do("GET", "/v1/events?type=message.nope", org.Owner, nil, "Accept", "text/event-stream"); r.Status != 422 || r.ErrorCode() != models.CodeValidation {
		t.Fatalf("unknown type: %d %s", r.Status, r.Body)
	}
}

func TestResumeWithLastEventIDMissesNothing(t *testing.T) {
	d := start(t)
	org := d.Setup()
	s := d.open("/v1/events", org.Owner)
	e1 := d.emit(org.ID, "", models.EventDomainVerified, nil)
	e2 := d.emit(org.ID, "", models.EventDomainChanged, nil)
	if got := s.ids(2, 2*time.Second); !slices.Equal(got, []string{e1.ID, e2.ID}) {
		t.Fatalf("first connection got %v", got)
	}
	s.close()

	// Emitted while nobody listens.
	var missed []string
	for range 5 {
		missed = append(missed, d.emit(org.ID, "", models.EventMessageSent, nil).ID)
	}
	s2 := d.open("/v1/events", org.Owner, "Last-Event-ID", e2.ID)
	if got := s2.ids(5, 2*time.Second); !slices.Equal(got, missed) {
		t.Fatalf("resumed stream got %v, want %v", got, missed)
	}
	live := d.emit(org.ID, "", models.EventMessageDelivered, nil)
	if m := s2.next(2 * time.Second); m.ID != live.ID {
		t.Fatalf("resumed stream then got %s, want %s", m.ID, live.ID)
	}
	s2.quiet(200 * time.Millisecond)

	// ?after= works the same for clients that cannot set headers.
	s3 := d.open("/v1/events?after="+missed[2], org.Owner)
	if got := s3.ids(3, 2*time.Second); !slices.Equal(got, []string{missed[3], missed[4], live.ID}) {
		t.Fatalf("?after stream got %v", got)
	}

	// An id this stream never had is refused, not silently ignored.
	other := d.OtherOrg("Other")
	foreign := d.emit(other.ID, "", models.EventDomainVerified, nil)
	for _, id := range []string{foreign.ID, "evt_01jd7x3k9q8m2n4p6r8t0v2w4y", "nonsense"} {
		r := d.Do("GET", "/v1/events", org.Owner, nil, "Accept", "text/event-stream", "Last-Event-ID", id)
		if r.Status != 422 || r.ErrorCode() != models.CodeValidation {
			t.Errorf("Last-Event-ID %s: %d %s", id, r.Status, r.Body)
		}
	}
}

// Event ids are made before commit, so concurrent transactions commit
// them out of order. Neither streams nor polling clients may skip the
// event that commits last with the smaller id.
func TestOutOfOrderCommitsAreNotSkipped(t *testing.T) {
	d := start(t)
	org := d.Setup()
	ctx := context.Background()
	begin := func() *gorm.DB {
		tx := d.Store.DB.WithContext(ctx).Begin()
		if tx.Error != nil {
			t.Fatal(tx.Error)
		}
		t.Cleanup(func() { tx.Rollback() }) // no-op once committed; frees the connection if the test fails
		// Take the transaction id now, to fix the xid order.
		if err := tx.Exec(`SELECT pg_current_xact_id()`).Error; err != nil {
			t.Fatal(err)
		}
		return tx
	}
	emitIn := func(tx *gorm.DB, typ string) *models.Event {
		ev, err := d.Events.Emit(ctx, tx, org.ID, "", typ, nil)
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	// poll is a client of the JSON page that remembers the last id it saw.
	last := ""
	poll := func() []string {
		path := "/v1/events"
		if last != "" {
			path += "?after=" + last
		}
		var page models.List[models.Event]
		d.MustStatus(200, "GET", path, org.Owner, nil).JSON(t, &page)
		var ids []string
		for _, e := range page.Data {
			ids = append(ids, e.ID)
			last = e.ID
		}
		return ids
	}

	s := d.open("/v1/events", org.Owner)

	{ // older transaction commits last
		t1 := begin()
		e1 := emitIn(t1, models.EventMessageSent) // smaller id, older xid
		t2 := begin()
		e2 := emitIn(t2, models.EventMessageDelivered)
		if err := t2.Commit().Error; err != nil {
			t.Fatal(err)
		}
		// e2 is committed but waits: t1 could still commit an event before it.
		s.quiet(300 * time.Millisecond)
		if got := poll(); len(got) != 0 {
			t.Fatalf("poll returned %v while an older transaction was open", got)
		}
		if err := t1.Commit().Error; err != nil {
			t.Fatal(err)
		}
		if got := s.ids(2, 2*time.Second); !slices.Equal(got, []string{e1.ID, e2.ID}) {
			t.Fatalf("stream got %v, want %v", got, []string{e1.ID, e2.ID})
		}
		if got := poll(); !slices.Equal(got, []string{e1.ID, e2.ID}) {
			t.Fatalf("poll got %v", got)
		}
	}

	{ // smaller id commits last from a younger transaction
		t2 := begin()                                  // older xid
		t1 := begin()                                  // younger xid
		e1 := emitIn(t1, models.EventMessageBounced)   // smaller id
		e2 := emitIn(t2, models.EventMessageDelivered) // larger id
		if e1.ID >= e2.ID {
			t.Fatalf("ids not in creation order: %s %s", e1.ID, e2.ID)
		}
		if err := t2.Commit().Error; err != nil {
			t.Fatal(err)
		}
		// e2 is settled (no older transaction is open) and goes out now;
		// a reader keyed on "id > last id" would now skip e1 forever.
		if m := s.next(2 * time.Second); m.ID != e2.ID {
			t.Fatalf("stream got %s, want %s", m.ID, e2.ID)
		}
		if got := poll(); !slices.Equal(got, []string{e2.ID}) {
			t.Fatalf("poll got %v, want [%s]", got, e2.ID)
		}
		time.Sleep(100 * time.Millisecond)
		if err := t1.Commit().Error; err != nil {
			t.Fatal(err)
		}
		if m := s.next(2 * time.Second); m.ID != e1.ID {
			t.Fatalf("stream got %s, want the late %s", m.ID, e1.ID)
		}
		if got := poll(); !slices.Equal(got, []string{e1.ID}) {
			t.Fatalf("poll got %v, want the late [%s]", got, e1.ID)
		}
	}

	{ // rolled back events never appear
		tx := begin()
		emitIn(tx, models.EventMessageExpired)
		if err := tx.Rollback().Error; err != nil {
			t.Fatal(err)
		}
		after := d.emit(org.ID, "", models.EventMessageApproved, nil)
		if m := s.next(2 * time.Second); m.ID != after.ID {
			t.Fatalf("stream got %s (%s), want %s", m.ID, m.Event, after.ID)
		}
	}

	{ // many concurrent writers
		const writers, each = 8, 10
		errs := make(chan error, writers)
		for w := range writers {
			go func() {
				for i := range each {
					err := d.Store.Tx(ctx, func(tx *gorm.DB) error {
						_, err := d.Events.Emit(ctx, tx, org.ID, "", models.EventMessageReceived, map[string]any{"w": w, "i": i})
						if err == nil && i%3 == 0 {
							time.Sleep(time.Duration(w) * time.Millisecond) // stagger commits
						}
						return err
					})
					if err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}()
		}
		for range writers {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		var want []string
		if err := d.Store.DB.Raw(`SELECT id FROM events WHERE org_id = ? AND type = ? ORDER BY id`, org.ID, models.EventMessageReceived).Scan(&want).Error; err != nil {
			t.Fatal(err)
		}
		got := s.ids(writers*each, 5*time.Second)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("stream got %d events, want %d", len(got), len(want))
		}
		s.quiet(200 * time.Millisecond)
	}
}

// Events emitted through one replica reach a stream on another: NOTIFY
// wakes it, the shared table provides the rows.
func TestEventsReachStreamsOnOtherReplicas(t *testing.T) {
	url := storetest.NewURL(t)
	a := startOn(t, url)
	b := startOn(t, url)
	org := a.Setup()
	inb := a.inbox(org, "agent")
	sb := b.open("/v1/events", org.Owner) // the session works on every replica
	sbInbox := b.open("/v1/inboxes/"+inb+"/events", org.Owner)
	sa := a.open("/v1/events", org.Owner)

	for i := range 3 {
		ev := a.emit(org.ID, inb, models.EventMessageReceived, map[string]any{"n": i})
		if m := sb.next(time.Second); m.ID != ev.ID {
			t.Fatalf("replica B got %s, want %s", m.ID, ev.ID)
		}
		if m := sbInbox.next(time.Second); m.ID != ev.ID {
			t.Fatalf("replica B inbox stream got %s, want %s", m.ID, ev.ID)
		}
		if m := sa.next(time.Second); m.ID != ev.ID {
			t.Fatalf("replica A got %s, want %s", m.ID, ev.ID)
		}
	}
	ev := b.emit(org.ID, "", models.EventDomainVerified, nil)
	if m := sa.next(time.Second); m.ID != ev.ID {
		t.Fatalf("replica A got %s, want %s from B", m.ID, ev.ID)
	}
}

// The listener reconnects when its connection dies, and wakes every
// stream so that nothing NOTIFYed meanwhile is left waiting.
func TestListenerReconnects(t *testing.T) {
	d := start(t)
	org := d.Setup()
	s := d.open("/v1/events", org.Owner)
	var killed int64
	if err := d.Store.DB.Raw(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query ILIKE 'LISTEN%'`).Scan(&killed).Error; err != nil {
		t.Fatal(err)
	}
	if killed != 1 {
		t.Fatalf("terminated %d listener connections, want 1", killed)
	}
	ev := d.emit(org.ID, "", models.EventDomainVerified, nil)
	if m := s.next(5 * time.Second); m.ID != ev.ID {
		t.Fatalf("got %s, want %s", m.ID, ev.ID)
	}
	waitFor(t, 5*time.Second, "the listener to listen again", func() bool {
		var n int64
		_ = d.Store.DB.Raw(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'`).Scan(&n).Error
		return n == 1
	})
	ev2 := d.emit(org.ID, "", models.EventDomainChanged, nil)
	if m := s.next(time.Second); m.ID != ev2.ID {
		t.Fatalf("after reconnecting got %s, want %s", m.ID, ev2.ID)
	}
}

func TestInboxStreamSeesOnlyItsInbox(t *testing.T) {
	d := start(t)
	org := d.Setup()
	mine, theirs := d.inbox(org, "mine"), d.inbox(org, "theirs")
	admin := d.User(org, models.RoleAdmin)
	s := d.open("/v1/inboxes/"+mine+"/events", admin)

	d.emit(org.ID, theirs, models.EventMessageReceived, nil)
	d.emit(org.ID, "", models.EventDomainVerified, nil)
	own := d.emit(org.ID, mine, models.EventMessageReceived, nil)
	if m := s.next(2 * time.Second); m.ID != own.ID {
		t.Fatalf("inbox stream got %s (%s), want %s", m.ID, m.Event, own.ID)
	}
	s.quiet(200 * time.Millisecond)

	var page models.List[models.Event]
	d.MustStatus(200, "GET", "/v1/inboxes/"+mine+"/events", admin, nil).JSON(t, &page)
	if len(page.Data) != 1 || page.Data[0].ID != own.ID {
		t.Fatalf("inbox page: %+v", page.Data)
	}
	// Resuming from another inbox's event is refused.
	var all models.List[models.Event]
	d.MustStatus(200, "GET", "/v1/events", admin, nil).JSON(t, &all)
	r := d.Do("GET", "/v1/inboxes/"+mine+"/events?after="+all.Data[0].ID, admin, nil)
	if r.Status != 422 || r.ErrorCode() != models.CodeValidation {
		t.Fatalf("after another inbox's event: %d %s", r.Status, r.Body)
	}

	// Another organization's session, and an inbox that does not exist.
	other := d.OtherOrg("Other")
	for _, c := range []struct{ cred, inbox string }{{other.Owner, mine}, {org.Owner, "inb_01jd7x3k9q8m2n4p6r8t0v2w4y"}} {
		for _, accept := range []string{"text/event-stream", "application/json"} {
			r := d.Do("GET", "/v1/inboxes/"+c.inbox+"/events", c.cred, nil, "Accept", accept)
			if r.Status != 404 || r.ErrorCode() != models.CodeNotFound {
				t.Errorf("%s %s: %d %s", c.inbox, accept, r.Status, r.Body)
			}
		}
	}
	// Reviewers read the organization's events, not inboxes'.
	rev := d.User(org, models.RoleReviewer)
	d.MustStatus(403, "GET", "/v1/inboxes/"+mine+"/events", rev, nil)
	d.MustStatus(200, "GET", "/v1/events", rev, nil)
}

func TestJSONPage(t *testing.T) {
	d := start(t)
	org := d.Setup()
	var ids []string
	for i := range 5 {
		typ := models.EventMessageReceived
		if i%2 == 1 {
			typ = models.EventMessageBounced
		}
		ids = append(ids, d.emit(org.ID, "", typ, map[string]any{"i": i}).ID)
	}
	other := d.OtherOrg("Other")
	d.emit(other.ID, "", models.EventMessageReceived, nil)

	var got []string
	path := "/v1/events?limit=2"
	for {
		var page models.List[models.Event]
		d.MustStatus(200, "GET", path, org.Owner, nil).JSON(t, &page)
		for _, e := range page.Data {
			got = append(got, e.ID)
		}
		if page.NextCursor == "" {
			break
		}
		path = "/v1/events?limit=2&after=" + page.NextCursor
	}
	if !slices.Equal(got, ids) {
		t.Fatalf("paged %v, want %v", got, ids)
	}
	var bounced models.List[models.Event]
	d.MustStatus(200, "GET", "/v1/events?type=message.bounced", org.Owner, nil).JSON(t, &bounced)
	if len(bounced.Data) != 2 || bounced.Data[0].ID != ids[1] || bounced.Data[1].ID != ids[3] {
		t.Fatalf("type filter: %+v", bounced.Data)
	}
	var rest models.List[models.Event]
	d.MustStatus(200, "GET", "/v1/events?cursor="+ids[2], org.Owner, nil).JSON(t, &rest)
	if len(rest.Data) != 2 || rest.Data[0].ID != ids[3] {
		t.Fatalf("cursor= alias: %+v", rest.Data)
	}
	for _, q := range []string{"?type=nope", "?after=evt_nope", "?after=" + models.NewID(models.PrefixEvent), "?limit=0"} {
		if r := d.Do("GET", "/v1/events"+q, org.Owner, nil); r.Status != 422 {
			t.Errorf("%s: %d %s", q, r.Status, r.Body)
		}
	}
}

func TestStreamEndsWithItsSession(t *testing.T) {
	d := start(t, func(c *config.Config) { c.Events.Heartbeat = config.Duration(100 * time.Millisecond) })
	org := d.Setup()
	sess := d.User(org, models.RoleAdmin)
	s := d.open("/v1/events", sess)
	d.MustStatus(204, "POST", "/v1/auth/logout", sess, nil)
	select {
	case <-s.closed:
	case <-time.After(3 * time.Second):
		t.Fatal("stream outlived its session")
	}
}

func TestShutdownEndsStreams(t *testing.T) {
	env := servertest.New(t, testConfig)
	url := env.Listen()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		_ = env.Events.Run(ctx)
		close(done)
	}()
	<-env.Events.Ready()
	d := &daemon{Env: env, URL: url}
	org := d.Setup()
	s := d.open("/v1/events", org.Owner)
	waitFor(t, 2*time.Second, "the stream to subscribe", func() bool { return env.Events.Streams() == 1 })
	cancel() // what Serve does on SIGTERM
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("listener did not stop")
	}
	select {
	case <-s.closed:
	case <-time.After(2 * time.Second):
		t.Fatal("stream outlived the daemon")
	}
	waitFor(t, 2*time.Second, "streams to unsubscribe", func() bool { return env.Events.Streams() == 0 })
}

// An agent token streams its own inbox only, with email:read, and its
// stream ends within a heartbeat of its revocation.
func TestTokenSeesOnlyItsInbox(t *testing.T) {
	d := start(t, func(c *config.Config) { c.Events.Heartbeat = config.Duration(100 * time.Millisecond) })
	org := d.Setup()
	mine, theirs := d.inbox(org, "mine"), d.inbox(org, "theirs")
	tok := d.Token(org, mine, []string{models.ScopeEmailRead})
	noRead := d.Token(org, mine, []string{models.ScopeEmailSend})

	s := d.open("/v1/inboxes/"+mine+"/events", tok.Secret)
	d.emit(org.ID, theirs, models.EventMessageReceived, nil)
	d.emit(org.ID, "", models.EventDomainVerified, nil)
	own := d.emit(org.ID, mine, models.EventMessageReceived, map[string]any{"message_id": "msg_1"})
	if m := s.next(2 * time.Second); m.ID != own.ID {
		t.Fatalf("token stream got %s (%s), want %s", m.ID, m.Event, own.ID)
	}
	var page models.List[models.Event]
	d.MustStatus(200, "GET", "/v1/inboxes/"+mine+"/events", tok.Secret, nil).JSON(t, &page)
	if len(page.Data) != 1 || page.Data[0].ID != own.ID {
		t.Fatalf("token page: %+v", page.Data)
	}

	for _, c := range []struct {
		path, cred string
		status     int
	}{
		{"/v1/inboxes/" + theirs + "/events", tok.Secret, 404},  // another inbox of its organization
		{"/v1/inboxes/" + mine + "/events", noRead.Secret, 403}, // lacks email:read
		{"/v1/events", tok.Secret, 403},                         // organization stream is for sessions
	} {
		for _, accept := range []string{"text/event-stream", "application/json"} {
			if r := d.Do("GET", c.path, c.cred, nil, "Accept", accept); r.Status != c.status {
				t.Errorf("%s (%s): %d %s, want %d", c.path, accept, r.Status, r.Body, c.status)
			}
		}
	}

	// Revoking the token ends its stream within a heartbeat (the
	// token.revoked event may or may not make it out first).
	d.MustStatus(204, "DELETE", "/v1/tokens/"+tok.ID, org.Owner, nil)
	deadline := time.After(3 * time.Second)
	for {
		select {
		case m := <-s.msgs:
			if m.Comment == "" && m.Event != models.EventTokenRevoked {
				t.Fatalf("after revocation got %s", m.Event)
			}
			continue
		case <-s.closed:
		case <-deadline:
			t.Fatal("stream outlived its revoked token")
		}
		break
	}
	d.MustStatus(401, "GET", "/v1/inboxes/"+mine+"/events", tok.Secret, nil, "Accept", "text/event-stream")
}
