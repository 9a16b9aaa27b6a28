package metrics

import (
	"testing"
	"time"
)

// BenchmarkAPIRequest is what the API middleware adds to each request:
// a counter and a histogram observation under their labels.
func BenchmarkAPIRequest(b *testing.B) {
	m := New()
	b.ReportAllocs()
	for b.Loop() {
		m.APIRequest("/v1/inboxes/:id", "GET", 200, 3*time.Millisecond)
	}
}

// A nil *Metrics (a service built without them) records nothing and does
// not panic.
func TestNilMetrics(t *testing.T) {
	var m *Metrics
	m.SMTPSession()
	m.SMTPRefused()
	m.SMTPReply('2')
	m.SMTPReplyCode(550)
	m.Stored("inbound", 1, 10, 1)
	m.APIRequest("/healthz", "GET", 200, time.Millisecond)
	m.SendDecision(DecisionHeld, "", []string{"first_contact"})
	m.DeliveryAttempt("delivered", "remote")
	m.WebhookDelivery("succeeded")
	m.AddDB(nil)
	m.AddQueue(nil)
	m.AddGaugeFunc("x", "x", nil)
}
