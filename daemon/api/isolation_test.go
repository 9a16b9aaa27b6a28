package api_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"gent/daemon/config"
	"gent/daemon/dnstest"
	"gent/daemon/server/servertest"
	"gent/models"
)

// Access classes, written independently of the policies in routes.go so
// that the two check each other.
const (
	pub       = "public"    // no credential needed
	anyUser   = "user"      // any session
	reviewers = "reviewers" // owner, admin, reviewer sessions
	admins    = "admins"    // owner and admin sessions
	owners    = "owners"    // owner sessions only
	tokenOnly = "token"     // agent tokens only (any scope)
	agentOnly = "agent"     // agent tokens only; any other credential is a 401 (MCP)
)

// inboxClass is an inbox route: owner/admin sessions of the inbox's
// organization, or the inbox's own token holding scope.
func inboxClass(scope string) string { return "inbox:" + scope }

// queueClass is an organization route that agent tokens holding scope may
// read too, limited to their own inbox's objects (the outbound queue):
// reviewers' sessions, or a token with scope; another inbox's object is a
// 404.
func queueClass(scope string) string { return "queue:" + scope }

// routeAccess lists every route. A route missing here fails the test: every
// new route joins the isolation matrix in the same commit.
var routeAccess = map[string]string{
	"GET /healthz":         pub,
	"GET /readyz":          pub,
	"GET /v1/auth/status":  pub,
	"POST /v1/auth/setup":  pub,
	"POST /v1/auth/login":  pub,
	"POST /v1/auth/logout": anyUser,
	"GET /v1/auth/me":      anyUser,
	"GET /v1/users":        admins,
	"POST /v1/users":       admins,
	// Users: the fixture user is a reviewer other than the caller. Any
	// user may delete itself (users_test.go); another's account needs
	// owner or admin, hence "admins" here.
	"PATCH /v1/users/:id":               admins,
	"DELETE /v1/users/:id":              admins,
	"POST /v1/users/:id/password-reset": admins,
	"POST /v1/auth/password":            anyUser,
	"POST /v1/auth/password-reset":      pub,
	"GET /v1/audit":                     reviewers,

	"POST /v1/inboxes":       admins,
	"GET /v1/inboxes":        admins,
	"GET /v1/inboxes/:id":    admins,
	"PATCH /v1/inboxes/:id":  admins,
	"DELETE /v1/inboxes/:id": admins,

	"GET /v1/inboxes/:id/policy": reviewers,
	"PUT /v1/inboxes/:id/policy": admins,
	"GET /v1/policy":             reviewers,
	"PUT /v1/policy":             admins,

	"GET /v1/scopes":             anyUser,
	"POST /v1/tokens":            admins,
	"GET /v1/tokens":             admins,
	"GET /v1/tokens/:id":         admins,
	"POST /v1/tokens/:id/rotate": admins,
	"DELETE /v1/tokens/:id":      admins,
	"GET /v1/token":              tokenOnly,

	"POST /v1/domains":                                           admins,
	"GET /v1/domains":                                            admins,
	"GET /v1/domains/:id":                                        admins,
	"POST /v1/domains/:id/verify":                                admins,
	"GET /v1/domains/:id/zone":                                   admins,
	"DELETE /v1/domains/:id":                                     admins,
	"PATCH /v1/domains/:id":                                      admins,
	"GET /v1/captured":                                           admins,
	"GET /v1/captured/:id":                                       admins,
	"GET /v1/inboxes/:inbox_id/messages":                         inboxClass(models.ScopeEmailRead),
	"GET /v1/inboxes/:inbox_id/messages/:id":                     inboxClass(models.ScopeEmailRead),
	"POST /v1/inboxes/:inbox_id/messages/send":                   inboxClass(models.ScopeEmailSend),
	"POST /v1/inboxes/:inbox_id/messages/:id/reply":              inboxClass(models.ScopeEmailSend),
	"POST /v1/inboxes/:inbox_id/messages/:id/reply-all":          inboxClass(models.ScopeEmailSend),
	"POST /v1/inboxes/:inbox_id/messages/:id/forward":            inboxClass(models.ScopeEmailSend),
	"GET /v1/inboxes/:inbox_id/messages/:id/delivery":            inboxClass(models.ScopeEmailRead),
	"GET /v1/inboxes/:inbox_id/messages/:id/lifecycle":           inboxClass(models.ScopeEmailRead),
	"GET /v1/inboxes/:inbox_id/suppressions":                     inboxClass(models.ScopeEmailRead),
	"GET /v1/inboxes/:inbox_id/drafts":                           inboxClass(models.ScopeEmailRead),
	"POST /v1/inboxes/:inbox_id/drafts":                          inboxClass(models.ScopeEmailWrite),
	"GET /v1/inboxes/:inbox_id/drafts/:id":                       inboxClass(models.ScopeEmailRead),
	"PATCH /v1/inboxes/:inbox_id/drafts/:id":                     inboxClass(models.ScopeEmailWrite),
	"DELETE /v1/inboxes/:inbox_id/drafts/:id":                    inboxClass(models.ScopeEmailWrite),
	"POST /v1/inboxes/:inbox_id/drafts/:id/send":                 inboxClass(models.ScopeEmailSend),
	"DELETE /v1/inboxes/:inbox_id/suppressions/:address":         admins,
	"GET /v1/quarantine":                                         reviewers,
	"GET /v1/quarantine/:id":                                     reviewers,
	"POST /v1/quarantine/:id/release":                            reviewers,
	"POST /v1/quarantine/:id/delete":                             reviewers,
	"GET /v1/deliveries":                                         queueClass(models.ScopeEmailRead),
	"GET /v1/deliveries/:id":                                     queueClass(models.ScopeEmailRead),
	"POST /v1/deliveries/:id/retry":                              admins,
	"POST /v1/deliveries/:id/cancel":                             admins,
	"POST /v1/delivery-pauses":                                   admins,
	"GET /v1/delivery-pauses":                                    reviewers,
	"DELETE /v1/delivery-pauses/:id":                             admins,
	"GET /v1/approvals":                                          reviewers,
	"GET /v1/approvals/:id":                                      reviewers,
	"POST /v1/approvals/:id/approve":                             reviewers,
	"POST /v1/approvals/:id/reject":                              reviewers,
	"GET /v1/inboxes/:inbox_id/messages/:id/raw":                 inboxClass(models.ScopeEmailRead),
	"GET /v1/inboxes/:inbox_id/messages/:id/attachments/:att_id": inboxClass(models.ScopeFilesRead),
	"PATCH /v1/inboxes/:inbox_id/messages/:id":                   inboxClass(models.ScopeEmailWrite),
	"DELETE /v1/inboxes/:inbox_id/messages/:id":                  inboxClass(models.ScopeEmailWrite),
	"GET /v1/inboxes/:inbox_id/threads":                          inboxClass(models.ScopeEmailRead),
	"GET /v1/inboxes/:inbox_id/threads/:id":                      inboxClass(models.ScopeEmailRead),
	"GET /v1/inboxes/:inbox_id/contacts":                         inboxClass(models.ScopeContactsRead),
	"POST /v1/inboxes/:inbox_id/contacts":                        inboxClass(models.ScopeContactsWrite),
	"DELETE /v1/inboxes/:inbox_id/contacts/:id":                  inboxClass(models.ScopeContactsWrite),
	"GET /v1/inboxes/:inbox_id/senders":                          admins,
	"POST /v1/inboxes/:inbox_id/senders":                         admins,
	"DELETE /v1/inboxes/:inbox_id/senders/:id":                   admins,

	"GET /v1/events":                   reviewers,
	"GET /v1/inboxes/:inbox_id/events": inboxClass(models.ScopeEmailRead),
	"POST /v1/webhooks":                admins,
	"GET /v1/webhooks":                 admins,
	"GET /v1/webhooks/:id":             admins,
	"DELETE /v1/webhooks/:id":          admins,
	"GET /v1/webhooks/:id/deliveries":  admins,

	"PUT /v1/billing/caps/mailbox":              admins,
	"GET /v1/billing/caps/mailbox":              admins,
	"GET /v1/billing/caps/mailbox/:inbox_id":    admins,
	"DELETE /v1/billing/caps/mailbox/:inbox_id": admins,
	"GET /v1/billing/usage":                     admins,
	"GET /v1/billing/usage/verify":              admins,

	"POST /mcp":   agentOnly,
	"GET /mcp":    agentOnly,
	"DELETE /mcp": agentOnly,
}

