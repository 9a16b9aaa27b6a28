package caps_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"gorm.io/gorm"

	"gent/daemon/mail"
	"gent/models"
)

func alertStates(v models.MailboxCap) map[int]string {
	out := map[int]string{}
	for _, a := range v.Alerts {
		out[a.Threshold] = a.State
		if (a.State == models.AlertFired) != (a.FiredAt != nil) {
			panic("fired_at does not match the state")
		}
	}
	return out
}

// Crossing a threshold upward raises one event and one audit entry, in
// the transaction of the change; the alert re-arms only when usage falls
// below it again; changes that cross nothing never reach the caps
// service.
func TestThresholdCrossedOnceAndRearmed(t *testing.T) {
	h := newHarness(t)
	var calls atomic.Int64
	h.env.Mail.SetUsageHook(func(ctx context.Context, tx *gorm.DB, orgID, inboxID string, used int64) error {
		calls.Add(1)
		return h.env.Caps.UsageHook(ctx, tx, orgID, inboxID, used)
	})
	h.setCap(h.inbox, 10_000, models.CapAllowAndBill, 50, 80)
	for i := 0; i < 10; i++ {
		h.mustStore(h.inbox, message(400, "small"))
	}
	if calls.Load() != 0 || len(h.crossings(h.inbox)) != 0 {
		t.Fatalf("below every threshold: %d hook calls, crossings %v", calls.Load(), h.crossings(h.inbox))
	}
	m1000 := h.mustStore(h.inbox, message(1000, "to fifty")) // 5000: exactly 50 %
	if got := h.crossings(h.inbox); !intsEqual(got, []int{50}) || calls.Load() != 1 {
		t.Fatalf("at 50%%: crossings %v, %d calls", got, calls.Load())
	}
	m500 := h.mustStore(h.inbox, message(500, "above fifty")) // 5500
	if calls.Load() != 1 {
		t.Fatal("a change crossing nothing called the caps service")
	}
	m2500 := h.mustStore(h.inbox, message(2500, "to eighty")) // 8000
	m3000 := h.mustStore(h.inbox, message(3000, "past the limit"))
	if got := h.crossings(h.inbox); !intsEqual(got, []int{50, 80}) {
		t.Fatalf("crossings %v", got)
	}
	v := h.view(h.inbox)
	if st := alertStates(v); st[50] != models.AlertFired || st[80] != models.AlertFired || *v.Percent != 110 || v.Overage.Bytes != 1000 {
		t.Fatalf("view %+v", v)
	}
	// The event says what crossed.
	var ev models.Event
	h.env.Store.DB.Where("type = ?", models.EventCapThresholdCrossed).Order("id DESC").First(&ev)
	p := ev.Payload
	if ev.InboxID == nil || *ev.InboxID != h.inbox.ID || p["threshold"] != float64(80) || p["threshold_bytes"] != float64(8000) ||
		p["used_bytes"] != float64(8000) || p["limit_bytes"] != float64(10_000) || p["percent"] != float64(80) ||
		p["mode"] != models.CapAllowAndBill || p["address"] != "agent@mail.example.com" {
		t.Fatalf("event %+v", ev)
	}

	// Falling below 80 % re-arms it (no event); 50 stays fired.
	for _, id := range []string{m3000.ID, m2500.ID} {
		h.env.MustStatus(204, "DELETE", "/v1/inboxes/"+h.inbox.ID+"/messages/"+id, h.org.Owner, nil)
	}
	if st := alertStates(h.view(h.inbox)); st[50] != models.AlertFired || st[80] != models.AlertArmed {
		t.Fatalf("after falling to 55%%: %v", st)
	}
	h.mustStore(h.inbox, message(2500, "eighty again"))
	if got := h.crossings(h.inbox); !intsEqual(got, []int{50, 80, 80}) {
		t.Fatalf("re-armed alert: crossings %v", got)
	}

	// Below both: both re-arm. A change that would cross both, rolled
	// back, raises nothing and changes nothing.
	var last string
	h.env.Store.DB.Raw(`SELECT id FROM messages WHERE inbox_id = ? ORDER BY id DESC LIMIT 1`, h.inbox.ID).Scan(&last)
	for _, id := range []string{last, m1000.ID, m500.ID} {
		h.env.MustStatus(204, "DELETE", "/v1/inboxes/"+h.inbox.ID+"/messages/"+id, h.org.Owner, nil)
	}
	if st := alertStates(h.view(h.inbox)); st[50] != models.AlertArmed || st[80] != models.AlertArmed || h.used(h.inbox) != 4000 {
		t.Fatalf("after falling to 40%%: %v", st)
	}
	abort := errors.New("abort")
	err := h.env.Store.Tx(context.Background(), func(tx *gorm.DB) error {
		if _, err := h.env.Mail.Store(context.Background(), tx, mail.StoreInput{OrgID: h.org.ID, InboxID: h.inbox.ID,
			Direction: models.DirectionInbound, Status: models.StatusReceived, Raw: message(5000, "rolled back")}); err != nil {
			return err
		}
		return abort
	})
	if !errors.Is(err, abort) || len(h.crossings(h.inbox)) != 3 || h.used(h.inbox) != 4000 {
		t.Fatalf("rolled back: %v, crossings %v", err, h.crossings(h.inbox))
	}
	if st := alertStates(h.view(h.inbox)); st[50] != models.AlertArmed || st[80] != models.AlertArmed {
		t.Fatalf("a rolled-back change left alert state: %v", st)
	}
	// One change crossing both raises both.
	h.mustStore(h.inbox, message(5000, "both at once"))
	if got := h.crossings(h.inbox); !intsEqual(got, []int{50, 80, 80, 50, 80}) {
		t.Fatalf("crossings %v", got)
	}
	if n := h.count(`SELECT count(*) FROM audit_log WHERE action = ? AND target_id = ? AND actor_type = 'system'`,
		models.EventCapThresholdCrossed, h.inbox.ID); n != 5 {
		t.Fatalf("%d audit entries for 5 crossings", n)
	}
}

