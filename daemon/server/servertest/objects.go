package servertest

import (
	"context"
	"strings"

	"gent/daemon/dnstest"
	"gent/models"
)

// VerifiedDomain creates a domain for org through the domains service and
// marks it verified directly in the store (the DNS verification flow is
// tested in the domains package); it returns the domain's id.
func (e *Env) VerifiedDomain(org Org, name string) string {
	e.T.Helper()
	d, _, err := e.Domains.Create(context.Background(), org.ID, models.CreateDomainRequest{Domain: name})
	if err != nil {
		e.T.Fatalf("create domain: %v", err)
	}
	if err := e.Store.DB.Exec(`UPDATE domains SET status = 'verified', verified_at = now() WHERE id = ?`, d.ID).Error; err != nil {
		e.T.Fatalf("verify domain: %v", err)
	}
	return d.ID
}

// PendingDomain creates a domain for org that is not verified.
func (e *Env) PendingDomain(org Org, name string) string {
	e.T.Helper()
	d, _, err := e.Domains.Create(context.Background(), org.ID, models.CreateDomainRequest{Domain: name})
	if err != nil {
		e.T.Fatalf("create domain: %v", err)
	}
	return d.ID
}

// Inbox creates an inbox through the API (its domain must be verified).
func (e *Env) Inbox(org Org, address string) models.Inbox {
	e.T.Helper()
	var in models.Inbox
	e.MustStatus(201, "POST", "/v1/inboxes", org.Owner, models.CreateInboxRequest{Address: address}).JSON(e.T, &in)
	return in
}

// Token issues an agent token through the API and returns it with its raw
// value. held lists the scopes that require approval.
func (e *Env) Token(org Org, inboxID string, scopes []string, held ...string) models.TokenSecret {
	e.T.Helper()
	var t models.TokenSecret
	e.MustStatus(201, "POST", "/v1/tokens", org.Owner, models.CreateTokenRequest{
		InboxID: inboxID, Label: "test-" + strings.Join(scopes, "-"), Scopes: scopes, RequiresApproval: held,
	}).JSON(e.T, &t)
	return t
}

// AllScopes lists every scope.
func AllScopes() []string {
	var s []string
	for _, i := range models.Scopes {
		s = append(s, i.Scope)
	}
	return s
}

// PublishedDomain adds a domain through the API, publishes its records in
// the loopback DNS server (which the daemon's dns.resolver must point at)
// and verifies it: a domain verified the way a real one is. It returns
// the domain's id.
func (e *Env) PublishedDomain(org Org, name string, dns *dnstest.Server) string {
	e.T.Helper()
	var d models.Domain
	e.MustStatus(201, "POST", "/v1/domains", org.Owner, models.CreateDomainRequest{Domain: name}).JSON(e.T, &d)
	zone := e.MustStatus(200, "GET", "/v1/domains/"+d.ID+"/zone", org.Owner, nil)
	if err := dns.AddZone(string(zone.Body)); err != nil {
		e.T.Fatalf("publish zone: %v", err)
	}
	e.MustStatus(200, "POST", "/v1/domains/"+d.ID+"/verify", org.Owner, nil).JSON(e.T, &d)
	if d.Status != "verified" {
		e.T.Fatalf("domain %s not verified: %+v", name, d.Records)
	}
	return d.ID
}