// fixtureMessage has one attachment, for the :att_id routes.
const fixtureMessage = "From: Ada <ada@example.org>\r\nTo: agent@mail.example.com\r\nSubject: fixture\r\n" +
	"Message-ID: <%d@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
	"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b\r\nContent-Type: application/pdf\r\n" +
	"Content-Disposition: attachment; filename=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n"

// credential kinds of the matrix.
type cred struct {
	name string
	// make returns a fresh bearer value ("" for none).
	make func() string
	role string // session role, or "" for non-sessions
	// token kinds
	token    bool
	scopes   []string
	ownInbox bool
	otherOrg bool
	dead     bool // invalid, expired or revoked
}

// fixture holds the objects path parameters point at. Parameters are
// keyed "<resource>:<param>" (e.g. "tokens:id"), or by name alone for
// ":inbox_id", which is always the fixture's own inbox (the one the agent
// tokens are bound to). make builds a fresh object for routes that change
// or destroy what they act on.
type fixture struct {
	env    *servertest.Env
	org    servertest.Org
	inbox  models.Inbox // the inbox the agent credentials belong to
	other  models.Inbox // another inbox of the same organization
	params map[string]func() string
	cached map[string]string
}

func newFixture(t *testing.T) *fixture {
	// DNS lookups (domain verification) go to a loopback server that
	// knows nothing, never to the network.
	dnsSrv := dnstest.New(t)
	env := servertest.New(t, func(c *config.Config) {
		c.DNS.Resolver, c.DNS.Timeout = dnsSrv.Addr, config.Duration(500*time.Millisecond)
	})
	org := env.Setup()
	env.VerifiedDomain(org, "mail.example.com")
	f := &fixture{env: env, org: org, params: map[string]func() string{}, cached: map[string]string{}}
	f.inbox = env.Inbox(org, "agent@mail.example.com")
	f.other = env.Inbox(org, "other@mail.example.com")
	n := 0
	f.params["inbox_id"] = func() string { return f.inbox.ID }
	f.params["inboxes:id"] = func() string {
		n++
		return env.Inbox(org, fmt.Sprintf("fixture%d@mail.example.com", n)).ID
	}
	f.params["users:id"] = func() string {
		n++
		var u models.User
		env.MustStatus(201, "POST", "/v1/users", org.Owner, models.CreateUserRequest{
			Email: fmt.Sprintf("fixture%d@acme.test", n), Password: "correct horse battery", Role: models.RoleReviewer}).JSON(t, &u)
		return u.ID
	}
	f.params["tokens:id"] = func() string {
		return env.Token(org, f.inbox.ID, []string{models.ScopeEmailRead}).ID
	}
	f.params["domains:id"] = func() string {
		n++
		var dom models.Domain
		env.MustStatus(201, "POST", "/v1/domains", org.Owner, models.CreateDomainRequest{Domain: fmt.Sprintf("iso%d.example.com", n)}).JSON(t, &dom)
		return dom.ID
	}
	// A fresh message per call (routes may delete it); :att_id is the
	// attachment of the message made last, which precedes it in the path.
	var lastMsg string
	f.params["messages:id"] = func() string {
		n++
		lastMsg = env.Deliver(f.inbox, fmt.Sprintf(fixtureMessage, n)).ID
		return lastMsg
	}
	f.params["quarantine:id"] = func() string {
		n++
		id := env.Deliver(f.inbox, fmt.Sprintf(fixtureMessage, n)).ID
		if err := env.Store.DB.Exec(`UPDATE messages SET quarantined = true WHERE id = ?`, id).Error; err != nil {
			env.T.Fatalf("fixture quarantined message: %v", err)
		}
		return id
	}
	f.params["attachments:att_id"] = func() string {
		var id string
		if err := env.Store.DB.Raw(`SELECT id FROM attachments WHERE message_id = ?`, lastMsg).Scan(&id).Error; err != nil || id == "" {
			env.T.Fatalf("fixture attachment: %v", err)
		}
		return id
	}
	f.params["threads:id"] = func() string {
		n++
		return env.Deliver(f.inbox, fmt.Sprintf(fixtureMessage, n)).ThreadID
	}
	f.params["contacts:id"] = func() string {
		n++
		c, _, err := env.Mail.CreateContact(context.Background(), org.ID, f.inbox.ID, models.CreateContactRequest{Address: fmt.Sprintf("c%d@example.org", n)})
		if err != nil {
			env.T.Fatal(err)
		}
		return c.ID
	}
	f.params["senders:id"] = func() string {
		n++
		r, err := env.Mail.CreateSenderRule(context.Background(), org.ID, f.inbox.ID, models.CreateSenderRuleRequest{Pattern: fmt.Sprintf("s%d.example.org", n), Kind: models.SenderBlock})
		if err != nil {
			env.T.Fatal(err)
		}
		return r.ID
	}
	f.params["drafts:id"] = func() string {
		d, err := env.Delivery.CreateDraft(context.Background(), org.ID, f.inbox.ID, models.DraftRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return d.ID
	}
	f.params["suppressions:address"] = func() string {
		n++
		addr := fmt.Sprintf("bounced%d@example.net", n)
		if err := env.Store.DB.Exec(`INSERT INTO suppressions (inbox_id, address, org_id, reason) VALUES (?, ?, ?, 'fixture')`,
			f.inbox.ID, addr, org.ID).Error; err != nil {
			t.Fatal(err)
		}
		return addr
	}
	supervised := env.Token(org, f.inbox.ID, []string{models.ScopeEmailRead, models.ScopeEmailSend}, models.ScopeEmailSend)
	f.params["approvals:id"] = func() string {
		var r models.SendResponse
		env.MustStatus(202, "POST", "/v1/inboxes/"+f.inbox.ID+"/messages/send", supervised.Secret, models.SendRequest{
			To: models.AddressList{"someone@example.net"}, Subject: "held", Text: "hello"}).JSON(t, &r)
		return r.ApprovalID
	}
	// A captured message of the organization (what a sandbox inbox's
	// delivery job stores; the capture itself is tested in sandbox_test.go).
	f.params["captured:id"] = func() string {
		id := models.NewID(models.PrefixCaptured)
		n++
		if err := env.Store.DB.Exec(`INSERT INTO captured_messages (id, org_id, inbox_id, message_id, domain, envelope_from, recipients, raw, size_bytes)
			VALUES (?, ?, ?, ?, 'example.net', ?, ARRAY['someone@example.net'], convert_to('Subject: x', 'UTF8'), 10)`,
			id, org.ID, f.inbox.ID, fmt.Sprintf("msg_fixture%d", n), f.inbox.Address).Error; err != nil {
			t.Fatal(err)
		}
		return id
	}
	// A delivery of the agent's inbox (queued: the fixture runs no jobs).
	sender := env.Token(org, f.inbox.ID, []string{models.ScopeEmailSend})
	f.params["deliveries:id"] = func() string {
		var r models.SendResponse
		env.MustStatus(202, "POST", "/v1/inboxes/"+f.inbox.ID+"/messages/send", sender.Secret, models.SendRequest{
			To: models.AddressList{"someone@example.net"}, Subject: "queued", Text: "hello"}).JSON(t, &r)
		var id string
		if err := env.Store.DB.Raw(`SELECT id FROM delivery_recipients WHERE outbound_id = ?`, r.ID).Scan(&id).Error; err != nil || id == "" {
			t.Fatalf("fixture delivery: %v", err)
		}
		return id
	}
	f.params["delivery-pauses:id"] = func() string {
		n++
		p, _, err := env.Delivery.CreatePause(context.Background(), org.ID, "fixture", models.DeliveryPauseRequest{Domain: fmt.Sprintf("paused%d.example.net", n)})
		if err != nil {
			t.Fatal(err)
		}
		return p.ID
	}
	f.params["webhooks:id"] = func() string {
		var wh models.WebhookCreated
		env.MustStatus(201, "POST", "/v1/webhooks", org.Owner, models.CreateWebhookRequest{
			URL: "https://127.0.0.1:9/hook", EventTypes: []string{models.EventMessageReceived}}).JSON(t, &wh)
		return wh.ID
	}
	return f
}

// path fills a route's parameters from "<collection>:<param>" (for
// example "domains:id" for /v1/domains/:id), then "<param>". fresh asks for
// new objects (for routes that change or destroy what they act on);
// otherwise one object per parameter is reused.
func (f *fixture) path(p string, fresh bool) string {
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		if !strings.HasPrefix(seg, ":") {
			continue
		}
		name := seg[1:]
		key := name
		mk, ok := f.params[name]
		if !ok && i > 0 {
			key = segs[i-1] + ":" + name
			mk, ok = f.params[key]
		}
		if !ok {
			f.env.T.Fatalf("isolation fixture has no object for %s in %s", seg, p)
		}
		if v, ok := f.cached[key]; ok && !fresh {
			segs[i] = v
			continue
		}
		segs[i] = mk()
		if !fresh {
			f.cached[key] = segs[i]
		}
	}
	return strings.Join(segs, "/")
}

