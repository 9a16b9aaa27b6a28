package policy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/valyala/fasthttp"
	"gorm.io/gorm"

	"gent/daemon/mail"
	"gent/daemon/server"
	"gent/daemon/server/servertest"
	"gent/daemon/store/storetest"
	"gent/models"
)

// BenchmarkSendPolicy is what the sending policy costs a send: the same
// REST send (and reply) through the whole app in process, with the default
// policy — read with the inbox in the send's one read, no statement of its
// own — and with every rule on (first contact, allow and block lists, an
// hourly and a daily budget, the loop guard, an organization block list),
// the recipient known so that the send is queued. stmts/op counts the
// statements the send sends through GORM (the River job insert, which goes
// through pgx inside the same transaction, is not counted); the difference
// of two cases is the policy's. Each send goes to a recipient the inbox has
// received mail from; the budget's windows cover every send of the run.
func BenchmarkSendPolicy(b *testing.B) {
	const every = `{"first_contact": "hold", "recipients": {"allow": ["example.net"], "block": ["bad.example.net"]},
		"budget": {"per_hour": 1000000000, "per_day": 1000000000}, "loop_guard": true}`
	for _, bc := range []struct {
		name, policy string
		reply        bool
	}{
		{"send/default", `{}`, false},
		{"send/every-rule", every, false},
		{"reply/default", `{}`, true},
		{"reply/every-rule", every, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := servertest.Config(b)
			cfg.Outbound.RatePerMinute = 0
			d, err := server.New(cfg, storetest.NewDB(b), slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				b.Fatal(err)
			}
			d.Mail.StartCommitter(mail.CommitOptions{})
			b.Cleanup(d.Mail.StopCommitter)
			h := d.App.Handler()
			var ctx fasthttp.RequestCtx
			do := func(method, path, cred, body string, want int, v any) {
				b.Helper()
				ctx.Request.Reset()
				ctx.Response.Reset()
				ctx.Request.Header.SetMethod(method)
				ctx.Request.SetRequestURI(path)
				if cred != "" {
					ctx.Request.Header.Set("Authorization", "Bearer "+cred)
				}
				if body != "" {
					ctx.Request.Header.SetContentType("application/json")
					ctx.Request.SetBodyString(body)
				}
				h(&ctx)
				if ctx.Response.StatusCode() != want {
					b.Fatalf("%s %s: %d %s", method, path, ctx.Response.StatusCode(), ctx.Response.Body())
				}
				if v != nil {
					if err := json.Unmarshal(ctx.Response.Body(), v); err != nil {
						b.Fatal(err)
					}
				}
			}
			bg := context.Background()
			code, err := d.Auth.PrepareSetup(bg)
			if err != nil {
				b.Fatal(err)
			}
			var sess models.SessionResponse
			do("POST", "/v1/auth/setup", "", fmt.Sprintf(`{"setup_code": %q, "org_name": "Bench", "email": "owner@bench.test", "password": "correct horse battery"}`, code), 201, &sess)
			dom, _, err := d.Domains.Create(bg, sess.Org.ID, models.CreateDomainRequest{Domain: "mail.example.com"})
			if err != nil {
				b.Fatal(err)
			}
			if err := d.Store.DB.Exec(`UPDATE domains SET status = 'verified', verified_at = now() WHERE id = ?`, dom.ID).Error; err != nil {
				b.Fatal(err)
			}
			var in models.Inbox
			do("POST", "/v1/inboxes", sess.Token, `{"address": "agent@mail.example.com"}`, 201, &in)
			var tok models.TokenSecret
			do("POST", "/v1/tokens", sess.Token, fmt.Sprintf(`{"inbox_id": %q, "label": "bench", "scopes": ["email:read", "email:send"]}`, in.ID), 201, &tok)
			do("PUT", "/v1/inboxes/"+in.ID+"/policy", sess.Token, bc.policy, 200, nil)
			if bc.policy != `{}` {
				do("PUT", "/v1/policy", sess.Token, `{"block": ["spam.example"]}`, 200, nil)
			}
			var orig string
			err = d.Store.Tx(bg, func(tx *gorm.DB) error {
				st, err := d.Mail.Store(bg, tx, mail.StoreInput{OrgID: in.OrgID, InboxID: in.ID, Direction: models.DirectionInbound,
					Status: models.StatusReceived, Raw: []byte("From: ann@example.net\r\nTo: agent@mail.example.com\r\nSubject: q\r\nMessage-ID: <q@example.net>\r\n\r\nhello\r\n")})
				if err == nil {
					orig = st.ID
				}
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
			path, body := "/v1/inboxes/"+in.ID+"/messages/send", `{"to": "ann@example.net", "subject": "Hello", "text": "Hi Ann"}`
			if bc.reply {
				path, body = "/v1/inboxes/"+in.ID+"/messages/"+orig+"/reply", `{"text": "Thanks"}`
			}
			var stmts atomic.Int64
			count := func(*gorm.DB) { stmts.Add(1) }
			cb := d.Store.DB.Callback()
			for _, err := range []error{cb.Create().After("*").Register("bench:count", count), cb.Query().After("*").Register("bench:count", count),
				cb.Update().After("*").Register("bench:count", count), cb.Delete().After("*").Register("bench:count", count),
				cb.Row().After("*").Register("bench:count", count), cb.Raw().After("*").Register("bench:count", count)} {
				if err != nil {
					b.Fatal(err)
				}
			}
			var sr models.SendResponse
			stmts.Store(0)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if bc.reply && i%10 == 9 {
					// The loop guard holds the 11th send in a thread within
					// the hour: answer a fresh message every ten.
					b.StopTimer()
					n := stmts.Load()
					_ = d.Store.Tx(bg, func(tx *gorm.DB) error {
						st, err := d.Mail.Store(bg, tx, mail.StoreInput{OrgID: in.OrgID, InboxID: in.ID, Direction: models.DirectionInbound,
							Status: models.StatusReceived, Raw: []byte(fmt.Sprintf("From: ann@example.net\r\nTo: agent@mail.example.com\r\nSubject: q%d\r\nMessage-ID: <q%d@example.net>\r\n\r\nhello\r\n", i, i))})
						if err == nil {
							path = "/v1/inboxes/" + in.ID + "/messages/" + st.ID + "/reply"
						}
						return err
					})
					stmts.Store(n)
					b.StartTimer()
				}
				do("POST", path, tok.Secret, body, 202, &sr)
				if sr.Status != "queued" {
					b.Fatalf("send %s: %+v", bc.name, sr)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(stmts.Load())/float64(b.N), "stmts/op")
		})
	}
}
