package tui

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
)

// TestFlowQueue pauses a domain from the TUI, sees a send to it held in
// the queue, and ends the pause: the delivery is attempted.
func TestFlowQueue(t *testing.T) {
	d, org, r := signedIn(t)
	d.StartJobs()
	r.wait("[o]  Queue", "nothing waiting to go out")
	r.runes("o")
	r.wait("0 deliveries")

	// Pause example.net with the form; a bad until is refused under it.
	r.runes("p")
	r.wait("No domain is paused")
	r.runes("a")
	r.wait("Pause deliveries to a domain")
	r.typ("example.net")
	r.press(tea.KeyTab)
	r.typ("their MX refuses connections")
	r.press(tea.KeyTab)
	r.typ("soon")
	r.press(tea.KeyEnter)
	r.wait("Until must be a duration")
	r.press(tea.KeyBackspace, tea.KeyBackspace, tea.KeyBackspace, tea.KeyBackspace)
	r.typ("2h")
	r.press(tea.KeyEnter)
	r.wait("Deliveries to example.net are paused until", "their MX refuses connections", "example.net ")
	var ps models.List[models.DeliveryPause]
	d.MustStatus(200, "GET", "/v1/delivery-pauses", org.Owner, nil).JSON(t, &ps)
	if len(ps.Data) != 1 || ps.Data[0].Domain != "example.net" || ps.Data[0].Until == nil ||
		ps.Data[0].Until.Before(time.Now().Add(110*time.Minute)) {
		t.Fatalf("pauses %+v", ps.Data)
	}

	// A send to the domain is held: listed as paused, no attempt.
	r.runes("p")
	r.wait("0 deliveries")
	sendOut(t, d, org, "ann@example.net")
	held := pausedDelivery(t, d, org.Owner, "ann@example.net")
	r.runes("r")
	v := r.wait("1 delivery", "ann@example.net", "paused", "example.net is paused")
	if !strings.Contains(v, "0 attempts") {
		t.Fatalf("a paused delivery shows attempts:\n%s", v)
	}

	// A reviewer sees the queue but may not cancel.
	dir := t.TempDir()
	d.saveSession(t, dir, d.Login("rex@acme.test"), "rex@acme.test")
	rv := startTUI(t, d, withConfigDir(dir))
	rv.wait("Recent activity", "[o]  Queue")
	rv.runes("o")
	rv.wait("1 delivery", "ann@example.net")
	rv.runes("x")
	if v := rv.wait("1 delivery"); strings.Contains(v, "Cancel the delivery") {
		t.Fatalf("a reviewer is asked to cancel:\n%s", v)
	}

	// End the pause: the delivery goes at once.
	r.runes("p")
	r.wait("Delivery pauses by domain", "example.net")
	r.runes("d")
	r.wait("End the pause on example.net?")
	r.runes("y")
	r.wait("Deliveries to example.net resume.", "No domain is paused")
	d.MustStatus(200, "GET", "/v1/delivery-pauses", org.Owner, nil).JSON(t, &ps)
	if len(ps.Data) != 0 {
		t.Fatalf("pauses after delete: %+v", ps.Data)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		var got models.QueuedDelivery
		d.MustStatus(200, "GET", "/v1/deliveries/"+held.ID, org.Owner, nil).JSON(t, &got)
		if got.Attempts > 0 && !got.Paused {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the delivery was not attempted once the pause ended: %+v", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.runes("p")
	r.wait("1 delivery", "1 attempt", "0 domains paused")
}
