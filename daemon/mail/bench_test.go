package mail_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"gorm.io/gorm"

	"gent/daemon/events"
	"gent/daemon/mail"
	"gent/daemon/mail/mailgen"
	gentstore "gent/daemon/store"
	"gent/daemon/store/storetest"
	"gent/models"
)

var benchSizes = []struct {
	name string
	size int
}{{"1KiB", 1 << 10}, {"10KiB", 10 << 10}, {"64KiB", 64 << 10}}

func BenchmarkParse(b *testing.B) {
	cases := []struct {
		name      string
		size      int
		multipart bool
	}{
		{"plain-1KiB", 1 << 10, false}, {"plain-10KiB", 10 << 10, false}, {"plain-64KiB", 64 << 10, false},
		{"plain-1MiB", 1 << 20, false}, {"multipart-10KiB", 10 << 10, true}, {"multipart-64KiB", 64 << 10, true},
	}
	for _, c := range cases {
		raw := mailgen.Message(mailgen.Options{From: "ada@sender.test", To: "agent@mail.test", Size: c.size, Seq: 1, Multipart: c.multipart})
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := mail.Parse(raw, mail.DefaultLimits); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchInbox returns a mail service on a fresh test database and an
// inbox to store into. The test cluster runs with fsync off, so these
// figures are the CPU and round-trip cost of a store, not the disk's.
func benchInbox(b *testing.B) (*mail.Service, *gentstore.Store, string, string) {
	b.Helper()
	st := storetest.NewDB(b)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := mail.NewService(st, events.NewService(st, log), log)
	orgID, domID, inboxID := models.NewID(models.PrefixOrg), models.NewID(models.PrefixDomain), models.NewID(models.PrefixInbox)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO orgs (id, name) VALUES (?, 'Bench')`, []any{orgID}},
		// The keys are never used: nothing is sent.
		{`INSERT INTO domains (id, org_id, name, status, ownership_token, dkim_selector, dkim_rsa_private, dkim_rsa_public,
			dkim_ed25519_selector, dkim_ed25519_private, dkim_ed25519_public)
			VALUES (?, ?, 'mail.bench.test', 'verified', 'unused', 'unused', '\x00', '', 'unused-ed', '\x00', '')`, []any{domID, orgID}},
		{`INSERT INTO inboxes (id, org_id, domain_id, address) VALUES (?, ?, ?, 'agent@mail.bench.test')`, []any{inboxID, orgID, domID}},
	} {
		if err := st.DB.Exec(q.sql, q.args...).Error; err != nil {
			b.Fatal(err)
		}
	}
	return svc, st, orgID, inboxID
}

func storeOne(b *testing.B, svc *mail.Service, st *gentstore.Store, orgID, inboxID string, raw []byte) {
	err := st.Tx(context.Background(), func(tx *gorm.DB) error {
		_, err := svc.Store(context.Background(), tx, mail.StoreInput{OrgID: orgID, InboxID: inboxID,
			Direction: models.DirectionInbound, Status: models.StatusReceived, Raw: raw,
			MailFrom: "ada@sender.test", RcptTo: "agent@mail.bench.test"})
		return err
	})
	if err != nil {
		b.Error(err)
	}
}

// BenchmarkStore is one message per transaction (parse included), one
// client.
func BenchmarkStore(b *testing.B) {
	for _, c := range benchSizes {
		b.Run(c.name, func(b *testing.B) {
			svc, st, orgID, inboxID := benchInbox(b)
			msgs := make([][]byte, 256)
			for i := range msgs {
				msgs[i] = mailgen.Message(mailgen.Options{From: fmt.Sprintf("sender%d@sender.test", i%16), To: "agent@mail.bench.test", Size: c.size, Seq: i})
			}
			b.SetBytes(int64(c.size))
			i := 0
			for b.Loop() {
				storeOne(b, svc, st, orgID, inboxID, msgs[i%len(msgs)])
				i++
			}
		})
	}
}

// BenchmarkStoreParallel is one message per transaction from 8 clients
// into one inbox: the inbox's usage row lock orders them.
func BenchmarkStoreParallel(b *testing.B) {
	svc, st, orgID, inboxID := benchInbox(b)
	msgs := make([][]byte, 256)
	for i := range msgs {
		msgs[i] = mailgen.Message(mailgen.Options{From: fmt.Sprintf("sender%d@sender.test", i%16), To: "agent@mail.bench.test", Size: 10 << 10, Seq: i})
	}
	b.SetBytes(10 << 10)
	b.SetParallelism(4) // 8 goroutines on 2 CPUs
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			storeOne(b, svc, st, orgID, inboxID, msgs[i%len(msgs)])
			i++
		}
	})
}
