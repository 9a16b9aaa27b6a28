package api_test

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-smtp"
	"gorm.io/gorm"

	"gent/daemon/config"
	"gent/daemon/dnstest"
	"gent/daemon/server/servertest"
	"gent/models"
)

// trap is a loopback listener that fails the test when anything connects:
// the outbound port (and the relay) point at it, so a sandbox send that
// tried to leave would be caught.
func trap(t *testing.T) (*net.TCPAddr, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			hits.Add(1)
			t.Errorf("outbound connection attempted to %s from %s", ln.Addr(), c.RemoteAddr())
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().(*net.TCPAddr), &hits
}

// sandboxEnv is a daemon whose mail for example.net would go to the trap:
// directly (MX on loopback, outbound.port the trap's) or through a relay
// at the trap.
func sandboxEnv(t *testing.T, relay bool, mutate ...func(*config.Config)) (*servertest.Env, *atomic.Int64) {
	t.Helper()
	addr, hits := trap(t)
	dns := dnstest.New(t)
	dns.AddMX("example.net", 10, "mx.example.net")
	dns.AddA("mx.example.net", "127.0.0.1")
	env := servertest.New(t, append([]func(*config.Config){func(c *config.Config) {
		c.DNS.Resolver, c.DNS.Timeout = dns.Addr, config.Duration(time.Second)
		c.Outbound.Port = addr.Port
		if relay {
			c.Outbound.Mode, c.Outbound.RelayAddr = "relay", addr.String()
		}
		c.Outbound.RetryIntervals = "100ms"
		c.Outbound.ConnectTimeout = config.Duration(time.Second)
	}}, mutate...)...)
	return env, hits
}

// sandboxDomain returns the organization's sandbox domain from the API.
func sandboxDomain(t *testing.T, env *servertest.Env, owner string) models.Domain {
	t.Helper()
	var ds models.List[models.Domain]
	env.MustStatus(200, "GET", "/v1/domains", owner, nil).JSON(t, &ds)
	for _, d := range ds.Data {
		if d.DomainUse == models.DomainUseSandbox {
			return d
		}
	}
	t.Fatalf("no sandbox domain in %+v", ds.Data)
	return models.Domain{}
}

