package tui

import (
	"fmt"
	"regexp"
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

// TestFlowQueuePaging: 60 deliveries (two sends of 30 recipients; no
// delivery worker runs, so they stay queued) are more than a page of 50.
// n shows the oldest ten, exactly those the API lists last; N goes back;
// a status tab starts again on page 1.
func TestFlowQueuePaging(t *testing.T) {
	d, org, r := signedIn(t)
	d.addDomain(t, org.Owner, "mail.example.com", true)
	in := d.Inbox(org, "support@mail.example.com")
	tok := d.Token(org, in.ID, []string{models.ScopeEmailSend})
	for s := range 2 {
		var to models.AddressList
		for i := range 30 {
			to = append(to, fmt.Sprintf("r%02d@example.net", s*30+i))
		}
		d.MustStatus(202, "POST", "/v1/inboxes/"+in.ID+"/messages/send", tok.Secret,
			models.SendRequest{To: to, Subject: fmt.Sprintf("Batch %d", s), Text: "Hello."})
	}
	var all models.List[models.QueuedDelivery]
	d.MustStatus(200, "GET", "/v1/deliveries?limit=200", org.Owner, nil).JSON(t, &all)
	if len(all.Data) != 60 {
		t.Fatalf("%d deliveries, want 60", len(all.Data))
	}
	oldest := map[string]bool{}
	for _, q := range all.Data[50:] {
		oldest[q.Recipient] = true
	}

	r.runes("o")
	v := r.wait("page 1 · 50 deliveries, newest first · older: n", "n/N older/newer", all.Data[0].Recipient)
	if strings.Contains(v, "newer: N") {
		t.Fatalf("page 1 offers a newer page:\n%s", v)
	}
	r.runes("n")
	v = r.wait("page 2 · 10 deliveries, newest first · newer: N")
	if strings.Contains(v, "older: n") {
		t.Fatalf("page 2 offers an older page:\n%s", v)
	}
	seen := 0
	row := regexp.MustCompile(`^[› ] (r\d\d@example\.net) +queued`)
	for _, l := range strings.Split(v, "\n") {
		if m := row.FindStringSubmatch(l); m != nil {
			if !oldest[m[1]] {
				t.Fatalf("page 2 shows %s, not one of the oldest ten:\n%s", m[1], v)
			}
			seen++
		}
	}
	if seen != 10 {
		t.Fatalf("page 2 shows %d of the oldest ten:\n%s", seen, v)
	}
	r.runes("n") // the last page: nothing to load
	r.wait("page 2 · 10 deliveries")

	r.runes("N")
	r.wait("page 1 · 50 deliveries", all.Data[0].Recipient)
	r.runes("n")
	r.wait("page 2 · 10 deliveries")
	r.runes("s") // queued: page 1 of that status
	r.wait("[queued]", "page 1 · 50 deliveries, newest first · older: n")
}

// TestFlowQueueRetryAndCancel: an owner retries one delivery and cancels
// another from the queue, each after y; the daemon records both, and a
// retry of the cancelled one is refused in the status line.
func TestFlowQueueRetryAndCancel(t *testing.T) {
	d, org, r := signedIn(t)
	d.addDomain(t, org.Owner, "mail.example.com", true)
	in := d.Inbox(org, "support@mail.example.com")
	tok := d.Token(org, in.ID, []string{models.ScopeEmailSend})
	for _, to := range []string{"ann@example.net", "bob@example.org"} {
		d.MustStatus(202, "POST", "/v1/inboxes/"+in.ID+"/messages/send", tok.Secret,
			models.SendRequest{To: models.AddressList{to}, Subject: "Your order", Text: "It ships today."})
	}
	ids := map[string]string{}
	var all models.List[models.QueuedDelivery]
	d.MustStatus(200, "GET", "/v1/deliveries", org.Owner, nil).JSON(t, &all)
	for _, q := range all.Data {
		ids[q.Recipient] = q.ID
	}
	r.runes("o")
	v := r.wait("2 deliveries", "ann@example.net", "bob@example.org")
	if !regexp.MustCompile(`(?m)^› bob@example\.org`).MatchString(v) {
		t.Fatalf("the newest delivery is not selected first:\n%s", v)
	}

	r.runes("R")
	r.wait("Retry bob@example.org now?")
	r.runes("y")
	r.wait("Asked for an attempt to bob@example.org now.")
	var audit models.List[models.AuditEntry]
	d.MustStatus(200, "GET", "/v1/audit?action=deliveries.retry", org.Owner, nil).JSON(t, &audit)
	if len(audit.Data) != 1 || audit.Data[0].TargetID != ids["bob@example.org"] {
		t.Fatalf("retry audit %+v", audit.Data)
	}

	r.runes("j")
	r.runes("x")
	r.wait("Cancel the delivery to ann@example.net?")
	r.runes("n")
	var q models.QueuedDelivery
	if d.MustStatus(200, "GET", "/v1/deliveries/"+ids["ann@example.net"], org.Owner, nil).JSON(t, &q); q.Status != models.QueuedStatusQueued {
		t.Fatalf("n cancelled it: %s", q.Status)
	}
	r.runes("x")
	r.wait("Cancel the delivery to ann@example.net?")
	r.runes("y")
	v = r.wait("Cancelled the delivery to ann@example.net.", "cancelled")
	if !regexp.MustCompile(`(?m)^› ann@example\.net +cancelled`).MatchString(v) {
		t.Fatalf("the cancelled delivery is not shown as such:\n%s", v)
	}
	if d.MustStatus(200, "GET", "/v1/deliveries/"+ids["ann@example.net"], org.Owner, nil).JSON(t, &q); q.Status != "cancelled" {
		t.Fatalf("after cancel: %s", q.Status)
	}

	// A cancelled delivery cannot be retried: the daemon's 409 shows.
	r.runes("R")
	r.wait("Retry ann@example.net now?")
	r.runes("y")
	r.wait("✗ The delivery is already cancelled.")
	r.runes("q")
	r.quit()
}
