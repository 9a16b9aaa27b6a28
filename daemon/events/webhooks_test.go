package events_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"gent/daemon/config"
	"gent/daemon/events"
	"gent/models"
)

// receiver is a webhook endpoint on loopback that answers each request
// with the status status(n) (n counts from 1).
type receiver struct {
	t      *testing.T
	URL    string
	port   string
	status func(n int) int
	n      atomic.Int32
	reqs   chan received
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, status func(n int) int) *receiver {
	r := &receiver{t: t, status: status, reqs: make(chan received, 100)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		n := int(r.n.Add(1))
		r.reqs <- received{header: req.Header.Clone(), body: b}
		w.WriteHeader(r.status(n))
		_, _ = w.Write([]byte("receiver says hi\n"))
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	_, r.port, _ = net.SplitHostPort(srv.Listener.Addr().String())
	return r
}

func always(code int) func(int) int { return func(int) int { return code } }

func (r *receiver) next(timeout time.Duration) received {
	r.t.Helper()
	select {
	case req := <-r.reqs:
		return req
	case <-time.After(timeout):
		r.t.Fatalf("no webhook request within %s", timeout)
		return received{}
	}
}

func (r *receiver) quiet(d time.Duration) {
	r.t.Helper()
	select {
	case req := <-r.reqs:
		r.t.Fatalf("unexpected webhook request %s", req.body)
	case <-time.After(d):
	}
}

// verify checks a request's signature the way docs/events.md tells
// receivers to, independently of the daemon's code.
func verify(t *testing.T, secret string, req received) {
	t.Helper()
	id, ts, sig := req.header.Get("webhook-id"), req.header.Get("webhook-timestamp"), req.header.Get("webhook-signature")
	if id == "" || ts == "" || sig == "" {
		t.Fatalf("missing Standard Webhooks headers: %v", req.header)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > time.Minute {
		t.Fatalf("webhook-timestamp %q is not now", ts)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(req.body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if sig != want {
		t.Fatalf("webhook-signature %q, want %q", sig, want)
	}
	if !events.Verify(secret, id, sec, req.body, sig) {
		t.Fatal("events.Verify refuses a good signature")
	}
	if events.Verify(secret, id, sec, append([]byte(" "), req.body...), sig) {
		t.Fatal("events.Verify accepts a changed body")
	}
}

func (d *daemon) createWebhook(cred string, body map[string]any) models.WebhookCreated {
	d.T.Helper()
	var wh models.WebhookCreated
	d.MustStatus(201, "POST", "/v1/webhooks", cred, body).JSON(d.T, &wh)
	return wh
}

func (d *daemon) deliveries(cred, webhookID string) []models.WebhookDelivery {
	d.T.Helper()
	var page models.List[models.WebhookDelivery]
	d.MustStatus(200, "GET", "/v1/webhooks/"+webhookID+"/deliveries", cred, nil).JSON(d.T, &page)
	return page.Data
}

// settled waits until the webhook's only delivery has status.
func (d *daemon) settled(cred, webhookID, status string) models.WebhookDelivery {
	d.T.Helper()
	var got []models.WebhookDelivery
	waitFor(d.T, 10*time.Second, "delivery "+status, func() bool {
		got = d.deliveries(cred, webhookID)
		return len(got) == 1 && got[0].Status == status
	})
	return got[0]
}

func TestWebhookSignedDelivery(t *testing.T) {
	d := start(t)
	d.StartJobs()
	org := d.Setup()
	inb := d.inbox(org, "agent")
	r := newReceiver(t, always(200))
	wh := d.createWebhook(org.Owner, map[string]any{"url": r.URL + "/gent?x=1", "event_types": []string{"message.received", "message.received"}})
	if !strings.HasPrefix(wh.Secret, "whsec_") || wh.Status != models.WebhookEnabled ||
		len(wh.EventTypes) != 1 || wh.InboxID != nil || wh.URL != r.URL+"/gent?x=1" {
		t.Fatalf("created %+v", wh)
	}
	// The secret is shown once.
	for _, p := range []string{"/v1/webhooks", "/v1/webhooks/" + wh.ID} {
		if b := d.MustStatus(200, "GET", p, org.Owner, nil).Body; strings.Contains(string(b), wh.Secret) || strings.Contains(string(b), `"secret"`) {
			t.Fatalf("GET %s shows the secret: %s", p, b)
		}
	}

	// Stored sealed with the master key, bound to this webhook.
	var row struct{ Secret []byte }
	if err := d.Store.DB.Raw(`SELECT secret FROM webhooks WHERE id = ?`, wh.ID).Scan(&row).Error; err != nil {
		t.Fatal(err)
	}
	sealed := row.Secret
	if strings.Contains(string(sealed), strings.TrimPrefix(wh.Secret, "whsec_")) {
		t.Fatal("the signing secret is stored in clear")
	}
	if raw, err := d.Secrets.Open(sealed, "webhooks.secret:"+wh.ID); err != nil || string(raw) != wh.Secret {
		t.Fatalf("sealed secret opens to %q, %v", raw, err)
	}
	if _, err := d.Secrets.Open(sealed, "webhooks.secret:whk_other"); err == nil {
		t.Fatal("the sealed secret opens for another webhook")
	}

	d.emit(org.ID, inb, models.EventMessageSent, nil) // not subscribed
	ev := d.emit(org.ID, inb, models.EventMessageReceived, map[string]any{"message_id": "msg_1", "from": "a@b.test"})
	req := r.next(5 * time.Second)
	verify(t, wh.Secret, req)
	if req.header.Get("webhook-id") != ev.ID || req.header.Get("Content-Type") != "application/json" {
		t.Fatalf("headers %v", req.header)
	}
	var got models.Event
	if err := json.Unmarshal(req.body, &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != ev.ID || got.Type != models.EventMessageReceived || got.OrgID != org.ID || got.InboxID == nil ||
		*got.InboxID != inb || got.Payload["message_id"] != "msg_1" || !got.CreatedAt.Equal(ev.CreatedAt.Truncate(time.Microsecond)) {
		t.Fatalf("body %s (event %+v)", req.body, ev)
	}
	r.quiet(300 * time.Millisecond)
	del := d.settled(org.Owner, wh.ID, models.DeliverySucceeded)
	if del.Attempts != 1 || del.LastResponseCode == nil || *del.LastResponseCode != 200 || del.EventID != ev.ID ||
		del.EventType != models.EventMessageReceived || del.DeliveredAt == nil || del.LastError != "" {
		t.Fatalf("delivery %+v", del)
	}
}

func TestWebhookRetriesAfter500s(t *testing.T) {
	d := start(t)
	d.StartJobs()
	org := d.Setup()
	r := newReceiver(t, func(n int) int {
		if n <= 2 {
			return 500
		}
		return 204
	})
	wh := d.createWebhook(org.Owner, map[string]any{"url": r.URL, "event_types": []string{"domain.verified"}})
	ev := d.emit(org.ID, "", models.EventDomainVerified, map[string]any{"domain_id": "dom_1"})
	for i := range 3 {
		req := r.next(5 * time.Second)
		if req.header.Get("webhook-id") != ev.ID {
			t.Fatalf("attempt %d: webhook-id %s, want %s (the same on every retry)", i+1, req.header.Get("webhook-id"), ev.ID)
		}
		verify(t, wh.Secret, req)
	}
	del := d.settled(org.Owner, wh.ID, models.DeliverySucceeded)
	if del.Attempts != 3 || *del.LastResponseCode != 204 || del.NextAttemptAt != nil {
		t.Fatalf("delivery %+v", del)
	}
	var hook models.Webhook
	d.MustStatus(200, "GET", "/v1/webhooks/"+wh.ID, org.Owner, nil).JSON(t, &hook)
	if hook.ConsecutiveFailures != 0 || hook.LastSuccessAt == nil || hook.LastFailureAt == nil || hook.Status != models.WebhookEnabled {
		t.Fatalf("webhook %+v", hook)
	}
	r.quiet(300 * time.Millisecond)
}

func TestWebhookGivesUpAfterMaxAttempts(t *testing.T) {
	d := start(t, func(c *config.Config) { c.Webhooks.MaxAttempts = 2; c.Webhooks.DisableAfter = 0 })
	d.StartJobs()
	org := d.Setup()
	r := newReceiver(t, always(503))
	wh := d.createWebhook(org.Owner, map[string]any{"url": r.URL, "event_types": []string{"message.bounced"}})
	d.emit(org.ID, "", models.EventMessageBounced, nil)
	del := d.settled(org.Owner, wh.ID, models.DeliveryFailed)
	if del.Attempts != 2 || *del.LastResponseCode != 503 || !strings.Contains(del.LastError, "503") || del.NextAttemptAt != nil {
		t.Fatalf("delivery %+v", del)
	}
	if r.n.Load() != 2 {
		t.Fatalf("%d requests, want 2", r.n.Load())
	}
	var hook models.Webhook
	d.MustStatus(200, "GET", "/v1/webhooks/"+wh.ID, org.Owner, nil).JSON(t, &hook)
	if hook.Status != models.WebhookEnabled || hook.ConsecutiveFailures != 2 {
		t.Fatalf("with disable_after_failures = 0 the webhook stays enabled: %+v", hook)
	}
}

func TestWebhookDisabledAfterFailures(t *testing.T) {
	d := start(t, func(c *config.Config) { c.Webhooks.DisableAfter = 3 })
	d.StartJobs()
	org := d.Setup()
	failing := newReceiver(t, always(500))
	watcher := newReceiver(t, always(200))
	wh := d.createWebhook(org.Owner, map[string]any{"url": failing.URL, "event_types": []string{"message.received"}})
	watch := d.createWebhook(org.Owner, map[string]any{"url": watcher.URL, "event_types": []string{"webhook.disabled"}})

	d.emit(org.ID, "", models.EventMessageReceived, nil)
	del := d.settled(org.Owner, wh.ID, models.DeliveryFailed)
	if del.Attempts != 3 || failing.n.Load() != 3 {
		t.Fatalf("delivery %+v after %d requests; want 3 attempts", del, failing.n.Load())
	}
	var hook models.Webhook
	d.MustStatus(200, "GET", "/v1/webhooks/"+wh.ID, org.Owner, nil).JSON(t, &hook)
	if hook.Status != models.WebhookDisabled || hook.DisabledAt == nil || !strings.Contains(hook.DisabledReason, "3 consecutive") {
		t.Fatalf("webhook %+v", hook)
	}

	// The organization hears about it: an event, which other webhooks get.
	var page models.List[models.Event]
	d.MustStatus(200, "GET", "/v1/events?type=webhook.disabled", org.Owner, nil).JSON(t, &page)
	if len(page.Data) != 1 || page.Data[0].Payload["webhook_id"] != wh.ID || page.Data[0].InboxID != nil {
		t.Fatalf("webhook.disabled events: %+v", page.Data)
	}
	req := watcher.next(5 * time.Second)
	verify(t, watch.Secret, req)
	if !strings.Contains(string(req.body), wh.ID) {
		t.Fatalf("watcher got %s", req.body)
	}
	var audits models.List[models.AuditEntry]
	d.MustStatus(200, "GET", "/v1/audit?action=webhooks.disable", org.Owner, nil).JSON(t, &audits)
	if len(audits.Data) != 1 || audits.Data[0].TargetID != wh.ID || audits.Data[0].ActorType != "system" {
		t.Fatalf("audit: %+v", audits.Data)
	}

	// A disabled webhook gets no more deliveries.
	d.emit(org.ID, "", models.EventMessageReceived, nil)
	time.Sleep(300 * time.Millisecond)
	if got := d.deliveries(org.Owner, wh.ID); len(got) != 1 {
		t.Fatalf("%d deliveries after disabling, want 1", len(got))
	}
	if n := failing.n.Load(); n != 3 {
		t.Fatalf("%d requests in all, want 3", n)
	}
}

// A delivery waiting for its retry when the webhook is disabled is
// canceled, and its job then sends nothing.
func TestWaitingDeliveriesOfDisabledWebhookAreCanceled(t *testing.T) {
	d := start(t, func(c *config.Config) {
		c.Webhooks.DisableAfter = 2
		c.Webhooks.RetryBackoff = config.Duration(time.Hour)
	})
	d.StartJobs()
	org := d.Setup()
	r := newReceiver(t, always(500))
	wh := d.createWebhook(org.Owner, map[string]any{"url": r.URL, "event_types": []string{"message.received"}})
	first := d.emit(org.ID, "", models.EventMessageReceived, nil)
	waitFor(t, 10*time.Second, "the first delivery to wait for its retry", func() bool {
		got := d.deliveries(org.Owner, wh.ID)
		return len(got) == 1 && got[0].Status == models.DeliveryRetrying && got[0].NextAttemptAt != nil &&
			time.Until(*got[0].NextAttemptAt) > 50*time.Minute
	})
	second := d.emit(org.ID, "", models.EventMessageReceived, nil)
	status := map[string]string{}
	waitFor(t, 10*time.Second, "the webhook to be disabled", func() bool {
		for _, x := range d.deliveries(org.Owner, wh.ID) {
			status[x.EventID] = x.Status
		}
		return status[second.ID] == models.DeliveryFailed
	})
	if status[first.ID] != models.DeliveryCanceled {
		t.Fatalf("waiting delivery is %q, want canceled", status[first.ID])
	}
	// Run the first delivery's job now instead of in an hour (once River
	// has recorded it as waiting to retry).
	waitFor(t, 10*time.Second, "the retry to be scheduled", func() bool {
		res := d.Store.DB.Exec(`UPDATE river_job SET scheduled_at = now(), state = 'available'
			WHERE kind = 'webhooks.deliver' AND state = 'retryable'`)
		return res.Error == nil && res.RowsAffected == 1
	})
	waitFor(t, 10*time.Second, "the job to complete", func() bool {
		var n int64
		_ = d.Store.DB.Raw(`SELECT count(*) FROM river_job WHERE kind = 'webhooks.deliver' AND state = 'completed'`).Scan(&n).Error
		return n == 1
	})
	if n := r.n.Load(); n != 2 {
		t.Fatalf("%d requests, want 2", n)
	}
}

// dnsServer answers A queries for names from a map that tests change.
type dnsServer struct {
	mu   sync.Mutex
	a    map[string]string
	Addr string
}

func newDNSServer(t *testing.T) *dnsServer {
	s := &dnsServer{a: map[string]string{}}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = pc.LocalAddr().String()
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		name := strings.ToLower(q.Question[0].Name)
		s.mu.Lock()
		ip, ok := s.a[name]
		s.mu.Unlock()
		switch {
		case !ok:
			m.Rcode = dns.RcodeNameError
		case q.Question[0].Qtype == dns.TypeA:
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 1}, A: net.ParseIP(ip)})
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return s
}

func (s *dnsServer) set(name, ip string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.a[dns.Fqdn(name)] = ip
}

func TestWebhookSSRFGuard(t *testing.T) {
	ns := newDNSServer(t)
	ns.set("private.gent.test", "10.0.0.7")
	ns.set("hook.gent.test", "93.184.216.34")
	d := start(t, func(c *config.Config) {
		c.Webhooks.AllowPrivateTargets = false
		c.DNS.Resolver = ns.Addr
		c.Webhooks.MaxAttempts = 1
	})
	d.StartJobs()
	org := d.Setup()

	refused := map[string]string{ // url -> part of the message
		"http://127.0.0.1:8080/hook":                 "loopback",
		"http://[::1]/hook":                          "loopback",
		"http://localhost:8080/hook":                 "loopback",
		"http://10.0.0.5/hook":                       "private",
		"http://192.168.1.10/hook":                   "private",
		"http://[fd00::1]/hook":                      "private",
		"http://169.254.169.254/latest/meta-data":    "link-local",
		"http://0.0.0.0/hook":                        "unspecified",
		"http://[::ffff:127.0.0.1]/hook":             "loopback",
		"http://224.0.0.1/hook":                      "multicast",
		"http://private.gent.test/hook":              "resolves to 10.0.0.7",
		"http://nowhere.gent.test/hook":              "does not resolve",
		"ftp://93.184.216.34/hook":                   "http",
		"http:///hook":                               "http",
		"https://user:pw@93.184.216.34/hook":         "credentials",
		"https://93.184.216.34:99999/hook":           "port",
		"https://93.184.216.34/hook#frag":            "fragment",
		"":                                           "required",
		"https://" + strings.Repeat("a", 2050) + "/": "2048",
	}
	for u, want := range refused {
		r := d.Do("POST", "/v1/webhooks", org.Owner, map[string]any{"url": u, "event_types": []string{"message.received"}})
		var body models.ErrorBody
		r.JSON(t, &body)
		if r.Status != 422 || body.Error.Field != "url" || !strings.Contains(body.Error.Message, want) {
			t.Errorf("%.60s: %d %s (want 422 on url mentioning %q)", u, r.Status, r.Body, want)
		}
	}
	var n int64
	d.Store.DB.Raw(`SELECT count(*) FROM webhooks`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d webhooks stored from refused requests", n)
	}
	d.createWebhook(org.Owner, map[string]any{"url": "https://93.184.216.34/hook", "event_types": []string{"message.received"}})

	// DNS rebinding: public when the webhook is created, loopback when a
	// delivery connects. The connection is refused after resolution.
	r := newReceiver(t, always(200))
	wh := d.createWebhook(org.Owner, map[string]any{"url": "http://hook.gent.test:" + r.port + "/hook", "event_types": []string{"domain.verified"}})
	ns.set("hook.gent.test", "127.0.0.1")
	d.emit(org.ID, "", models.EventDomainVerified, nil)
	del := d.settled(org.Owner, wh.ID, models.DeliveryFailed)
	if !strings.Contains(del.LastError, "refused") || !strings.Contains(del.LastError, "127.0.0.1 is a loopback address") || del.LastResponseCode != nil {
		t.Fatalf("delivery %+v", del)
	}
	r.quiet(100 * time.Millisecond)
}

func TestWebhookAPI(t *testing.T) {
	d := start(t)
	d.StartJobs()
	org := d.Setup()
	admin := d.User(org, models.RoleAdmin)
	mine, theirs := d.inbox(org, "mine"), d.inbox(org, "theirs")
	other := d.OtherOrg("Other")
	foreignInbox := d.inbox(other, "x")
	r := newReceiver(t, always(200))

	bad := []struct {
		body  any
		field string
	}{
		{map[string]any{"url": r.URL, "event_types": []string{}}, "event_types"},
		{map[string]any{"url": r.URL}, "event_types"},
		{map[string]any{"url": r.URL, "event_types": []string{"message.received", "message.exploded"}}, "event_types[1]"},
		{map[string]any{"url": r.URL, "event_types": []string{"message.received"}, "inbox_id": foreignInbox}, "inbox_id"},
		{map[string]any{"url": r.URL, "event_types": []string{"message.received"}, "inbox_id": ""}, "inbox_id"},
		{map[string]any{"url": r.URL, "event_types": []string{"message.received"}, "secret": "mine"}, "secret"},
		{map[string]any{"url": 7, "event_types": []string{"message.received"}}, "url"},
	}
	for _, c := range bad {
		resp := d.Do("POST", "/v1/webhooks", admin, c.body)
		var body models.ErrorBody
		resp.JSON(t, &body)
		if resp.Status != 422 || body.Error.Field != c.field {
			t.Errorf("%v: %d %s (want 422 on %s)", c.body, resp.Status, resp.Body, c.field)
		}
	}
	d.MustStatus(400, "POST", "/v1/webhooks", admin, "{")

	// An inbox-scoped webhook gets only that inbox's events.
	wh := d.createWebhook(admin, map[string]any{"url": r.URL, "event_types": []string{"message.received", "domain.verified"}, "inbox_id": mine})
	if wh.InboxID == nil || *wh.InboxID != mine || wh.CreatedBy == "" {
		t.Fatalf("created %+v", wh)
	}
	d.emit(org.ID, theirs, models.EventMessageReceived, nil)
	d.emit(org.ID, "", models.EventDomainVerified, nil)
	ev := d.emit(org.ID, mine, models.EventMessageReceived, nil)
	if got := r.next(5 * time.Second); got.header.Get("webhook-id") != ev.ID {
		t.Fatalf("inbox webhook got %s, want %s", got.header.Get("webhook-id"), ev.ID)
	}
	r.quiet(300 * time.Millisecond)

	second := d.createWebhook(admin, map[string]any{"url": r.URL, "event_types": []string{"token.revoked"}})
	var list models.List[models.Webhook]
	d.MustStatus(200, "GET", "/v1/webhooks?limit=1", admin, nil).JSON(t, &list)
	if len(list.Data) != 1 || list.Data[0].ID != wh.ID || list.NextCursor != wh.ID {
		t.Fatalf("page 1: %+v", list)
	}
	d.MustStatus(200, "GET", "/v1/webhooks?limit=1&cursor="+list.NextCursor, admin, nil).JSON(t, &list)
	if len(list.Data) != 1 || list.Data[0].ID != second.ID || list.NextCursor != "" {
		t.Fatalf("page 2: %+v", list)
	}
	d.MustStatus(422, "GET", "/v1/webhooks/"+wh.ID+"/deliveries?status=lost", admin, nil)
	var dl models.List[models.WebhookDelivery]
	d.MustStatus(200, "GET", "/v1/webhooks/"+wh.ID+"/deliveries?status=succeeded", admin, nil).JSON(t, &dl)
	if len(dl.Data) != 1 {
		t.Fatalf("succeeded deliveries: %+v", dl.Data)
	}

	// Other organizations see nothing.
	for _, p := range []string{"/v1/webhooks/" + wh.ID, "/v1/webhooks/" + wh.ID + "/deliveries"} {
		d.MustStatus(404, "GET", p, other.Owner, nil)
	}
	d.MustStatus(404, "DELETE", "/v1/webhooks/"+wh.ID, other.Owner, nil)
	var otherList models.List[models.Webhook]
	d.MustStatus(200, "GET", "/v1/webhooks", other.Owner, nil).JSON(t, &otherList)
	if len(otherList.Data) != 0 {
		t.Fatalf("other org lists %+v", otherList.Data)
	}

	d.MustStatus(204, "DELETE", "/v1/webhooks/"+wh.ID, admin, nil)
	d.MustStatus(404, "GET", "/v1/webhooks/"+wh.ID, admin, nil)
	d.MustStatus(404, "GET", "/v1/webhooks/"+wh.ID+"/deliveries", admin, nil)
	d.MustStatus(404, "DELETE", "/v1/webhooks/"+wh.ID, admin, nil)
	d.emit(org.ID, mine, models.EventMessageReceived, nil)
	r.quiet(300 * time.Millisecond)
}

// Emit called outside a transaction opens one, so the event and its
// deliveries still commit together; a rolled-back event has none.
func TestEmitOutsideTransactionAndRollback(t *testing.T) {
	d := start(t)
	d.StartJobs()
	org := d.Setup()
	r := newReceiver(t, always(200))
	wh := d.createWebhook(org.Owner, map[string]any{"url": r.URL, "event_types": []string{"domain.verified"}})

	ctx := context.Background()
	tx := d.Store.DB.WithContext(ctx).Begin()
	if _, err := d.Events.Emit(ctx, tx, org.ID, "", models.EventDomainVerified, nil); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback().Error; err != nil {
		t.Fatal(err)
	}
	ev, err := d.Events.Emit(ctx, d.Store.DB, org.ID, "", models.EventDomainVerified, map[string]any{"domain_id": "dom_1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.next(5 * time.Second); got.header.Get("webhook-id") != ev.ID {
		t.Fatalf("delivered %s, want %s", got.header.Get("webhook-id"), ev.ID)
	}
	d.settled(org.Owner, wh.ID, models.DeliverySucceeded)
	r.quiet(300 * time.Millisecond)
}
