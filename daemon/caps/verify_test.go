package caps_test

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"testing"
	"time"

	"gent/models"
)

// checkConsistent asserts that no counter drifted and that every capped
// inbox's alert states and stored bounds agree with its usage.
func (h *harness) checkConsistent() {
	h.t.Helper()
	v, err := h.env.Caps.Verify(context.Background(), "")
	if err != nil {
		h.t.Fatal(err)
	}
	if len(v.Drift) != 0 {
		h.t.Fatalf("drift after the workload: %+v", v.Drift)
	}
	var rows []struct {
		ID                        string
		UsedBytes                 int64
		CapLimitBytes             *int64
		CapAlertAt, CapRearmBelow *int64
	}
	h.env.Store.DB.Raw(`SELECT id, used_bytes, cap_limit_bytes, cap_alert_at, cap_rearm_below FROM inboxes`).Scan(&rows)
	for _, r := range rows {
		if r.CapLimitBytes == nil {
			continue
		}
		var alerts []struct {
			Threshold int
			FiredAt   *time.Time
		}
		h.env.Store.DB.Raw(`SELECT threshold, fired_at FROM cap_alerts WHERE inbox_id = ?`, r.ID).Scan(&alerts)
		var at, below *int64
		for _, a := range alerts {
			b := (*r.CapLimitBytes*int64(a.Threshold) + 99) / 100
			if (a.FiredAt != nil) != (r.UsedBytes >= b) {
				h.t.Fatalf("inbox %s at %d bytes: alert %d (%d bytes) fired=%v", r.ID, r.UsedBytes, a.Threshold, b, a.FiredAt != nil)
			}
			if a.FiredAt != nil && (below == nil || b > *below) {
				below = &b
			}
			if a.FiredAt == nil && (at == nil || b < *at) {
				at = &b
			}
		}
		if fmt.Sprint(deref(at), deref(below)) != fmt.Sprint(deref(r.CapAlertAt), deref(r.CapRearmBelow)) {
			h.t.Fatalf("inbox %s: bounds %v/%v, want %v/%v", r.ID, deref(r.CapAlertAt), deref(r.CapRearmBelow), deref(at), deref(below))
		}
	}
}

func deref(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// A randomized concurrent workload — stores and deletes in several
// inboxes (Store and SMTP), cap changes and usage samples racing them —
// leaves every counter equal to what its messages add up to, and every
// alert in the state its usage says.
func TestRandomWorkloadKeepsCountersExact(t *testing.T) {
	h := newHarness(t)
	addr := h.env.ListenSMTP()
	inboxes := []models.Inbox{h.inbox,
		h.env.Inbox(h.org, "b@mail.example.com"), h.env.Inbox(h.org, "c@mail.example.com")}
	h.setCap(inboxes[0], 40_000, models.CapEnforce, 25, 50, 75, 100)
	h.setCap(inboxes[1], 30_000, models.CapAllowAndBill, 10, 60, 90)

	var mu sync.Mutex
	stored := map[string][]string{} // inbox id -> message ids
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			rnd := rand.New(rand.NewSource(seed))
			for op := 0; op < 40; op++ {
				in := inboxes[rnd.Intn(len(inboxes))]
				mu.Lock()
				ids := stored[in.ID]
				var victim string
				if len(ids) > 0 && rnd.Intn(3) == 0 {
					i := rnd.Intn(len(ids))
					victim = ids[i]
					stored[in.ID] = append(ids[:i:i], ids[i+1:]...)
				}
				mu.Unlock()
				if victim != "" {
					if err := h.env.Mail.DeleteMessage(context.Background(), in.OrgID, in.ID, victim); err != nil {
						errs <- fmt.Errorf("delete: %w", err)
					}
					continue
				}
				st, err := h.store(in, message(200+rnd.Intn(4000), "random"))
				switch {
				case err == nil:
					mu.Lock()
					stored[in.ID] = append(stored[in.ID], st.ID)
					mu.Unlock()
				case models.ErrorCode(err) != models.CodeStorageCapExceeded:
					errs <- fmt.Errorf("store: %w", err)
				}
			}
		}(int64(w))
	}
	// SMTP deliveries to the inbox without a cap and the enforced one.
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 8; i++ {
				to := []string{"c@mail.example.com", "agent@mail.example.com"}[i%2]
				if code := smtpCode(sendSMTP(addr, to, message(300+100*i, "smtp"))); code != "" && code != "452 4.2.2" && code != "552 5.2.2" {
					errs <- fmt.Errorf("smtp: %s", code)
				}
			}
		}(w)
	}
	// Cap changes and samples racing the mail.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 10; i++ {
			gb := float64(10_000+5_000*(i%5)) / models.BytesPerGB
			r := h.env.Do("PUT", "/v1/billing/caps/mailbox", h.org.Owner, models.SetCapRequest{
				InboxID: inboxes[1].ID, LimitGB: &gb, Mode: models.CapAllowAndBill, AlertThresholds: []int{10, 60, 90}})
			if r.Status != 200 {
				errs <- fmt.Errorf("put: %d %s", r.Status, r.Body)
			}
			if _, err := h.env.Caps.Sample(context.Background(), time.Now().Add(time.Duration(i)*time.Second)); err != nil {
				errs <- fmt.Errorf("sample: %w", err)
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	h.checkConsistent()
	if used := h.used(inboxes[0]); used > 40_000 {
		t.Fatalf("the enforced inbox holds %d bytes, over its 40000-byte limit", used)
	}
	if h.count(`SELECT count(*) FROM messages`) == 0 || h.count(`SELECT count(*) FROM events WHERE type = ?`, models.EventCapThresholdCrossed) == 0 {
		t.Fatal("the workload did nothing")
	}
}