func (f *fixture) creds() []cred {
	e, org := f.env, f.org
	other := e.OtherOrg("Other")
	expired := func() string {
		s := e.User(org, models.RoleAdmin)
		if err := e.Store.DB.Exec(`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE token_hash = sha256(?::bytea)`, s).Error; err != nil {
			e.T.Fatal(err)
		}
		return s
	}
	revoked := func() string {
		s := e.User(org, models.RoleAdmin)
		e.MustStatus(204, "POST", "/v1/auth/logout", s, nil)
		return s
	}
	tok := func(inboxID string, scopes ...string) func() string {
		return func() string { return e.Token(org, inboxID, scopes).Secret }
	}
	all := servertest.AllScopes()
	otherDomain := "mail." + strings.ToLower(other.ID[4:12]) + ".test"
	e.VerifiedDomain(other, otherDomain)
	otherInbox := e.Inbox(other, "agent@"+otherDomain)
	revokedTok := func() string {
		t := e.Token(org, f.inbox.ID, all)
		e.MustStatus(204, "DELETE", "/v1/tokens/"+t.ID, org.Owner, nil)
		return t.Secret
	}
	expiredTok := func() string {
		t := e.Token(org, f.inbox.ID, all)
		if err := e.Store.DB.Exec(`UPDATE tokens SET expires_at = now() - interval '1 second' WHERE id = ?`, t.ID).Error; err != nil {
			e.T.Fatal(err)
		}
		return t.Secret
	}
	badChecksum := func() string {
		raw := e.Token(org, f.inbox.ID, all).Secret
		last := raw[len(raw)-1]
		if last == 'A' {
			return raw[:len(raw)-1] + "B"
		}
		return raw[:len(raw)-1] + "A"
	}
	creds := []cred{
		{name: "agent, all scopes", make: tok(f.inbox.ID, all...), token: true, scopes: all, ownInbox: true},
		{name: "agent, contacts:read only", make: tok(f.inbox.ID, models.ScopeContactsRead), token: true, scopes: []string{models.ScopeContactsRead}, ownInbox: true},
		{name: "agent, email:read only", make: tok(f.inbox.ID, models.ScopeEmailRead), token: true, scopes: []string{models.ScopeEmailRead}, ownInbox: true},
		{name: "agent of another inbox", make: tok(f.other.ID, all...), token: true, scopes: all},
		{name: "agent of another org", make: func() string { return e.Token(other, otherInbox.ID, all).Secret }, token: true, scopes: all, otherOrg: true},
		{name: "revoked token", make: revokedTok, dead: true},
		{name: "expired token", make: expiredTok, dead: true},
		{name: "token with a bad checksum", make: badChecksum, dead: true},
	}
	return append(creds, []cred{
		{name: "anonymous", make: func() string { return "" }, dead: true},
		{name: "malformed", make: func() string { return "gses_not-a-session" }, dead: true},
		{name: "expired session", make: expired, dead: true},
		{name: "revoked session", make: revoked, dead: true},
		{name: "owner", make: func() string { return e.Login(org.OwnerEmail) }, role: models.RoleOwner},
		{name: "admin", make: func() string { return e.User(org, models.RoleAdmin) }, role: models.RoleAdmin},
		{name: "reviewer", make: func() string { return e.User(org, models.RoleReviewer) }, role: models.RoleReviewer},
		{name: "other org owner", make: func() string { return e.Login(other.OwnerEmail) }, role: models.RoleOwner, otherOrg: true},
	}...)
}

