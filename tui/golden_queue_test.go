package tui

import (
	"testing"
	"time"

	"gent/daemon/server/servertest"
	"gent/models"
)

// sendOut sends a message to rcpt from an inbox on a verified domain,
// with a token that may send without approval.
func sendOut(t *testing.T, d *daemon, org servertest.Org, rcpt string) {
	t.Helper()
	d.addDomain(t, org.Owner, "mail.example.com", true)
	in := d.Inbox(org, "support@mail.example.com")
	tok := d.Token(org, in.ID, []string{models.ScopeEmailSend})
	d.MustStatus(202, "POST", "/v1/inboxes/"+in.ID+"/messages/send", tok.Secret,
		models.SendRequest{To: models.AddressList{rcpt}, Subject: "Your order", Text: "It ships today."})
}

// pausedDelivery waits until the delivery to rcpt is held by a pause.
func pausedDelivery(t *testing.T, d *daemon, cred, rcpt string) models.QueuedDelivery {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var l models.List[models.QueuedDelivery]
		d.MustStatus(200, "GET", "/v1/deliveries?limit=200", cred, nil).JSON(t, &l)
		for _, q := range l.Data {
			if q.Recipient == rcpt && q.Paused && q.NextAttemptAt != nil {
				return q
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the delivery to %s is not held by a pause: %+v", rcpt, l.Data)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestGoldenQueue(t *testing.T) {
	d, org, r := signedIn(t)
	d.StartJobs() // the delivery job finds the pause and sleeps
	r.runes("o")
	r.goldenAs("empty", r.wait("[all]", "0 deliveries", "Nothing here"))

	until := time.Now().Add(2 * time.Hour)
	d.MustStatus(201, "POST", "/v1/delivery-pauses", org.Owner,
		models.DeliveryPauseRequest{Domain: "example.net", Reason: "their MX refuses connections", Until: &until})
	sendOut(t, d, org, "ann@example.net")
	pausedDelivery(t, d, org.Owner, "ann@example.net")
	r.runes("r")
	r.goldenAs("paused", r.wait("1 delivery", "paused", "example.net is paused"))

	r.runes("x")
	r.goldenAs("cancel_confirm", r.wait("Cancel the delivery to ann@example.net?"))
	r.runes("n")
	r.runes("s")
	r.goldenAs("queued_tab", r.wait("[queued]", "1 delivery"))

	r.runes("p")
	r.goldenAs("pauses", r.wait("Delivery pauses by domain", "their MX refuses connections"))
	r.runes("d")
	r.goldenAs("end_confirm", r.wait("End the pause on example.net?"))
	r.runes("n")
	r.runes("a")
	r.goldenAs("add", r.wait("Pause deliveries to a domain", "Until"))
}
