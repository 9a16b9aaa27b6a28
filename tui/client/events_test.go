package client_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gent/daemon/config"
	"gent/daemon/server/servertest"
	"gent/models"
	"gent/tui/client"
)

// liveServe serves the daemon with its event listener running, so
// streams get events as they commit.
func liveServe(t *testing.T, env *servertest.Env) string {
	t.Helper()
	url := serve(t, env)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = env.Events.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done }) // runs before the server's shutdown
	select {
	case <-env.Events.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("event listener did not start")
	}
	return url
}

// proxy forwards TCP to a daemon and can cut every connection, as a
// network failure would.
type proxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	n     atomic.Int32 // connections accepted
}

func newProxy(t *testing.T, upstream string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", upstream)
			if err != nil {
				c.Close()
				continue
			}
			p.n.Add(1)
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(u, c); u.Close() }()
			go func() { _, _ = io.Copy(c, u); c.Close() }()
		}
	}()
	return p
}

func (p *proxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// next returns the next update, failing after a while.
func next(t *testing.T, ch <-chan client.StreamUpdate) client.StreamUpdate {
	t.Helper()
	select {
	case u, ok := <-ch:
		if !ok {
			t.Fatal("the stream closed")
		}
		return u
	case <-time.After(10 * time.Second):
		t.Fatal("no update from the stream")
	}
	return client.StreamUpdate{}
}

// nextEvent skips connection news up to the next event.
func nextEvent(t *testing.T, ch <-chan client.StreamUpdate) models.Event {
	t.Helper()
	for {
		if u := next(t, ch); u.Event != nil {
			return *u.Event
		}
	}
}

func TestEventsStreamResumesAfterACut(t *testing.T) {
	env := servertest.New(t)
	h := newHeldSends(t, env)
	url := liveServe(t, env)
	p := newProxy(t, url[len("http://"):len(url)-1])
	c, err := client.New(p.URL(), client.WithToken(client.Secret(h.org.Owner)),
		client.WithStreamTiming(20*time.Millisecond, 100*time.Millisecond, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := c.Events(ctx, "")
	if u := next(t, ch); !u.Connected || u.Missed {
		t.Fatalf("first update %+v", u)
	}

	held := h.hold(t, "Refund")
	ev := nextEvent(t, ch)
	if ev.Type != models.EventApprovalRequested || ev.Payload["approval_id"] != held.ApprovalID || ev.OrgID != h.org.ID {
		t.Fatalf("event %+v", ev)
	}

	// The connection is cut; while it is down, two more sends are held.
	// The stream reconnects with Last-Event-ID and gets both, in order.
	p.cut()
	u := next(t, ch)
	if u.Err == nil || u.Final || u.Retry <= 0 {
		t.Fatalf("after the cut %+v", u)
	}
	second, third := h.hold(t, "Second"), h.hold(t, "Third")
	var got []string
	for len(got) < 2 {
		u := next(t, ch)
		switch {
		case u.Connected && u.Missed:
			t.Fatal("a resumed stream says events were missed")
		case u.Event != nil:
			got = append(got, u.Event.Payload["approval_id"].(string))
		}
	}
	if got[0] != second.ApprovalID || got[1] != third.ApprovalID {
		t.Fatalf("resumed events %v, want %s %s", got, second.ApprovalID, third.ApprovalID)
	}
	if p.n.Load() < 2 {
		t.Fatalf("%d connections", p.n.Load())
	}

	// Canceling ends the stream: the channel closes.
	cancel()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("the channel did not close after cancel")
		}
	}
}

func TestEventsStreamEndsWithTheSession(t *testing.T) {
	env := servertest.New(t, func(c *config.Config) { c.Events.Heartbeat = config.Duration(50 * time.Millisecond) })
	org := env.Setup()
	url := liveServe(t, env)
	sess := env.User(org, models.RoleReviewer)
	c, err := client.New(url, client.WithToken(client.Secret(sess)),
		client.WithStreamTiming(20*time.Millisecond, 100*time.Millisecond, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ch := c.Events(context.Background(), "")
	if u := next(t, ch); !u.Connected {
		t.Fatalf("first update %+v", u)
	}
	env.MustStatus(204, "POST", "/v1/auth/logout", sess, nil)
	// The daemon closes the stream at its next heartbeat; the reconnect
	// is refused with 401: the last update is Final and the channel closes.
	for {
		u := next(t, ch)
		if !u.Final {
			continue
		}
		if client.StatusOf(u.Err) != http.StatusUnauthorized {
			t.Fatalf("final %+v", u)
		}
		break
	}
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("an update after the final one")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the channel did not close")
	}
}

func TestEventsStreamUnknownLastID(t *testing.T) {
	env := servertest.New(t)
	h := newHeldSends(t, env)
	url := liveServe(t, env)
	c, err := client.New(url, client.WithToken(client.Secret(h.org.Owner)),
		client.WithStreamTiming(20*time.Millisecond, 100*time.Millisecond, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The daemon does not know the id (422): the stream starts from now
	// and says events may have been missed.
	ch := c.Events(ctx, "evt_01jd7x3k9q8m2n4p6r8t0v2w4y")
	if u := next(t, ch); !u.Connected || !u.Missed {
		t.Fatalf("first update %+v", u)
	}
	held := h.hold(t, "Refund")
	if ev := nextEvent(t, ch); ev.Payload["approval_id"] != held.ApprovalID {
		t.Fatalf("event %+v", ev)
	}
}

// A connection that carries nothing, not even a heartbeat, is replaced;
// a server that is not an event stream is retried with backoff.
func TestEventsStreamIdleAndBadServer(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := hits.Add(1)
		if r.Header.Get("Accept") != "text/event-stream" || r.Header.Get("Authorization") != "Bearer gses_x" {
			t.Errorf("request headers %v", r.Header)
		}
		if n == 1 {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<h1>proxy</h1>")
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, ": connected\n\nid: evt_1\nevent: message.received\ndata: {\"id\":\"evt_1\",\"type\":\"message.received\"}\n\n")
		w.(http.Flusher).Flush()
		select { // then silence
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer srv.Close()
	c, err := client.New(srv.URL, client.WithToken("gses_x"), client.WithStreamTiming(10*time.Millisecond, 40*time.Millisecond, 150*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := c.Events(ctx, "")
	if u := next(t, ch); u.Err == nil || u.Final {
		t.Fatalf("not an event stream: %+v", u)
	}
	if u := next(t, ch); !u.Connected || u.Missed {
		t.Fatalf("connected %+v", u)
	}
	if ev := nextEvent(t, ch); ev.ID != "evt_1" {
		t.Fatalf("event %+v", ev)
	}
	u := next(t, ch)
	if !errors.Is(u.Err, client.ErrStreamIdle) {
		t.Fatalf("silence: %+v", u)
	}
	if u := next(t, ch); !u.Connected || u.Missed {
		t.Fatalf("reconnected after silence (resuming after evt_1): %+v", u)
	}
}