// expect returns the status the matrix demands, or 0 for "allowed": any
// status but 401, 403 and (for objects of the organization) 404.
func expect(class string, c cred, hasObject bool) int {
	if class == pub {
		return 0
	}
	if c.dead {
		return 401
	}
	if class == agentOnly {
		if c.role != "" {
			return 401
		}
		return 0
	}
	allowedRoles := map[string][]string{
		anyUser:   {models.RoleOwner, models.RoleAdmin, models.RoleReviewer},
		reviewers: {models.RoleOwner, models.RoleAdmin, models.RoleReviewer},
		admins:    {models.RoleOwner, models.RoleAdmin},
		owners:    {models.RoleOwner},
	}
	if strings.HasPrefix(class, "inbox:") {
		allowedRoles[class] = []string{models.RoleOwner, models.RoleAdmin}
	}
	if strings.HasPrefix(class, "queue:") {
		allowedRoles[class] = allowedRoles[reviewers]
	}
	if c.role != "" {
		roles, ok := allowedRoles[class]
		if !ok {
			return 403 // token-only route
		}
		for _, r := range roles {
			if r == c.role {
				if c.otherOrg && hasObject {
					return 404
				}
				return 0
			}
		}
		return 403
	}
	// Agent tokens.
	if scope, ok := strings.CutPrefix(class, "queue:"); ok {
		if !slices.Contains(c.scopes, scope) {
			return 403
		}
		if hasObject && !c.ownInbox {
			return 404
		}
		return 0
	}
	if !strings.HasPrefix(class, "inbox:") {
		if class == tokenOnly {
			return 0
		}
		return 403
	}
	if !c.ownInbox {
		return 404
	}
	scope := strings.TrimPrefix(class, "inbox:")
	if scope != "" {
		for _, s := range c.scopes {
			if s == scope {
				return 0
			}
		}
		return 403
	}
	return 0
}

