package client_test

import (
	"context"
	"testing"
	"time"

	"gent/daemon/server/servertest"
	"gent/models"
	"gent/tui/client"
)

func TestCapsAgainstDaemon(t *testing.T) {
	env := servertest.New(t)
	org := env.Setup()
	env.VerifiedDomain(org, "mail.example.com")
	in := env.Inbox(org, "agent@mail.example.com")
	env.Inbox(org, "other@mail.example.com")
	env.Deliver(in, "From: a@example.org\r\nSubject: hi\r\n\r\nhello\r\n")
	url := serve(t, env)
	ctx := context.Background()
	c, err := client.New(url, client.WithToken(client.Secret(org.Owner)))
	if err != nil {
		t.Fatal(err)
	}

	gb := 0.5
	v, err := c.SetMailboxCap(ctx, models.SetCapRequest{InboxID: in.ID, LimitGB: &gb, Mode: models.CapEnforce})
	if err != nil || v.Cap == nil || v.Cap.LimitBytes != 500_000_000 || len(v.Alerts) != 2 || v.MessageCount != 1 {
		t.Fatalf("set %+v %v", v, err)
	}
	_, err = c.SetMailboxCap(ctx, models.SetCapRequest{InboxID: in.ID, LimitGB: &gb, Mode: "soft"})
	apiErr(t, err, 422, models.CodeValidation, "mode")

	one, err := c.MailboxCap(ctx, in.ID)
	if err != nil || one.Cap == nil || one.Cap.Mode != models.CapEnforce || one.UsedBytes == 0 {
		t.Fatalf("get %+v %v", one, err)
	}
	page, err := c.MailboxCaps(ctx, client.Page{Limit: 1})
	if err != nil || len(page.Data) != 1 || page.NextCursor == "" {
		t.Fatalf("page %+v %v", page, err)
	}
	all, err := c.AllMailboxCaps(ctx)
	if err != nil || len(all) != 2 {
		t.Fatalf("all %d %v", len(all), err)
	}

	if _, err := env.Caps.Sample(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	rep, err := c.Usage(ctx, client.UsageQuery{From: time.Now().Add(-2 * time.Hour), To: time.Now().Add(time.Hour), InboxID: in.ID})
	if err != nil || len(rep.Data) != 1 || rep.Data[0].PeakBytes != one.UsedBytes {
		t.Fatalf("usage %+v %v", rep, err)
	}
	_, err = c.Usage(ctx, client.UsageQuery{From: time.Now(), To: time.Now().Add(-time.Hour)})
	apiErr(t, err, 422, models.CodeValidation, "from")

	ver, err := c.VerifyUsage(ctx)
	if err != nil || ver.Inboxes != 2 || len(ver.Drift) != 0 {
		t.Fatalf("verify %+v %v", ver, err)
	}

	if err := c.RemoveMailboxCap(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	if one, err = c.MailboxCap(ctx, in.ID); err != nil || one.Cap != nil {
		t.Fatalf("after remove %+v %v", one, err)
	}
	_, err = c.MailboxCap(ctx, "inb_01jd7x3k9q8m2n4p6r8t0v2w4y")
	apiErr(t, err, 404, models.CodeNotFound, "")
}
