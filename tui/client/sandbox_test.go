package client_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"gent/daemon/server/servertest"
	"gent/models"
	"gent/tui/client"
)

// The sandbox calls against a real daemon: the domain made at setup,
// captured mail listed and read with its raw bytes, the PATCH that
// disables the sandbox.
func TestSandboxAgainstDaemon(t *testing.T) {
	env := servertest.New(t)
	url := serve(t, env)
	org := env.Setup()
	ctx := context.Background()
	c, _ := client.New(url, client.WithToken(client.Secret(org.Owner)))
	ds, err := c.AllDomains(ctx)
	if err != nil || len(ds) != 1 || !ds[0].Sandbox {
		t.Fatalf("domains %+v %v", ds, err)
	}
	in := env.Inbox(org, "agent@"+ds[0].Name)
	tok := env.Token(org, in.ID, []string{models.ScopeEmailSend})
	env.StartJobs()
	env.MustStatus(202, "POST", "/v1/inboxes/"+in.ID+"/messages/send", tok.Secret, models.SendRequest{
		To: models.AddressList{"ada@example.com"}, Subject: "hello", Text: "t"})
	var l models.List[models.CapturedMessage]
	for deadline := time.Now().Add(15 * time.Second); len(l.Data) == 0; time.Sleep(50 * time.Millisecond) {
		if l, err = c.Captured(ctx, client.CapturedQuery{InboxID: in.ID, To: "ada@example.com"}); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("nothing captured")
		}
	}
	m, err := c.CapturedMessage(ctx, l.Data[0].ID)
	if err != nil || m.Subject != "hello" || !strings.HasPrefix(m.Raw, "DKIM-Signature:") {
		t.Fatalf("captured %+v %v", m, err)
	}
	_, err = c.CapturedMessage(ctx, "cap_01m8trasp1frepm68dbqap2ajp")
	apiErr(t, err, 404, models.CodeNotFound, "")
	off := true
	d, err := c.UpdateDomain(ctx, ds[0].ID, models.UpdateDomainRequest{Disabled: &off})
	if err != nil || !d.Disabled {
		t.Fatalf("disable %+v %v", d, err)
	}
}
