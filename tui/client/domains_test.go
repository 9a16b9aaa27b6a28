package client_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"gent/daemon/config"
	"gent/daemon/dnstest"
	"gent/daemon/server/servertest"
	"gent/models"
	"gent/tui/client"
)

func TestDomainsInboxesTokensAgainstDaemon(t *testing.T) {
	dns := dnstest.New(t)
	env := servertest.New(t, func(c *config.Config) {
		c.Hostname = "mx.gent.test"
		c.DNS.Resolver, c.DNS.Timeout = dns.Addr, config.Duration(500*time.Millisecond)
		c.Sandbox.Domain = "" // the sandbox is in sandbox_test.go
	})
	url := serve(t, env)
	org := env.Setup()
	ctx := context.Background()
	c, _ := client.New(url, client.WithToken(client.Secret(org.Owner)))

	d, created, err := c.CreateDomain(ctx, models.CreateDomainRequest{Domain: "mail.example.com", DomainUse: models.DomainUseDedicated})
	if err != nil || !created || d.DMARCPolicy != models.DMARCReject || len(d.Records) == 0 {
		t.Fatalf("create domain %+v %v %v", d, created, err)
	}
	again, created, err := c.CreateDomain(ctx, models.CreateDomainRequest{Domain: "mail.example.com"})
	if err != nil || created || again.ID != d.ID || again.DomainUse != models.DomainUseDedicated {
		t.Fatalf("create again %+v %v %v", again, created, err)
	}
	_, _, err = c.CreateDomain(ctx, models.CreateDomainRequest{Domain: "not a domain"})
	apiErr(t, err, 422, models.CodeValidation, "domain")

	zone, err := c.DomainZone(ctx, d.ID)
	if err != nil || !strings.Contains(zone, "_dmarc.mail.example.com.") || !strings.Contains(zone, "v=DMARC1; p=reject") {
		t.Fatalf("zone %q %v", zone, err)
	}
	_, err = c.DomainZone(ctx, "dom_nope")
	apiErr(t, err, 404, models.CodeNotFound, "")
	if err := dns.AddZone(zone); err != nil {
		t.Fatal(err)
	}
	v, err := c.VerifyDomain(ctx, d.ID)
	if err != nil || v.Status != models.DomainVerified || v.LastCheckedAt == nil {
		t.Fatalf("verify %+v %v", v, err)
	}
	got, err := c.Domain(ctx, d.ID)
	if err != nil || got.Status != models.DomainVerified {
		t.Fatalf("get %+v %v", got, err)
	}
	all, err := c.AllDomains(ctx)
	if err != nil || len(all) != 1 || all[0].ID != d.ID {
		t.Fatalf("all domains %+v %v", all, err)
	}

	in, err := c.CreateInbox(ctx, models.CreateInboxRequest{Address: "Agent@mail.example.com", DisplayName: "Agent"})
	if err != nil || in.Address != "agent@mail.example.com" {
		t.Fatalf("create inbox %+v %v", in, err)
	}
	_, err = c.CreateInbox(ctx, models.CreateInboxRequest{Address: "agent@other.example.com"})
	apiErr(t, err, 422, models.CodeValidation, "address")
	ins, err := c.AllInboxes(ctx)
	if err != nil || len(ins) != 1 {
		t.Fatalf("inboxes %+v %v", ins, err)
	}
	err = c.DeleteDomain(ctx, d.ID)
	apiErr(t, err, 409, models.CodeConflict, "")

	scopes, err := c.Scopes(ctx)
	if err != nil || len(scopes) != len(models.Scopes) || !slices.ContainsFunc(scopes, func(s models.ScopeInfo) bool { return s.Holdable }) {
		t.Fatalf("scopes %+v %v", scopes, err)
	}
	tok, err := c.CreateToken(ctx, models.CreateTokenRequest{InboxID: in.ID, Label: "supervised", Scopes: []string{"email:read", "email:send"}, RequiresApproval: []string{"email:send"}})
	if err != nil || !strings.HasPrefix(tok.Secret, "gent_") || !slices.Equal(tok.RequiresApproval, []string{"email:send"}) {
		t.Fatalf("create token %+v %v", tok, err)
	}
	_, err = c.CreateToken(ctx, models.CreateTokenRequest{InboxID: in.ID, Label: "x", Scopes: []string{"email:fly"}})
	apiErr(t, err, 422, models.CodeValidation, "scopes[0]")
	rot, err := c.RotateToken(ctx, tok.ID)
	if err != nil || rot.Secret == "" || rot.Secret == tok.Secret || rot.ID != tok.ID {
		t.Fatalf("rotate %+v %v", rot, err)
	}
	toks, err := c.AllTokens(ctx, in.ID)
	if err != nil || len(toks) != 1 || toks[0].Status != "active" {
		t.Fatalf("tokens %+v %v", toks, err)
	}
	if toks, err := c.AllTokens(ctx, "inb_other"); err != nil || len(toks) != 0 {
		t.Fatalf("tokens of another inbox %+v %v", toks, err)
	}
	if err := c.RevokeToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	_, err = c.RotateToken(ctx, tok.ID)
	apiErr(t, err, 409, models.CodeConflict, "")

	if err := c.DeleteInbox(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	err = c.DeleteInbox(ctx, in.ID)
	apiErr(t, err, 404, models.CodeNotFound, "")
}
