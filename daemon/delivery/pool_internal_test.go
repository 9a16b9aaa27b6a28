package delivery

import (
	"context"
	"testing"
	"time"

	"gent/daemon/smtpsink"
)

// TestSessionsAreKeptBetweenDeliveries: deliveries to one host share a
// connection; a kept session the server has closed meanwhile is replaced
// by a new one without losing the message; an idle session is ended after
// keepIdle.
func TestSessionsAreKeptBetweenDeliveries(t *testing.T) {
	sink := smtpsink.New(t)
	pool := newConnPool()
	sess := &session{hostname: "mx.gent.test", dialTimeout: 2 * time.Second, cmdTimeout: 5 * time.Second,
		dataTimeout: 5 * time.Second, pool: pool}
	host := hostTarget{name: "sink.test", addr: sink.Addr}
	data := []byte("Subject: kept\r\n\r\nkept\r\n")
	deliver := func(rcpt string) {
		t.Helper()
		res, _, err := sess.deliver(context.Background(), host, "agent@mail.example.com", []string{rcpt}, data)
		if err != nil || !res[rcpt].ok {
			t.Fatalf("deliver to %s: %v %+v", rcpt, err, res)
		}
	}
	for _, rc := range []string{"a@example.net", "b@example.net", "c@example.net"} {
		deliver(rc)
	}
	if n, s := sink.Count(), sink.Sessions(); n != 3 || s != 1 {
		t.Fatalf("%d messages over %d sessions, want 3 over 1", n, s)
	}

	// The server side goes away while the session is idle.
	pool.mu.Lock()
	for _, list := range pool.idle {
		for _, pc := range list {
			pc.conn.Close()
		}
	}
	pool.mu.Unlock()
	deliver("d@example.net")
	if n, s := sink.Count(), sink.Sessions(); n != 4 || s != 2 {
		t.Fatalf("after a lost session: %d messages over %d sessions, want 4 over 2", n, s)
	}

	// Idle sessions end once keepIdle has passed.
	pool.mu.Lock()
	pool.now = func() time.Time { return time.Now().Add(keepIdle) }
	pool.mu.Unlock()
	pool.expire()
	pool.mu.Lock()
	left := len(pool.idle)
	pool.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d hosts still have idle sessions after keepIdle", left)
	}
	deliver("e@example.net")
	if s := sink.Sessions(); s != 3 {
		t.Fatalf("%d sessions, want a new one after the idle ones ended", s)
	}
}
