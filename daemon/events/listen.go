package events

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// hub wakes the streams of this process when the LISTEN connection hears
// that an organization has new events. A wake-up carries no data: the
// woken stream reads the table, which is the only source of truth.
type hub struct {
	mu   sync.Mutex
	subs map[string]map[*subscription]struct{} // by organization

	listening atomic.Bool
	ready     chan struct{} // closed when LISTEN first succeeds
	readyOnce sync.Once
	done      chan struct{} // closed when the daemon stops
	doneOnce  sync.Once
}

func newHub() *hub {
	return &hub{subs: map[string]map[*subscription]struct{}{}, ready: make(chan struct{}), done: make(chan struct{})}
}

type subscription struct {
	h       *hub
	orgID   string
	inboxID string        // "": the organization's stream, woken by every event
	wake    chan struct{} // capacity 1: wake-ups coalesce
}

func (h *hub) subscribe(orgID, inboxID string) *subscription {
	s := &subscription{h: h, orgID: orgID, inboxID: inboxID, wake: make(chan struct{}, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.subs[orgID]
	if m == nil {
		m = map[*subscription]struct{}{}
		h.subs[orgID] = m
	}
	m[s] = struct{}{}
	return s
}

func (s *subscription) close() {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	if m := s.h.subs[s.orgID]; m != nil {
		delete(m, s)
		if len(m) == 0 {
			delete(s.h.subs, s.orgID)
		}
	}
}

func (s *subscription) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// wake pokes the streams a NOTIFY payload concerns: those of its
// organization, and of those only the organization's and the event's
// inbox's when it names an inbox. "" pokes every stream.
func (h *hub) wake(payload string) {
	orgID, inboxID, _ := strings.Cut(payload, " ")
	h.mu.Lock()
	defer h.mu.Unlock()
	if orgID == "" {
		for _, m := range h.subs {
			for s := range m {
				s.poke()
			}
		}
		return
	}
	for s := range h.subs[orgID] {
		if inboxID != "" && s.inboxID != "" && s.inboxID != inboxID {
			continue // another inbox's event: this stream cannot see it
		}
		s.poke()
	}
}

// count returns the number of open streams (for tests and metrics).
func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, m := range h.subs {
		n += len(m)
	}
	return n
}

// Run holds one dedicated connection that LISTENs on Channel and wakes the
// streams of this process, reconnecting with backoff when the connection
// fails. After every (re)connect all streams are woken, since a NOTIFY
// may have been missed meanwhile. It returns when ctx ends, and then ends
// every open stream.
func (s *Service) Run(ctx context.Context) error {
	defer s.hub.doneOnce.Do(func() { close(s.hub.done) })
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listen(ctx)
		s.hub.listening.Store(false)
		if ctx.Err() != nil {
			break
		}
		s.log.Warn("event listener lost its connection; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
	return nil
}

func (s *Service) listen(ctx context.Context) error {
	cfg := s.db.Pool.Config().ConnConfig.Copy()
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.ConnectConfig(cctx, cfg)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{Channel}.Sanitize()); err != nil {
		return err
	}
	s.hub.listening.Store(true)
	s.hub.readyOnce.Do(func() { close(s.hub.ready) })
	s.hub.wake("")
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		s.hub.wake(n.Payload)
	}
}

// Ready is closed once the listener has started listening (tests use it
// to know that a NOTIFY from another replica will be heard).
func (s *Service) Ready() <-chan struct{} { return s.hub.ready }

// Streams returns the number of open streams in this process.
func (s *Service) Streams() int { return s.hub.count() }