// Verify reports injected drift (API: the organization's inboxes only;
// gentd usage verify: all), and Fix corrects it, re-checking alerts.
func TestVerifyDetectsDrift(t *testing.T) {
	h := newHarness(t)
	b := h.env.Inbox(h.org, "b@mail.example.com")
	h.mustStore(h.inbox, message(1000, "one"))
	h.mustStore(h.inbox, message(2000, "two"))
	h.mustStore(b, message(6000, "six"))
	h.setCap(b, 10_000, models.CapEnforce, 50)
	other := h.env.OtherOrg("Other")
	h.env.VerifiedDomain(other, "other.example.com")
	oi := h.env.Inbox(other, "x@other.example.com")

	var v models.UsageVerification
	h.env.MustStatus(200, "GET", "/v1/billing/usage/verify", h.org.Owner, nil).JSON(t, &v)
	if v.Inboxes != 2 || len(v.Drift) != 0 {
		t.Fatalf("clean: %+v", v)
	}
	// Inject drift: a lost increment in one inbox, a counter that hides
	// most of the other's mail (its alert state now lags), and drift in
	// another organization.
	h.env.Store.DB.Exec(`UPDATE inboxes SET used_bytes = used_bytes - 7, message_count = message_count + 1 WHERE id = ?`, h.inbox.ID)
	h.env.Store.DB.Exec(`UPDATE inboxes SET used_bytes = 1000 WHERE id = ?`, b.ID)
	h.env.Store.DB.Exec(`UPDATE cap_alerts SET fired_at = NULL WHERE inbox_id = ?`, b.ID)
	h.env.Store.DB.Exec(`UPDATE inboxes SET used_bytes = 5 WHERE id = ?`, oi.ID)
	h.env.MustStatus(200, "GET", "/v1/billing/usage/verify/", h.org.Owner, nil).JSON(t, &v)
	if len(v.Drift) != 2 {
		t.Fatalf("drift %+v", v.Drift)
	}
	d := v.Drift[0]
	if d.InboxID != h.inbox.ID {
		d = v.Drift[1]
	}
	if d.UsedBytes != 2993 || d.ActualBytes != 3000 || d.MessageCount != 3 || d.ActualCount != 2 || d.Address != "agent@mail.example.com" {
		t.Fatalf("drift %+v", d)
	}
	h.env.MustStatus(403, "GET", "/v1/billing/usage/verify", h.env.User(h.org, models.RoleReviewer), nil)
	all, err := h.env.Caps.Verify(context.Background(), "")
	if err != nil || len(all.Drift) != 3 || all.Inboxes != 3 {
		t.Fatalf("all organizations: %+v %v", all, err)
	}
	for _, x := range all.Drift {
		f, err := h.env.Caps.Fix(context.Background(), x.InboxID)
		if err != nil || f.UsedBytes != x.UsedBytes || f.ActualBytes != x.ActualBytes {
			t.Fatalf("fix %+v: %+v %v", x, f, err)
		}
	}
	h.checkConsistent()
	// Fixing b took it from 10 % back to 60 %: its 50 % alert fired.
	if got := h.crossings(b); !intsEqual(got, []int{50, 50}) {
		t.Fatalf("crossings %v", got)
	}
	if n := h.count(`SELECT count(*) FROM audit_log WHERE action = 'usage.fixed'`); n != 3 {
		t.Fatalf("%d usage.fixed audit entries", n)
	}
}
