package tui

import (
	"context"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
)

// setUsage puts an inbox's usage counter at n bytes, as n bytes of stored
// mail would (the caps list and its alerts read the counter).
func (d *daemon) setUsage(t *testing.T, inboxID string, bytes, messages int64) {
	t.Helper()
	if err := d.Store.DB.Exec(`UPDATE inboxes SET used_bytes = ?, message_count = ? WHERE id = ?`, bytes, messages, inboxID).Error; err != nil {
		t.Fatal(err)
	}
}

func (d *daemon) setCap(t *testing.T, owner, inboxID string, gb float64, mode string, thresholds ...int) {
	t.Helper()
	d.MustStatus(200, "PUT", "/v1/billing/caps/mailbox", owner, models.SetCapRequest{
		InboxID: inboxID, LimitGB: &gb, Mode: mode, AlertThresholds: thresholds})
}

func TestGoldenCaps(t *testing.T) {
	d, org, r := signedIn(t)
	d.addDomain(t, org.Owner, "mail.example.com", true)
	support := d.Inbox(org, "support@mail.example.com")
	billing := d.Inbox(org, "billing@mail.example.com")
	sales := d.Inbox(org, "sales@mail.example.com")
	d.setUsage(t, support.ID, 8_125_000_000, 41_210)
	d.setUsage(t, billing.ID, 6_000_000_000, 30_000)
	d.setUsage(t, sales.ID, 12_345, 3)
	// The caps are set three hours ago (setting a cap samples usage), and
	// usage is sampled an hour later: one whole hour of records.
	hour := time.Now().UTC().Truncate(time.Hour).Add(-3 * time.Hour)
	d.Caps.SetClock(func() time.Time { return hour })
	d.setCap(t, org.Owner, support.ID, 10, models.CapEnforce, 80, 95)
	d.setCap(t, org.Owner, billing.ID, 5, models.CapAllowAndBill, 50, 90)
	if _, err := d.Caps.Sample(context.Background(), hour); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Caps.Sample(context.Background(), hour.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	d.Caps.SetClock(time.Now)

	r.runes("c")
	r.goldenAs("list", r.wait("3 inboxes · 2 capped", "sales@mail.example.com"))

	r.runes("e")
	r.goldenAs("edit_form", r.wait("Storage cap of support@mail.example.com", "Alerts at"))
	r.press(tea.KeyTab, tea.KeyTab)
	r.press(tea.KeyCtrlU)
	r.typ("80, 150")
	r.press(tea.KeyEnter)
	r.goldenAs("edit_error", r.wait("✗ An alert threshold is a whole percentage"))
	r.press(tea.KeyEsc)
	r.wait("3 inboxes · 2 capped") // the form's esc closes it by a command

	r.runes("d")
	r.goldenAs("remove_confirm", r.wait("Remove the cap of support@mail.example.com?"))
	r.runes("n")

	r.runes("u")
	r.goldenAs("usage", r.wait("Usage from", "Total"))
}
