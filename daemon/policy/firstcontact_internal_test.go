package policy

import (
	"context"
	"sort"
	"strings"
	"testing"

	"gent/daemon/store/storetest"
)

// TestFirstContactLookupIsIndexed: the first-contact lookup is an index
// probe per recipient on both tables (the index condition holds the
// addresses), not a scan of the inbox's contacts or deliveries; and it is
// case-blind on delivered recipients.
func TestFirstContactLookupIsIndexed(t *testing.T) {
	st := storetest.NewDB(t)
	ctx := context.Background()
	conn, err := st.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	// An inbox with 20,000 contacts and 20,000 delivered recipients (and
	// another inbox's as many), without the rows they would hang from: the
	// foreign keys are not what is measured.
	if _, err := conn.Exec(ctx, `SET session_replication_role = replica;
		INSERT INTO contacts (id, org_id, inbox_id, address, received_count)
			SELECT 'con_' || i || '_' || b, 'org_1', 'inb_' || b, 'c' || i || '@example.net', 1
			FROM generate_series(1, 20000) i, generate_series(1, 2) b;
		INSERT INTO delivery_recipients (outbound_id, address, org_id, inbox_id, domain, kind, status, id)
			SELECT 'msg_' || i || '_' || b, 'R' || i || '@Example.net', 'org_1', 'inb_' || b, 'example.net', 'to', 'delivered', 'dlv_' || i || '_' || b
			FROM generate_series(1, 20000) i, generate_series(1, 2) b;
		SET session_replication_role = DEFAULT;
		ANALYZE contacts; ANALYZE delivery_recipients`); err != nil {
		t.Fatal(err)
	}
	// The statement as gorm sends it, with two addresses.
	q := strings.NewReplacer("inbox_id = ?", "inbox_id = $1", "lower(address) IN ?", "lower(address) IN ($2, $3)", "address IN ?", "address IN ($2, $3)").Replace(firstContactSQL)
	var known []string
	if err := st.DB.Raw(firstContactSQL, "inb_1", []string{"c7@example.net", "r9@example.net", "x@example.net"}, "inb_1",
		[]string{"c7@example.net", "r9@example.net", "x@example.net"}).Scan(&known).Error; err != nil {
		t.Fatal(err)
	}
	sort.Strings(known)
	if strings.Join(known, ",") != "c7@example.net,r9@example.net" {
		t.Fatalf("known %v, want c7 (a contact) and r9 (delivered as R9@Example.net)", known)
	}
	rows, err := conn.Query(ctx, "EXPLAIN "+q, "inb_1", "ann@example.net", "bob@example.net")
	if err != nil {
		t.Fatalf("explain: %v\n%s", err, q)
	}
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, line)
	}
	text := strings.Join(plan, "\n")
	// Each side's index condition holds the addresses, not only the inbox.
	conds := 0
	for _, l := range plan {
		if strings.Contains(l, "Index Cond") && strings.Contains(l, "inbox_id = ") && strings.Contains(l, "address") && strings.Contains(l, "ANY") {
			conds++
		}
	}
	if strings.Contains(text, "Seq Scan") || conds != 2 ||
		!strings.Contains(text, "contacts_inbox_id_address_key") || !strings.Contains(text, "delivery_recipients_delivered_lower_idx") {
		t.Fatalf("the first-contact lookup does not probe its indexes:\n%s", text)
	}
}