func waitCaptured(t *testing.T, env *servertest.Env, owner, query string, n int) []models.CapturedMessage {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var l models.List[models.CapturedMessage]
		env.MustStatus(200, "GET", "/v1/captured"+query, owner, nil).JSON(t, &l)
		if len(l.Data) >= n {
			return l.Data
		}
		if time.Now().After(deadline) {
			t.Fatalf("want %d captured messages for %q, have %d", n, query, len(l.Data))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitDelivery(t *testing.T, env *servertest.Env, cred, inboxID, id, want string) models.SendStatus {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var st models.SendStatus
		env.MustStatus(200, "GET", "/v1/inboxes/"+inboxID+"/messages/"+id+"/delivery", cred, nil).JSON(t, &st)
		if st.Status == want {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("send %s: want %s, still %s %+v", id, want, st.Status, st.Recipients)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSandboxFlow walks the newcomer's path on the sandbox domain: the
// domain made at setup, an inbox, a supervised token, a held send
// approved, the mail captured (signed with the sandbox key, never sent:
// the trap sees no connection, direct or through a relay), mail to the
// organization's own inbox delivered locally, and a reply over SMTP.
func TestSandboxFlow(t *testing.T) {
	for _, relay := range []bool{false, true} {
		name := "direct"
		if relay {
			name = "relay"
		}
		t.Run(name, func(t *testing.T) { sandboxFlow(t, relay) })
	}
}

func sandboxFlow(t *testing.T, relay bool) {
	env, hits := sandboxEnv(t, relay)
	org := env.Setup()
	dom := sandboxDomain(t, env, org.Owner)
	if dom.Name != "acme.sandbox.gent.localhost" || dom.Status != models.DomainVerified || !dom.Sandbox ||
		dom.Disabled || len(dom.Records) != 0 {
		t.Fatalf("sandbox domain: %+v", dom)
	}
	// Verify checks no DNS and changes nothing; the zone has no records.
	var again models.Domain
	env.MustStatus(200, "POST", "/v1/domains/"+dom.ID+"/verify", org.Owner, nil).JSON(t, &again)
	if again.Status != models.DomainVerified || len(again.Records) != 0 {
		t.Fatalf("verify changed the sandbox: %+v", again)
	}

	inbox := env.Inbox(org, "agent@"+dom.Name)
	if !inbox.Sandbox {
		t.Fatalf("inbox not marked sandbox: %+v", inbox)
	}
	colleague := env.Inbox(org, "colleague@"+dom.Name)
	agent := env.Token(org, inbox.ID, []string{models.ScopeEmailRead, models.ScopeEmailSend}, models.ScopeEmailSend)
	env.StartJobs()
	smtpAddr := env.ListenSMTP()

	// The held send, approved.
	var sent models.SendResponse
	env.MustStatus(202, "POST", "/v1/inboxes/"+inbox.ID+"/messages/send", agent.Secret, models.SendRequest{
		To: models.AddressList{"Someone <Someone@example.net>", "colleague@" + dom.Name}, Subject: "Hello from the sandbox", Text: "First message.",
	}).JSON(t, &sent)
	if sent.Status != "pending_approval" || sent.ApprovalID == "" {
		t.Fatalf("send: %+v", sent)
	}
	env.MustStatus(200, "POST", "/v1/approvals/"+sent.ApprovalID+"/approve", org.Owner, nil)
	st := waitDelivery(t, env, agent.Secret, inbox.ID, sent.ID, "delivered")
	for _, r := range st.Recipients {
		want := "local"
		if strings.HasSuffix(r.Address, "example.net") {
			want = "capture"
			if !strings.Contains(r.LastResponse, "captured as cap_") {
				t.Errorf("recipient %s: response %q", r.Address, r.LastResponse)
			}
		}
		if r.MX != want {
			t.Errorf("recipient %s went by %q, want %q", r.Address, r.MX, want)
		}
	}

	caps := waitCaptured(t, env, org.Owner, "?inbox_id="+inbox.ID, 1)
	c := caps[0]
	if len(caps) != 1 || c.MessageID != sent.ID || c.Domain != "example.net" || c.EnvelopeFrom != inbox.Address ||
		len(c.Recipients) != 1 || c.Recipients[0] != "someone@example.net" || c.Subject != "Hello from the sandbox" || c.Raw != "" {
		t.Fatalf("captured list: %+v", caps)
	}
	var full models.CapturedMessage
	env.MustStatus(200, "GET", "/v1/captured/"+c.ID, org.Owner, nil).JSON(t, &full)
	if !strings.HasPrefix(full.Raw, "DKIM-Signature:") || !strings.Contains(full.Raw, "d="+dom.Name) || full.SizeBytes != len(full.Raw) {
		t.Fatalf("captured raw:\n%s", full.Raw)
	}
	// The signature verifies with the sandbox domain's own key.
	var key struct{ Selector, Public string }
	env.Store.DB.Raw(`SELECT dkim_selector AS selector, dkim_rsa_public AS public FROM domains WHERE id = ?`, dom.ID).Scan(&key)
	verifs, err := dkim.VerifyWithOptions(strings.NewReader(full.Raw), &dkim.VerifyOptions{LookupTXT: func(name string) ([]string, error) {
		if name != key.Selector+"._domainkey."+dom.Name {
			t.Errorf("DKIM lookup of %s", name)
		}
		return []string{"v=DKIM1; k=rsa; p=" + key.Public}, nil
	}})
	if err != nil || len(verifs) != 1 || verifs[0].Err != nil || verifs[0].Domain != dom.Name {
		t.Fatalf("DKIM: %v %+v", err, verifs[0])
	}
	// Filters: by recipient (any case), and nothing for another address.
	if got := waitCaptured(t, env, org.Owner, "?to=SOMEONE@example.net", 1); got[0].ID != c.ID {
		t.Fatalf("to filter: %+v", got)
	}
	var none models.List[models.CapturedMessage]
	env.MustStatus(200, "GET", "/v1/captured?to=colleague@"+dom.Name, org.Owner, nil).JSON(t, &none)
	if len(none.Data) != 0 {
		t.Fatalf("local delivery was captured: %+v", none.Data)
	}
	// The colleague got it locally.
	var msgs models.List[models.Message]
	env.MustStatus(200, "GET", "/v1/inboxes/"+colleague.ID+"/messages", org.Owner, nil).JSON(t, &msgs)
	if len(msgs.Data) != 1 || msgs.Data[0].Subject != "Hello from the sandbox" {
		t.Fatalf("colleague's inbox: %+v", msgs.Data)
	}
	// message.captured reached the organization and the sending inbox.
	var evs []models.Event
	env.Store.DB.Where("org_id = ? AND type = ?", org.ID, models.EventMessageCaptured).Find(&evs)
	if len(evs) != 1 || evs[0].InboxID == nil || *evs[0].InboxID != inbox.ID || evs[0].Payload["captured_id"] != c.ID {
		t.Fatalf("message.captured events: %+v", evs)
	}

	// A reply into the sandbox inbox over the local SMTP listener.
	cl, err := smtp.Dial(smtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	reply := "From: someone@example.net\r\nTo: " + inbox.Address + "\r\nSubject: Re: Hello from the sandbox\r\n" +
		"In-Reply-To: " + c.MessageIDHeader + "\r\n\r\nGot it.\r\n"
	if err := cl.SendMail("someone@example.net", []string{inbox.Address}, strings.NewReader(reply)); err != nil {
		t.Fatalf("SMTP into the sandbox inbox: %v", err)
	}
	env.MustStatus(200, "GET", "/v1/inboxes/"+inbox.ID+"/messages?unread=true", agent.Secret, nil).JSON(t, &msgs)
	if len(msgs.Data) != 1 || msgs.Data[0].Subject != "Re: Hello from the sandbox" || msgs.Data[0].ThreadID != sent.ThreadID {
		t.Fatalf("agent's unread mail: %+v", msgs.Data)
	}
	if hits.Load() != 0 {
		t.Fatalf("%d outbound connections", hits.Load())
	}
}

// TestSandboxDisable: an admin disables the sandbox; its inboxes then
// refuse sends (409 sandbox_disabled) and no new inbox is made on it; a
// real domain cannot be disabled; enabling restores sending. With
// sandbox.domain empty the sandbox inboxes refuse sends too.
func TestSandboxDisable(t *testing.T) {
	env, _ := sandboxEnv(t, false)
	org := env.Setup()
	dom := sandboxDomain(t, env, org.Owner)
	inbox := env.Inbox(org, "agent@"+dom.Name)
	agent := env.Token(org, inbox.ID, []string{models.ScopeEmailSend})
	send := models.SendRequest{To: models.AddressList{"someone@example.net"}, Subject: "s", Text: "t"}
	path := "/v1/inboxes/" + inbox.ID + "/messages/send"

	var d models.Domain
	env.MustStatus(200, "PATCH", "/v1/domains/"+dom.ID, org.Owner, map[string]any{"disabled": true}).JSON(t, &d)
	if !d.Disabled || !d.Sandbox {
		t.Fatalf("PATCH: %+v", d)
	}
	if r := env.MustStatus(409, "POST", path, agent.Secret, send); r.ErrorCode() != models.CodeSandboxDisabled {
		t.Fatalf("send on a disabled sandbox: %s", r.Body)
	}
	if r := env.MustStatus(409, "POST", "/v1/inboxes", org.Owner, models.CreateInboxRequest{Address: "new@" + dom.Name}); r.ErrorCode() != models.CodeSandboxDisabled {
		t.Fatalf("inbox on a disabled sandbox: %s", r.Body)
	}
	env.MustStatus(200, "PATCH", "/v1/domains/"+dom.ID, org.Owner, map[string]any{"disabled": false})
	env.MustStatus(202, "POST", path, agent.Secret, send)

	real := env.VerifiedDomain(org, "mail.example.com")
	if r := env.MustStatus(422, "PATCH", "/v1/domains/"+real, org.Owner, map[string]any{"disabled": true}); !strings.Contains(string(r.Body), `"field":"disabled"`) {
		t.Fatalf("PATCH of a real domain: %s", r.Body)
	}
	env.MustStatus(422, "PATCH", "/v1/domains/"+dom.ID, org.Owner, `{"disabled": "yes"}`)

	// The same database under a daemon with sandbox.domain empty.
	off, _ := sandboxEnv(t, false, func(c *config.Config) { c.Sandbox.Domain = "" })
	offOrg := off.Setup()
	var ds models.List[models.Domain]
	off.MustStatus(200, "GET", "/v1/domains", offOrg.Owner, nil).JSON(t, &ds)
	if len(ds.Data) != 0 {
		t.Fatalf("sandbox made with sandbox.domain empty: %+v", ds.Data)
	}
	// A sandbox left from before (made while it was on) refuses sends.
	if err := off.Store.Tx(context.Background(), func(tx *gorm.DB) error {
		on := servertest.New(t) // a domains service with the default sandbox.domain
		_, err := on.Domains.CreateSandbox(context.Background(), tx, models.Org{ID: offOrg.ID, Name: "Acme"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	left := off.Inbox(offOrg, "agent@acme.sandbox.gent.localhost")
	tok := off.Token(offOrg, left.ID, []string{models.ScopeEmailSend})
	if r := off.MustStatus(409, "POST", "/v1/inboxes/"+left.ID+"/messages/send", tok.Secret, send); r.ErrorCode() != models.CodeSandboxDisabled {
		t.Fatalf("send with the sandbox off: %s", r.Body)
	}
}

// TestSandboxRefusals: the sandbox name (and names under it) cannot be
// added as a domain; another organization's captured mail is a 404 and
// is not listed; a bad filter is a 422.
func TestSandboxRefusals(t *testing.T) {
	env, _ := sandboxEnv(t, false)
	org := env.Setup()
	dom := sandboxDomain(t, env, org.Owner)
	for _, name := range []string{"sandbox.gent.localhost", "SANDBOX.gent.localhost.", dom.Name, "x." + dom.Name, "other.sandbox.gent.localhost"} {
		r := env.MustStatus(422, "POST", "/v1/domains", org.Owner, models.CreateDomainRequest{Domain: name})
		if !strings.Contains(string(r.Body), `"field":"domain"`) {
			t.Errorf("POST %s: %s", name, r.Body)
		}
	}
	env.MustStatus(422, "POST", "/v1/domains", org.Owner, models.CreateDomainRequest{Domain: "mail.example.com", DomainUse: "sandbox"})

	// A second organization with its own sandbox and captured mail.
	other := env.OtherOrg("Acme")
	var otherDom *models.Domain
	if err := env.Store.Tx(context.Background(), func(tx *gorm.DB) error {
		var err error
		otherDom, err = env.Domains.CreateSandbox(context.Background(), tx, models.Org{ID: other.ID, Name: "Acme"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if otherDom.Name != "acme-2.sandbox.gent.localhost" {
		t.Fatalf("second sandbox named %s", otherDom.Name)
	}
	otherInbox := env.Inbox(other, "agent@"+otherDom.Name)
	otherTok := env.Token(other, otherInbox.ID, []string{models.ScopeEmailSend})
	mine := env.Inbox(org, "agent@"+dom.Name)
	env.StartJobs()
	// Mail between two organizations' sandboxes is captured: it leaves the
	// organization.
	var sent models.SendResponse
	env.MustStatus(202, "POST", "/v1/inboxes/"+otherInbox.ID+"/messages/send", otherTok.Secret, models.SendRequest{
		To: models.AddressList{mine.Address}, Subject: "cross", Text: "t"}).JSON(t, &sent)
	got := waitCaptured(t, env, other.Owner, "", 1)
	env.MustStatus(404, "GET", "/v1/captured/"+got[0].ID, org.Owner, nil)
	env.MustStatus(200, "GET", "/v1/captured/"+got[0].ID, other.Owner, nil)
	var l models.List[models.CapturedMessage]
	env.MustStatus(200, "GET", "/v1/captured?inbox_id="+otherInbox.ID, org.Owner, nil).JSON(t, &l)
	if len(l.Data) != 0 {
		t.Fatalf("another organization's captured mail listed: %+v", l.Data)
	}
	var msgs models.List[models.Message]
	env.MustStatus(200, "GET", "/v1/inboxes/"+mine.ID+"/messages", org.Owner, nil).JSON(t, &msgs)
	if len(msgs.Data) != 0 {
		t.Fatalf("mail crossed organizations: %+v", msgs.Data)
	}
	env.MustStatus(404, "GET", "/v1/captured/cap_nope", org.Owner, nil)
	env.MustStatus(422, "GET", "/v1/captured?to=nobody", org.Owner, nil)
	env.MustStatus(422, "GET", "/v1/captured?cursor=msg_x", org.Owner, nil)
	env.MustStatus(403, "GET", "/v1/captured", env.User(org, models.RoleReviewer), nil)
}

// TestCapturedPages: keyset pages, newest first.
func TestCapturedPages(t *testing.T) {
	env, _ := sandboxEnv(t, false)
	org := env.Setup()
	dom := sandboxDomain(t, env, org.Owner)
	inbox := env.Inbox(org, "agent@"+dom.Name)
	tok := env.Token(org, inbox.ID, []string{models.ScopeEmailSend})
	env.StartJobs()
	for i := 0; i < 5; i++ {
		env.MustStatus(202, "POST", "/v1/inboxes/"+inbox.ID+"/messages/send", tok.Secret, models.SendRequest{
			To: models.AddressList{"a@example.net"}, Subject: "n", Text: "t"})
	}
	all := waitCaptured(t, env, org.Owner, "", 5)
	var seen []string
	cursor := ""
	for {
		var l models.List[models.CapturedMessage]
		env.MustStatus(200, "GET", "/v1/captured?limit=2&cursor="+cursor, org.Owner, nil).JSON(t, &l)
		for _, c := range l.Data {
			seen = append(seen, c.ID)
		}
		if l.NextCursor == "" {
			break
		}
		cursor = l.NextCursor
	}
	if len(seen) != 5 {
		t.Fatalf("pages: %v", seen)
	}
	for i := range seen {
		if seen[i] != all[i].ID || (i > 0 && seen[i] >= seen[i-1]) {
			t.Fatalf("not newest first: %v", seen)
		}
	}
}