func TestIsolationMatrix(t *testing.T) {
	f := newFixture(t)
	creds := f.creds()
	bearers := make([]string, len(creds))
	for i, c := range creds {
		bearers[i] = c.make()
	}
	routes := f.env.App.GetRoutes(true)
	seen := map[string]bool{}
	for _, r := range routes {
		if r.Method == "HEAD" {
			continue
		}
		key := r.Method + " " + r.Path
		seen[key] = true
		class, ok := routeAccess[key]
		if !ok {
			t.Errorf("route %s has no entry in the isolation matrix (routeAccess)", key)
			continue
		}
		hasObject := strings.Contains(r.Path, ":")
		for i, c := range creds {
			want := expect(class, c, hasObject)
			bearer := bearers[i]
			if r.Method != "GET" {
				bearer = c.make() // the route may end the credential
			}
			body := any(nil)
			if r.Method != "GET" && r.Method != "DELETE" {
				body = "{}"
			}
			resp := f.env.Do(r.Method, f.path(r.Path, r.Method != "GET"), bearer, body)
			desc := fmt.Sprintf("%s as %s", key, c.name)
			switch {
			case want == 0 && (resp.Status == 401 || resp.Status == 403 || (hasObject && resp.Status == 404)):
				t.Errorf("%s: want access, got %d %s", desc, resp.Status, resp.Body)
			case want != 0 && resp.Status != want:
				t.Errorf("%s: want %d, got %d %s", desc, want, resp.Status, resp.Body)
			}
		}
	}
	for key := range routeAccess {
		if !seen[key] {
			t.Errorf("routeAccess lists %s, which the app does not serve", key)
		}
	}
}
