package caps_test

import (
	"math/rand"
	"strings"
	"sync"
	"testing"

	"gent/models"
)

// Under enforce a message that fits exactly is stored, one byte more is
// refused naming the usage, the limit and the size, and a delete makes
// room at once.
func TestEnforceAtTheEdge(t *testing.T) {
	h := newHarness(t)
	first := h.mustStore(h.inbox, message(1000, "first"))
	h.setCap(h.inbox, 2500, models.CapEnforce)

	_, err := h.store(h.inbox, message(1501, "one byte over"))
	var me *models.Error
	if models.ErrorCode(err) != models.CodeStorageCapExceeded {
		t.Fatalf("one byte over: %v", err)
	}
	me = err.(*models.Error)
	for _, want := range []string{"uses 1000", "2500-byte limit", "1500 bytes free", "is 1501 bytes"} {
		if !strings.Contains(me.Message, want) {
			t.Fatalf("the refusal %q does not say %q", me.Message, want)
		}
	}
	if h.used(h.inbox) != 1000 || h.count(`SELECT count(*) FROM messages`) != 1 {
		t.Fatal("a refused message changed the inbox")
	}
	h.mustStore(h.inbox, message(1500, "fits exactly"))
	if h.used(h.inbox) != 2500 {
		t.Fatalf("used %d", h.used(h.inbox))
	}
	if _, err := h.store(h.inbox, message(100, "full")); models.ErrorCode(err) != models.CodeStorageCapExceeded {
		t.Fatalf("full inbox: %v", err)
	}
	v := h.view(h.inbox)
	if v.Percent == nil || *v.Percent != 100 || v.UsedBytes != 2500 || v.MessageCount != 2 || v.Overage.Bytes != 0 {
		t.Fatalf("view %+v", v)
	}
	// Deleting frees the room in the same transaction.
	h.env.MustStatus(204, "DELETE", "/v1/inboxes/"+h.inbox.ID+"/messages/"+first.ID, h.org.Owner, nil)
	if h.used(h.inbox) != 1500 {
		t.Fatalf("after delete: used %d", h.used(h.inbox))
	}
	h.mustStore(h.inbox, message(1000, "room again"))
	if _, err := h.store(h.inbox, message(100, "full again")); models.ErrorCode(err) != models.CodeStorageCapExceeded {
		t.Fatalf("full again: %v", err)
	}
	// allow_and_bill lets it grow.
	h.setCap(h.inbox, 2500, models.CapAllowAndBill)
	h.mustStore(h.inbox, message(5000, "billed"))
	if v := h.view(h.inbox); v.UsedBytes != 7500 || v.Overage.Bytes != 5000 || *v.Percent != 300 {
		t.Fatalf("allow_and_bill: %+v", v)
	}
}

// The same edge over SMTP: 552 5.2.2 at the end of DATA for a message one
// byte too large, 250 for one that fits exactly, then 452 4.2.2 at RCPT
// while the inbox is full, and 250 again once a delete makes room.
func TestEnforceAtTheEdgeOverSMTP(t *testing.T) {
	h := newHarness(t)
	addr := h.env.ListenSMTP()
	const to = "agent@mail.example.com"
	// The stored copy carries the Received and Authentication-Results
	// fields gentd prepends: measure them on a first delivery.
	if err := sendSMTP(addr, to, message(800, "probe")); err != nil {
		t.Fatal(err)
	}
	need := h.used(h.inbox) // what one 800-byte message takes
	if need <= 800 {
		t.Fatalf("stored size %d", need)
	}
	var probeID string
	h.env.Store.DB.Raw(`SELECT id FROM messages WHERE inbox_id = ?`, h.inbox.ID).Scan(&probeID)

	h.setCap(h.inbox, 2*need-1, models.CapEnforce)
	if got := smtpCode(sendSMTP(addr, to, message(800, "over"))); got != "552 5.2.2" {
		t.Fatalf("one byte over: %q", got)
	}
	h.setCap(h.inbox, 2*need, models.CapEnforce)
	if err := sendSMTP(addr, to, message(800, "fits")); err != nil {
		t.Fatalf("fits exactly: %v", err)
	}
	if h.used(h.inbox) != 2*need {
		t.Fatalf("used %d, limit %d", h.used(h.inbox), 2*need)
	}
	if got := smtpCode(sendSMTP(addr, to, message(800, "full"))); got != "452 4.2.2" {
		t.Fatalf("full: %q", got)
	}
	h.env.MustStatus(204, "DELETE", "/v1/inboxes/"+h.inbox.ID+"/messages/"+probeID, h.org.Owner, nil)
	if err := sendSMTP(addr, to, message(800, "room")); err != nil {
		t.Fatalf("after a delete: %v", err)
	}
	if h.used(h.inbox) != 2*need || h.count(`SELECT count(*) FROM messages`) != 2 {
		t.Fatalf("used %d", h.used(h.inbox))
	}
}

// Many stores racing for the last bytes of an enforce cap never take the
// inbox past it, and what they stored is exactly what the counter says.
func TestConcurrentStoresNeverOvershoot(t *testing.T) {
	h := newHarness(t)
	h.mustStore(h.inbox, message(10_000, "base"))
	const limit = 30_000
	h.setCap(h.inbox, limit, models.CapEnforce, 50, 90)
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted, refused := int64(0), 0
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			size := 500 + rand.Intn(2500)
			_, err := h.store(h.inbox, message(size, "race"))
			mu.Lock()
			defer mu.Unlock()
			switch models.ErrorCode(err) {
			case "":
				accepted += int64(size)
			case models.CodeStorageCapExceeded:
				refused++
			default:
				t.Errorf("store: %v", err)
			}
		}(i)
	}
	wg.Wait()
	used := h.used(h.inbox)
	sum := h.count(`SELECT coalesce(sum(size), 0) FROM messages WHERE inbox_id = ?`, h.inbox.ID)
	if used > limit || used != 10_000+accepted || sum != used || refused == 0 {
		t.Fatalf("used %d (limit %d), accepted %d, stored %d, refused %d", used, limit, accepted, sum, refused)
	}
	// The alerts crossed on the way fired once each.
	want := []int{50}
	if used >= 27_000 {
		want = []int{50, 90}
	}
	if got := h.crossings(h.inbox); !intsEqual(got, want) {
		t.Fatalf("crossings %v at %d bytes, want %v", got, used, want)
	}
}

// Concurrent SMTP deliveries into a nearly full inbox: each is stored
// whole or refused (452 at RCPT, 552 after DATA), never past the limit.
func TestConcurrentSMTPNeverOvershoots(t *testing.T) {
	h := newHarness(t)
	addr := h.env.ListenSMTP()
	const to = "agent@mail.example.com"
	if err := sendSMTP(addr, to, message(1000, "probe")); err != nil {
		t.Fatal(err)
	}
	need := h.used(h.inbox)
	limit := need + 5*need + need/2 // room for five more
	h.setCap(h.inbox, limit, models.CapEnforce)
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]int{}
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 3; j++ {
				code := smtpCode(sendSMTP(addr, to, message(1000, "concurrent")))
				mu.Lock()
				codes[code]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if codes[""] != 5 || codes[""]+codes["452 4.2.2"]+codes["552 5.2.2"] != 24 {
		t.Fatalf("replies %v", codes)
	}
	if used := h.used(h.inbox); used != 6*need || used > limit {
		t.Fatalf("used %d, limit %d", used, limit)
	}
}
