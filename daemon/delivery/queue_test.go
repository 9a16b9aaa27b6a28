package delivery_test

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"gent/daemon/config"
	"gent/daemon/delivery"
	"gent/models"
)

// newQueueHarness is a harness whose retries wait an hour: a deferred
// delivery only goes again when something makes it.
func newQueueHarness(t *testing.T) *harness {
	return newHarness(t, func(c *config.Config) { c.Outbound.RetryIntervals = "1h" })
}

// queue lists the deliveries with the query (as the owner unless cred).
func (h *harness) queue(query string, cred ...string) models.List[models.QueuedDelivery] {
	h.t.Helper()
	who := h.org.Owner
	if len(cred) > 0 {
		who = cred[0]
	}
	var l models.List[models.QueuedDelivery]
	h.env.MustStatus(200, "GET", "/v1/deliveries?"+query, who, nil).JSON(h.t, &l)
	return l
}

// waitDelivery polls the delivery of message id to rcpt until ok says so.
func (h *harness) waitDelivery(id, rcpt string, what string, ok func(models.QueuedDelivery) bool) models.QueuedDelivery {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		for _, d := range h.queue("limit=200").Data {
			if d.MessageID == id && d.Recipient == rcpt && ok(d) {
				return d
			}
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("delivery of %s to %s: not %s in time: %+v", id, rcpt, what, h.queue("limit=200").Data)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func status(s string) func(models.QueuedDelivery) bool {
	return func(d models.QueuedDelivery) bool { return d.Status == s }
}

// snoozes is how often the send's delivery job slept (River's metadata).
func (h *harness) snoozes(id string) int {
	h.t.Helper()
	var n int
	if err := h.env.Store.DB.Raw(`SELECT coalesce((metadata->>'snoozes')::int, 0) FROM river_job WHERE kind = 'delivery.send' AND args->>'outbound_id' = ?`,
		id).Scan(&n).Error; err != nil {
		h.t.Fatal(err)
	}
	return n
}

func (h *harness) waitSnoozes(id string, n int) {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for h.snoozes(id) < n {
		if time.Now().After(deadline) {
			h.t.Fatalf("the delivery job of %s slept %d times, want %d", id, h.snoozes(id), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestQueueListFiltersAndPaging(t *testing.T) {
	h := newQueueHarness(t)
	// A paused domain keeps its delivery queued, never attempted.
	h.dns.AddMX("slow.example", 10, "mx.example.net")
	h.env.MustStatus(201, "POST", "/v1/delivery-pauses", h.org.Owner, models.DeliveryPauseRequest{Domain: "slow.example", Reason: "maintenance"})

	h.sink.Fail(1, 451)
	deferred := h.send(simple("ann@example.net"))
	h.waitDelivery(deferred.ID, "ann@example.net", "deferred", status("deferred"))
	delivered := h.send(simple("bob@example.net"))
	h.waitDelivery(delivered.ID, "bob@example.net", "delivered", status("delivered"))
	queued := h.send(simple("carol@slow.example"))
	h.waitSnoozes(queued.ID, 1)

	other := h.env.Inbox(h.org, "other@mail.example.com")
	otherAgent := h.env.Token(h.org, other.ID, []string{models.ScopeEmailRead, models.ScopeEmailSend})
	var od models.SendResponse
	h.env.MustStatus(202, "POST", "/v1/inboxes/"+other.ID+"/messages/send", otherAgent.Secret, simple("dan@example.net")).JSON(t, &od)
	h.waitDelivery(od.ID, "dan@example.net", "delivered", status("delivered"))

	// A held send is not in the queue.
	held := h.env.Token(h.org, h.inbox.ID, []string{models.ScopeEmailSend}, models.ScopeEmailSend)
	var hr models.SendResponse
	h.env.MustStatus(202, "POST", "/v1/inboxes/"+h.inbox.ID+"/messages/send", held.Secret, simple("erin@example.net")).JSON(t, &hr)
	if hr.Status != "pending_approval" {
		t.Fatalf("want a held send, got %+v", hr)
	}

	all := h.queue("")
	ids := func(l []models.QueuedDelivery) []string {
		var out []string
		for _, d := range l {
			out = append(out, d.MessageID+" "+d.Recipient+" "+d.Status)
		}
		return out
	}
	want := []string{od.ID + " dan@example.net delivered", queued.ID + " carol@slow.example queued",
		delivered.ID + " bob@example.net delivered", deferred.ID + " ann@example.net deferred"}
	if !slices.Equal(ids(all.Data), want) || all.NextCursor != "" {
		t.Fatalf("queue, newest first:\n got %v\nwant %v", ids(all.Data), want)
	}
	for _, d := range all.Data {
		if !models.IsID(d.ID, models.PrefixQueued) || d.CreatedAt.IsZero() || d.UpdatedAt.IsZero() {
			t.Fatalf("delivery %+v", d)
		}
		switch d.Recipient {
		case "ann@example.net":
			if d.Attempts != 1 || d.LastReply == nil || d.LastReply.Code != 451 || !strings.HasPrefix(d.LastReply.Text, "451") ||
				d.NextAttemptAt == nil || d.InboxID != h.inbox.ID || d.Domain != "example.net" || d.Paused {
				t.Fatalf("deferred delivery %+v (%+v)", d, d.LastReply)
			}
		case "carol@slow.example":
			if d.Attempts != 0 || d.LastReply != nil || !d.Paused || d.Domain != "slow.example" {
				t.Fatalf("paused delivery %+v", d)
			}
		case "bob@example.net":
			if d.LastReply == nil || d.LastReply.Code != 250 || d.DeliveredAt == nil || d.MX != "mx.example.net" {
				t.Fatalf("delivered %+v", d)
			}
		}
	}

	for _, c := range []struct{ query, want string }{
		{"status=deferred", deferred.ID},
		{"status=queued", queued.ID},
		{"status=delivered", od.ID + "," + delivered.ID},
		{"status=failed", ""},
		{"status=cancelled", ""},
		{"domain=slow.example", queued.ID},
		{"domain=SLOW.example.", queued.ID},
		{"inbox_id=" + other.ID, od.ID},
		{"status=delivered&inbox_id=" + h.inbox.ID, delivered.ID},
		{"status=deferred&domain=slow.example", ""},
	} {
		var got []string
		for _, d := range h.queue(c.query).Data {
			got = append(got, d.MessageID)
		}
		if strings.Join(got, ",") != c.want {
			t.Errorf("?%s: got %v, want %s", c.query, got, c.want)
		}
	}
	if r := h.env.Do("GET", "/v1/deliveries?status=held", h.org.Owner, nil); r.Status != 422 || r.ErrorCode() != models.CodeValidation {
		t.Fatalf("status=held: %d %s", r.Status, r.Body)
	}

	// Keyset pages of one walk the whole list in the same order.
	var paged []models.QueuedDelivery
	cursor := ""
	for range 10 {
		p := h.queue("limit=1&cursor=" + url.QueryEscape(cursor))
		paged = append(paged, p.Data...)
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if !slices.Equal(ids(paged), want) {
		t.Fatalf("pages of one: %v, want %v", ids(paged), want)
	}
	p := h.queue("limit=1&status=delivered")
	if len(p.Data) != 1 || p.Data[0].MessageID != od.ID || p.NextCursor == "" {
		t.Fatalf("filtered page %+v", p)
	}
	if p = h.queue("limit=1&status=delivered&cursor=" + p.NextCursor); len(p.Data) != 1 || p.Data[0].MessageID != delivered.ID || p.NextCursor != "" {
		t.Fatalf("filtered second page %+v", p)
	}

	// Readers: a reviewer sees the organization's queue; an agent token
	// with email:read sees only its own inbox's deliveries.
	reviewer := h.env.User(h.org, models.RoleReviewer)
	if n := len(h.queue("", reviewer).Data); n != 4 {
		t.Fatalf("reviewer sees %d deliveries", n)
	}
	mine := h.queue("", h.agent.Secret)
	if got := ids(mine.Data); !slices.Equal(got, want[1:]) {
		t.Fatalf("agent sees %v, want %v", got, want[1:])
	}
	h.env.MustStatus(404, "GET", "/v1/deliveries?inbox_id="+other.ID, h.agent.Secret, nil)
	h.env.MustStatus(404, "GET", "/v1/deliveries/"+all.Data[0].ID, h.agent.Secret, nil)
	h.env.MustStatus(200, "GET", "/v1/deliveries/"+all.Data[0].ID, otherAgent.Secret, nil)
	noRead := h.env.Token(h.org, h.inbox.ID, []string{models.ScopeEmailSend})
	if r := h.env.Do("GET", "/v1/deliveries", noRead.Secret, nil); r.Status != 403 || r.ErrorCode() != models.CodeInsufficientScope {
		t.Fatalf("token without email:read: %d %s", r.Status, r.Body)
	}
	h.env.MustStatus(403, "POST", "/v1/deliveries/"+all.Data[3].ID+"/retry", reviewer, nil)
	h.env.MustStatus(403, "POST", "/v1/deliveries/"+all.Data[3].ID+"/retry", h.agent.Secret, nil)

	// Queue depth by state, for the metrics.
	depth, err := delivery.QueueDepth(context.Background(), h.env.Store.DB)
	if err != nil {
		t.Fatal(err)
	}
	if depth["held"] != 1 || depth["queued"] != 1 || depth["deferred"] != 1 || len(depth) != 3 {
		t.Fatalf("queue depth %v", depth)
	}
}

// A deferred delivery retried by an admin is attempted at once, not at
// its scheduled time an hour away.
func TestRetryDeferredAttemptsNow(t *testing.T) {
	h := newQueueHarness(t)
	h.sink.Fail(1, 451)
	r := h.send(simple("ann@example.net"))
	d := h.waitDelivery(r.ID, "ann@example.net", "deferred", status("deferred"))
	h.waitSnoozes(r.ID, 1) // the attempt is over: the job sleeps for the hour
	d = h.waitDelivery(r.ID, "ann@example.net", "deferred", status("deferred"))
	if d.NextAttemptAt == nil || time.Until(*d.NextAttemptAt) < 30*time.Minute {
		t.Fatalf("next attempt %v, want in an hour", d.NextAttemptAt)
	}
	var got models.QueuedDelivery
	h.env.MustStatus(202, "POST", "/v1/deliveries/"+d.ID+"/retry", h.org.Owner, nil).JSON(t, &got)
	if got.ID != d.ID || got.Status != "deferred" {
		t.Fatalf("retry answer %+v", got)
	}
	done := h.waitDelivery(r.ID, "ann@example.net", "delivered", status("delivered"))
	if done.Attempts != 2 || len(h.sink.Messages()) != 1 {
		t.Fatalf("after retry: %+v, sink has %d", done, len(h.sink.Messages()))
	}
	h.waitStatus(r.ID, "delivered")
	resp := h.env.Do("POST", "/v1/deliveries/"+d.ID+"/retry", h.org.Owner, nil)
	if resp.Status != 409 || resp.ErrorCode() != models.CodeConflict || !strings.Contains(string(resp.Body), "delivered") {
		t.Fatalf("retry of a delivered delivery: %d %s", resp.Status, resp.Body)
	}
	h.env.MustStatus(404, "POST", "/v1/deliveries/"+models.NewID(models.PrefixQueued)+"/retry", h.org.Owner, nil)
	var n int64
	h.env.Store.DB.Raw(`SELECT count(*) FROM audit_log WHERE action = 'deliveries.retry' AND target_id = ? AND outcome = 'success'`, d.ID).Scan(&n)
	if n != 1 {
		t.Fatalf("%d audit entries for the retry", n)
	}
}

// Cancelling a deferred delivery fails it: a DSN in the sending inbox, a
// message.bounced event marked cancelled, no suppression, and it is final.
func TestCancelSendsDSNAndEvent(t *testing.T) {
	h := newQueueHarness(t)
	h.sink.Fail(1, 451)
	r := h.send(simple("ann@example.net"))
	d := h.waitDelivery(r.ID, "ann@example.net", "deferred", status("deferred"))
	h.waitSnoozes(r.ID, 1)

	admin := h.env.User(h.org, models.RoleAdmin)
	var got models.QueuedDelivery
	h.env.MustStatus(200, "POST", "/v1/deliveries/"+d.ID+"/cancel", admin, nil).JSON(t, &got)
	if got.Status != "cancelled" || got.NextAttemptAt != nil || got.Attempts != 1 || got.LastReply == nil || got.LastReply.Code != 451 {
		t.Fatalf("cancel answer %+v", got)
	}
	st := h.waitStatus(r.ID, "bounced")
	if st.Recipients[0].Status != "cancelled" {
		t.Fatalf("send status %+v", st)
	}
	var page models.List[models.MessageSummary]
	h.env.MustStatus(200, "GET", "/v1/inboxes/"+h.inbox.ID+"/messages?label=bounce", h.agent.Secret, nil).JSON(t, &page)
	if len(page.Data) != 1 {
		t.Fatalf("want one DSN, got %d", len(page.Data))
	}
	raw := h.env.MustStatus(200, "GET", "/v1/inboxes/"+h.inbox.ID+"/messages/"+page.Data[0].ID+"/raw", h.agent.Secret, nil).Body
	for _, want := range []string{"report-type=delivery-status", "Final-Recipient: rfc822; ann@example.net", "Action: failed",
		delivery.CancelReason} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Fatalf("DSN lacks %q:\n%s", want, raw)
		}
	}
	ev := h.events(models.EventMessageBounced)
	if len(ev) != 1 || ev[0].Payload["recipient"] != "ann@example.net" || ev[0].Payload["cancelled"] != true ||
		ev[0].Payload["suppressed"] != false || ev[0].Payload["notice_id"] != page.Data[0].ID {
		t.Fatalf("bounced events %+v", ev)
	}
	var sup models.List[models.Suppression]
	h.env.MustStatus(200, "GET", "/v1/inboxes/"+h.inbox.ID+"/suppressions", h.agent.Secret, nil).JSON(t, &sup)
	if len(sup.Data) != 0 {
		t.Fatalf("a cancelled address is not suppressed: %+v", sup.Data)
	}
	// The lifecycle: the one attempt (deferred, with the remote reply),
	// then the cancellation, which is no attempt.
	var lc models.List[models.LifecycleEntry]
	h.env.MustStatus(200, "GET", "/v1/inboxes/"+h.inbox.ID+"/messages/"+r.ID+"/lifecycle", h.agent.Secret, nil).JSON(t, &lc)
	var kinds []string
	for _, e := range lc.Data {
		kinds = append(kinds, e.Kind)
	}
	if strings.Join(kinds, ",") != "policy,queued,attempt,deferred,bounced" || !strings.HasPrefix(fmt.Sprint(lc.Data[2].Detail["response"]), "451") ||
		lc.Data[4].Detail["cancelled"] != true {
		t.Fatalf("lifecycle of a cancelled delivery %v: %+v", kinds, lc.Data)
	}
	for _, action := range []string{"cancel", "retry"} {
		resp := h.env.Do("POST", "/v1/deliveries/"+d.ID+"/"+action, admin, nil)
		if resp.Status != 409 || !strings.Contains(string(resp.Body), "cancelled") {
			t.Fatalf("%s of a cancelled delivery: %d %s", action, resp.Status, resp.Body)
		}
	}
	if l := h.queue("status=cancelled"); len(l.Data) != 1 || l.Data[0].ID != d.ID {
		t.Fatalf("cancelled list %+v", l.Data)
	}
	var n int64
	h.env.Store.DB.Raw(`SELECT count(*) FROM audit_log WHERE action = 'deliveries.cancel' AND target_id = ? AND outcome = 'success'`, d.ID).Scan(&n)
	if n != 1 {
		t.Fatalf("%d audit entries for the cancel", n)
	}
	if len(h.sink.Messages()) != 0 {
		t.Fatal("a cancelled delivery was sent")
	}
}

// A pause holds deliveries to its domain: the sink sees nothing, no
// attempt is counted (however often the job wakes and sleeps again), and
// deleting the pause makes the delivery go at once.
func TestPauseHoldsThenResumesOnDelete(t *testing.T) {
	h := newQueueHarness(t)
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	var p models.DeliveryPause
	h.env.MustStatus(201, "POST", "/v1/delivery-pauses", h.org.Owner, models.DeliveryPauseRequest{Domain: "Example.NET", Reason: "their MX is down", Until: &until}).JSON(t, &p)
	if !models.IsID(p.ID, models.PrefixPause) || p.Domain != "example.net" || p.Until == nil || !p.Until.Equal(until) || p.CreatedBy == "" {
		t.Fatalf("pause %+v", p)
	}
	r := h.send(simple("ann@example.net"))
	h.waitSnoozes(r.ID, 1)
	d := h.waitDelivery(r.ID, "ann@example.net", "paused", func(d models.QueuedDelivery) bool { return d.Paused && d.NextAttemptAt != nil })
	// Wake it twice more (retry runs the job now): the pause still holds.
	for i := 2; i <= 3; i++ {
		h.env.MustStatus(202, "POST", "/v1/deliveries/"+d.ID+"/retry", h.org.Owner, nil)
		h.waitSnoozes(r.ID, i)
	}
	var job struct {
		Attempt int
		State   string
	}
	h.env.Store.DB.Raw(`SELECT attempt, state FROM river_job WHERE kind = 'delivery.send' AND args->>'outbound_id' = ?`, r.ID).Scan(&job)
	d = h.waitDelivery(r.ID, "ann@example.net", "queued", status("queued"))
	if len(h.sink.Messages()) != 0 || d.Attempts != 0 || d.LastReply != nil || job.Attempt != 0 || job.State != "scheduled" {
		t.Fatalf("paused: sink has %d, delivery %+v, job %+v", len(h.sink.Messages()), d, job)
	}
	if len(h.events(models.EventMessageDeferred)) != 0 {
		t.Fatal("a paused delivery was reported deferred")
	}

	// The pause is listed; posting the domain again replaces it (200).
	var l models.List[models.DeliveryPause]
	h.env.MustStatus(200, "GET", "/v1/delivery-pauses", h.env.User(h.org, models.RoleReviewer), nil).JSON(t, &l)
	if len(l.Data) != 1 || l.Data[0].ID != p.ID || l.Data[0].Reason != "their MX is down" {
		t.Fatalf("pauses %+v", l.Data)
	}
	var again models.DeliveryPause
	h.env.MustStatus(200, "POST", "/v1/delivery-pauses", h.org.Owner, models.DeliveryPauseRequest{Domain: "example.net", Reason: "still down"}).JSON(t, &again)
	if again.ID != p.ID || again.Until != nil || again.Reason != "still down" {
		t.Fatalf("replaced pause %+v", again)
	}

	// Deleting it: the delivery goes now, not at the end of its sleep (a
	// minute away), with one attempt counted.
	if delivery.PauseRecheck < time.Minute {
		t.Fatalf("PauseRecheck %s: this test needs the job to sleep longer than it waits", delivery.PauseRecheck)
	}
	h.env.MustStatus(204, "DELETE", "/v1/delivery-pauses/"+p.ID, h.org.Owner, nil)
	done := h.waitDelivery(r.ID, "ann@example.net", "delivered", status("delivered"))
	if done.Attempts != 1 || len(h.sink.Messages()) != 1 {
		t.Fatalf("after the pause: %+v, sink has %d", done, len(h.sink.Messages()))
	}
	h.env.MustStatus(404, "DELETE", "/v1/delivery-pauses/"+p.ID, h.org.Owner, nil)
	h.env.MustStatus(200, "GET", "/v1/delivery-pauses", h.org.Owner, nil).JSON(t, &l)
	if len(l.Data) != 0 {
		t.Fatalf("pauses after delete %+v", l.Data)
	}
	// Audited: two creations (the second replaced the first) and the deletion.
	for action, want := range map[string]int64{"delivery_pauses.create": 2, "delivery_pauses.delete": 1} {
		var n int64
		h.env.Store.DB.Raw(`SELECT count(*) FROM audit_log WHERE org_id = ? AND action = ? AND outcome = 'success' AND actor_id = ?`,
			h.org.ID, action, h.org.OwnerID).Scan(&n)
		if n != want {
			t.Errorf("%d %s audit entries, want %d", n, action, want)
		}
	}
}

// A pause with an end lets deliveries go on their own once it has passed.
func TestPauseEndsAtUntil(t *testing.T) {
	h := newQueueHarness(t)
	until := time.Now().Add(1500 * time.Millisecond)
	h.env.MustStatus(201, "POST", "/v1/delivery-pauses", h.org.Owner, models.DeliveryPauseRequest{Domain: "example.net", Until: &until})
	r := h.send(simple("ann@example.net"))
	h.waitSnoozes(r.ID, 1)
	if len(h.sink.Messages()) != 0 {
		t.Fatal("delivered during the pause")
	}
	done := h.waitDelivery(r.ID, "ann@example.net", "delivered", status("delivered"))
	if done.Attempts != 1 {
		t.Fatalf("after the pause: %+v", done)
	}
}

// The give-up window is not spent while a pause holds a delivery: one
// paused for longer than outbound.give_up_after gets its normal retries
// after the pause, not a single attempt and a give-up.
func TestPauseDoesNotSpendGiveUpWindow(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.Outbound.GiveUpAfter = config.Duration(2 * time.Second)
		c.Outbound.RetryIntervals = "300ms"
	})
	until := time.Now().Add(3 * time.Second)
	h.env.MustStatus(201, "POST", "/v1/delivery-pauses", h.org.Owner, models.DeliveryPauseRequest{Domain: "example.net", Until: &until})
	h.sink.Fail(2, 451)
	r := h.send(simple("ann@example.net"))
	h.waitSnoozes(r.ID, 1)
	done := h.waitDelivery(r.ID, "ann@example.net", "delivered", func(d models.QueuedDelivery) bool {
		if d.Status == "failed" {
			t.Fatalf("gave up after the pause: %+v", d)
		}
		return d.Status == "delivered"
	})
	if done.Attempts != 3 || len(h.sink.Messages()) != 1 {
		t.Fatalf("after the pause: %+v, sink has %d", done, len(h.sink.Messages()))
	}
	var paused struct {
		PausedMS    int64
		PausedSince *time.Time
	}
	h.env.Store.DB.Raw(`SELECT paused_ms, paused_since FROM delivery_recipients WHERE id = ?`, done.ID).Scan(&paused)
	if paused.PausedMS < 2000 || paused.PausedSince != nil {
		t.Fatalf("paused time %+v, want about 3 s settled", paused)
	}
}

func TestPauseValidation(t *testing.T) {
	h := newQueueHarness(t)
	past := time.Now().Add(-time.Minute)
	for _, c := range []struct {
		body  models.DeliveryPauseRequest
		field string
	}{
		{models.DeliveryPauseRequest{Domain: ""}, "domain"},
		{models.DeliveryPauseRequest{Domain: "not a domain"}, "domain"},
		{models.DeliveryPauseRequest{Domain: "[192.0.2.1]"}, "domain"},
		{models.DeliveryPauseRequest{Domain: "example.net", Until: &past}, "until"},
		{models.DeliveryPauseRequest{Domain: "example.net", Reason: strings.Repeat("x", 501)}, "reason"},
	} {
		resp := h.env.Do("POST", "/v1/delivery-pauses", h.org.Owner, c.body)
		if resp.Status != 422 || !strings.Contains(string(resp.Body), `"field":"`+c.field+`"`) {
			t.Errorf("%+v: %d %s, want 422 on %s", c.body, resp.Status, resp.Body, c.field)
		}
	}
}

// While an attempt is under way a cancel is refused (the attempt may
// deliver) and a retry is the attempt itself; both act on the delivery
// once it has answered.
func TestCancelDuringAttemptIsConflict(t *testing.T) {
	h := newQueueHarness(t)
	h.sink.StallMail(3 * time.Second)
	r := h.send(simple("ann@example.net"))
	deadline := time.Now().Add(15 * time.Second)
	for {
		var state string
		h.env.Store.DB.Raw(`SELECT state FROM river_job WHERE kind = 'delivery.send' AND args->>'outbound_id' = ?`, r.ID).Scan(&state)
		if state == "running" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the delivery job never ran (state %q)", state)
		}
		time.Sleep(20 * time.Millisecond)
	}
	d := h.queue("").Data[0]
	resp := h.env.Do("POST", "/v1/deliveries/"+d.ID+"/cancel", h.org.Owner, nil)
	if resp.Status != 409 || !strings.Contains(string(resp.Body), "under way") {
		t.Fatalf("cancel during an attempt: %d %s", resp.Status, resp.Body)
	}
	h.env.MustStatus(202, "POST", "/v1/deliveries/"+d.ID+"/retry", h.org.Owner, nil)
	done := h.waitDelivery(r.ID, "ann@example.net", "delivered", status("delivered"))
	if done.Attempts != 1 || len(h.sink.Messages()) != 1 || len(h.events(models.EventMessageBounced)) != 0 {
		t.Fatalf("after the attempt: %+v, sink %d", done, len(h.sink.Messages()))
	}
}
