package caps_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"gent/daemon/audit"
	"gent/daemon/caps"
	"gent/daemon/config"
	"gent/daemon/events"
	"gent/daemon/store/storetest"
)

// BenchmarkSample measures one sampling pass over 2000 inboxes, half of
// them over an allow_and_bill cap (each pass charges one interval to
// every inbox).
func BenchmarkSample(b *testing.B) {
	st := storetest.NewDB(b)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := caps.NewService(st, events.NewService(st, log), audit.NewService(st, log), config.Default(), log)
	for _, q := range []string{
		`INSERT INTO orgs (id, name) VALUES ('org_bench', 'Bench')`,
		`INSERT INTO domains (id, org_id, name, status, ownership_token, dkim_selector, dkim_rsa_private, dkim_rsa_public,
			dkim_ed25519_selector, dkim_ed25519_private, dkim_ed25519_public)
			VALUES ('dom_bench', 'org_bench', 'mail.example.com', 'verified', 't', 's', '', '', 'e', '', '')`,
		`INSERT INTO inboxes (id, org_id, domain_id, address, used_bytes, message_count, cap_limit_bytes, cap_mode)
			SELECT 'inb_' || lpad(g::text, 26, '0'), 'org_bench', 'dom_bench', 'a' || g || '@mail.example.com', g * 1000, g,
				CASE WHEN g % 2 = 0 THEN 1000000 END, CASE WHEN g % 2 = 0 THEN 'allow_and_bill' END
			FROM generate_series(1, 2000) g`,
	} {
		if err := st.DB.Exec(q).Error; err != nil {
			b.Fatal(err)
		}
	}
	at := time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)
	if _, err := svc.Sample(context.Background(), at); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		at = at.Add(5 * time.Minute)
		n, err := svc.Sample(context.Background(), at)
		if err != nil || n != 2000 {
			b.Fatalf("sampled %d: %v", n, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/2000, "µs/inbox")
}
