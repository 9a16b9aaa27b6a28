package delivery_test

import (
	"strings"
	"testing"
	"time"

	"gent/daemon/config"
	"gent/daemon/dnstest"
	"gent/daemon/server/servertest"
	"gent/daemon/smtpsink"
	"gent/daemon/store/storetest"
	"gent/models"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// harness is a daemon whose mail for example.net goes, through a loopback
// DNS server, to a loopback SMTP sink.
type harness struct {
	t     *testing.T
	env   *servertest.Env
	org   servertest.Org
	inbox models.Inbox
	agent models.TokenSecret // default agent scopes
	dns   *dnstest.Server
	sink  *smtpsink.Sink
}

func newHarness(t *testing.T, mutate ...func(*config.Config)) *harness {
	t.Helper()
	dns := dnstest.New(t)
	sink := smtpsink.New(t)
	env := servertest.New(t, append([]func(*config.Config){func(c *config.Config) {
		c.Hostname = "mx.gent.test"
		c.DNS.Resolver, c.DNS.Timeout = dns.Addr, config.Duration(time.Second)
		c.Outbound.Port = sink.Port
		c.Outbound.RetryIntervals = "100ms"
		c.Outbound.ConnectTimeout = config.Duration(2 * time.Second)
		c.Outbound.CommandTimeout = config.Duration(5 * time.Second)
	}}, mutate...)...)
	dns.AddA("mx.gent.test", "127.0.0.1")
	dns.AddMX("example.net", 10, "mx.example.net")
	dns.AddA("mx.example.net", "127.0.0.1")
	org := env.Setup()
	env.PublishedDomain(org, "mail.example.com", dns)
	inbox := env.Inbox(org, "agent@mail.example.com")
	h := &harness{t: t, env: env, org: org, inbox: inbox, dns: dns, sink: sink}
	h.agent = env.Token(org, inbox.ID, []string{models.ScopeEmailRead, models.ScopeEmailSend, models.ScopeEmailWrite, models.ScopeFilesRead})
	env.StartJobs()
	return h
}

// send posts a send as the default agent and returns the 202 body.
func (h *harness) send(body any, headers ...string) models.SendResponse {
	h.t.Helper()
	var r models.SendResponse
	h.env.MustStatus(202, "POST", "/v1/inboxes/"+h.inbox.ID+"/messages/send", h.agent.Secret, body, headers...).JSON(h.t, &r)
	return r
}

// waitStatus polls the message's delivery until it reaches want.
func (h *harness) waitStatus(id, want string) models.SendStatus {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var st models.SendStatus
	for {
		h.env.MustStatus(200, "GET", "/v1/inboxes/"+h.inbox.ID+"/messages/"+id+"/delivery", h.agent.Secret, nil).JSON(h.t, &st)
		if st.Status == want {
			return st
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("message %s: want status %s, still %s: %+v", id, want, st.Status, st.Recipients)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (h *harness) events(typ string) []models.Event {
	h.t.Helper()
	var evs []models.Event
	if err := h.env.Store.DB.Where("type = ? AND org_id = ?", typ, h.org.ID).Order("id").Find(&evs).Error; err != nil {
		h.t.Fatal(err)
	}
	return evs
}

func simple(to ...string) models.SendRequest {
	return models.SendRequest{To: to, Subject: "Status update", Text: "All systems nominal.", HTML: "<p>All systems nominal.</p>"}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}