// Setting a cap below current usage raises the crossed alerts at once;
// the same PUT again raises nothing; raising the cap re-arms them.
func TestLoweringCapRaisesAlerts(t *testing.T) {
	h := newHarness(t)
	h.mustStore(h.inbox, message(7000, "seven thousand"))
	h.setCap(h.inbox, 100_000, models.CapEnforce, 50, 80)
	if got := h.crossings(h.inbox); len(got) != 0 {
		t.Fatalf("7%%: %v", got)
	}
	v := h.setCap(h.inbox, 10_000, models.CapEnforce, 50, 80) // 70 %
	if got := h.crossings(h.inbox); !intsEqual(got, []int{50}) {
		t.Fatalf("70%%: %v", got)
	}
	if st := alertStates(v); st[50] != models.AlertFired || st[80] != models.AlertArmed {
		t.Fatalf("the PUT's answer shows %v", st)
	}
	h.setCap(h.inbox, 10_000, models.CapEnforce, 50, 80)
	if got := h.crossings(h.inbox); !intsEqual(got, []int{50}) {
		t.Fatalf("the same PUT again: %v", got)
	}
	h.setCap(h.inbox, 8000, models.CapEnforce, 50, 80) // 87.5 %
	v = h.setCap(h.inbox, 5000, models.CapEnforce, 50, 80)
	if got := h.crossings(h.inbox); !intsEqual(got, []int{50, 80}) || *v.Percent != 140 {
		t.Fatalf("87.5%% then 140%%: %v, %v", got, *v.Percent)
	}
	// Over an enforce limit: nothing more is stored.
	if _, err := h.store(h.inbox, message(100, "no room")); models.ErrorCode(err) != models.CodeStorageCapExceeded {
		t.Fatalf("over the limit: %v", err)
	}
	v = h.setCap(h.inbox, 100_000, models.CapEnforce, 50, 80)
	if st := alertStates(v); st[50] != models.AlertArmed || st[80] != models.AlertArmed {
		t.Fatalf("raised cap: %v", st)
	}
	// New thresholds start armed and fire at once when already reached.
	v = h.setCap(h.inbox, 10_000, models.CapEnforce, 60, 90)
	if got := h.crossings(h.inbox); !intsEqual(got, []int{50, 80, 60}) {
		t.Fatalf("new thresholds: %v", got)
	}
	if st := alertStates(v); len(st) != 2 || st[60] != models.AlertFired || st[90] != models.AlertArmed {
		t.Fatalf("new thresholds: %v", st)
	}
	// The stored bounds let the next change skip the caps service: 90 %
	// is 9000 bytes, 60 % fired at 6000.
	var b struct{ CapAlertAt, CapRearmBelow int64 }
	h.env.Store.DB.Raw(`SELECT cap_alert_at, cap_rearm_below FROM inboxes WHERE id = ?`, h.inbox.ID).Scan(&b)
	if b.CapAlertAt != 9000 || b.CapRearmBelow != 6000 {
		t.Fatalf("bounds %+v", b)
	}
}
