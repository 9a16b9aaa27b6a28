package events

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"gent/models"
)

// Query selects the events a reader sees.
type Query struct {
	OrgID string
	// InboxID limits the events to one inbox ("" for the organization).
	InboxID string
	// Types keeps only these event types (empty: all).
	Types []string
}

// Clone returns a copy of q that shares no memory with it, for a stream
// that outlives the request it was read from.
func (q Query) Clone() Query {
	q.OrgID = strings.Clone(q.OrgID)
	q.InboxID = strings.Clone(q.InboxID)
	types := make([]string, len(q.Types))
	for i, t := range q.Types {
		types[i] = strings.Clone(t)
	}
	if q.Types != nil {
		q.Types = types
	}
	return q
}

// Cursor is a position in the log. The log is read in (txid, id) order:
// rows with a txid below the oldest running transaction can no longer be
// joined by a row ahead of them, so a reader that only moves past such
// rows never skips one that commits late. See docs/events.md.
type Cursor struct {
	Txid uint64
	ID   string
}

// ParseTypes validates a comma-separated list of event types.
func ParseTypes(field, list string) ([]string, error) {
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	var out []string
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		if !slices.Contains(models.EventTypes, t) {
			return nil, models.Invalid(field, "unknown event type %q; known types: %s", t, strings.Join(models.EventTypes, ", "))
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// Start returns the cursor of "now": a stream started there delivers every
// event that is not yet settled in the log, and nothing older.
func (s *Service) Start(ctx context.Context) (Cursor, error) {
	var x string
	if err := s.db.DB.WithContext(ctx).Raw(`SELECT pg_snapshot_xmin(pg_current_snapshot())::text`).Scan(&x).Error; err != nil {
		return Cursor{}, err
	}
	n, err := strconv.ParseUint(x, 10, 64)
	if err != nil {
		return Cursor{}, err
	}
	return Cursor{Txid: n}, nil
}

// After returns the cursor just past event id, which must be one the query
// can see (else a validation error naming field). An event that is not
// settled yet gives the cursor of now, so that no unsettled event ahead of
// it is skipped (the client may see id again).
func (s *Service) After(ctx context.Context, q Query, field, id string) (Cursor, error) {
	if !models.HasPrefix(id, models.PrefixEvent) {
		return Cursor{}, models.Invalid(field, "%s must be an event id (evt_…)", field)
	}
	var row struct {
		Txid    string
		Settled bool
	}
	db := s.db.DB.WithContext(ctx).Raw(`SELECT txid::text AS txid, txid < pg_snapshot_xmin(pg_current_snapshot()) AS settled
		FROM events WHERE id = ? AND org_id = ? AND (? = '' OR inbox_id = ?)`, id, q.OrgID, q.InboxID, q.InboxID).Scan(&row)
	if db.Error != nil {
		return Cursor{}, db.Error
	}
	if db.RowsAffected == 0 {
		return Cursor{}, models.Invalid(field, "no event %s in this stream", id)
	}
	if !row.Settled {
		return s.Start(ctx)
	}
	n, err := strconv.ParseUint(row.Txid, 10, 64)
	if err != nil {
		return Cursor{}, err
	}
	return Cursor{Txid: n, ID: id}, nil
}

// Page is one read of the log.
type Page struct {
	Events []models.Event
	// Next is the position after the last settled row read.
	Next Cursor
	// More: the limit was reached; read again at once.
	More bool
	// Pending: rows past Next exist but are not settled yet (an older
	// transaction is still running); read again shortly.
	Pending bool
}

type eventRow struct {
	models.Event
	Txid    string
	Pending bool
}

// read returns up to limit settled events after cur. With filterInSQL the
// type filter is applied by the query (pages); otherwise every settled row
// is read and Next moves past the ones filtered out (streams, so an idle
// filter does not rescan the log on every wake-up).
func (s *Service) read(ctx context.Context, q Query, cur Cursor, limit int, filterInSQL bool) (Page, error) {
	sql := `SELECT e.id, e.org_id, e.inbox_id, e.type, e.payload, e.created_at, e.txid::text AS txid, e.txid >= h.x AS pending
		FROM events e, (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS x) h
		WHERE e.org_id = ?`
	args := []any{q.OrgID}
	if q.InboxID != "" {
		sql += ` AND e.inbox_id = ?`
		args = append(args, q.InboxID)
	}
	if filterInSQL && len(q.Types) > 0 {
		sql += ` AND e.type IN ?`
		args = append(args, q.Types)
	}
	sql += ` AND (e.txid, e.id) > (?::xid8, ?) ORDER BY e.txid, e.id LIMIT ?`
	args = append(args, strconv.FormatUint(cur.Txid, 10), cur.ID, limit)
	var rows []eventRow
	if err := s.db.DB.WithContext(ctx).Raw(sql, args...).Scan(&rows).Error; err != nil {
		return Page{}, err
	}
	p := Page{Next: cur}
	for _, r := range rows {
		if r.Pending {
			// Ordered by txid: every later row is unsettled too.
			p.Pending = true
			return p, nil
		}
		n, err := strconv.ParseUint(r.Txid, 10, 64)
		if err != nil {
			return Page{}, err
		}
		p.Next = Cursor{Txid: n, ID: r.ID}
		if len(q.Types) == 0 || slices.Contains(q.Types, r.Type) {
			p.Events = append(p.Events, r.Event)
		}
	}
	p.More = len(rows) == limit
	return p, nil
}

// List returns a page of settled events after cur, oldest first, for
// clients that poll instead of streaming.
func (s *Service) List(ctx context.Context, q Query, cur Cursor, limit int) (Page, error) {
	return s.read(ctx, q, cur, limit, true)
}

// ErrStopped ends a stream because the daemon is shutting down.
var ErrStopped = errors.New("event streams stopped")

// Follower receives a stream's output. Its errors end the stream.
type Follower interface {
	// Events is called with each batch of new events, in log order.
	Events([]models.Event) error
	// Heartbeat is called when the stream has been idle for the heartbeat
	// interval.
	Heartbeat() error
}

const streamBatch = 200

// Follow streams the query's events after cur to f until ctx ends, the
// daemon stops (ErrStopped) or f returns an error. NOTIFY wake-ups from
// any replica trigger reads; while unsettled rows are waiting, it re-reads
// with a short backoff; while the listener is down, it re-reads on every
// heartbeat.
func (s *Service) Follow(ctx context.Context, q Query, cur Cursor, heartbeat time.Duration, f Follower) error {
	sub := s.hub.subscribe(q.OrgID, q.InboxID)
	defer sub.close()
	beat := time.NewTicker(heartbeat)
	defer beat.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	const minWait, maxWait = 20 * time.Millisecond, time.Second
	wait := minWait
	read := true
	for {
		if read {
			read = false
			p, err := s.read(ctx, q, cur, streamBatch, false)
			switch {
			case err != nil:
				if ctx.Err() != nil {
					return ctx.Err()
				}
				s.log.Warn("read events for a stream", "err", err, "org_id", q.OrgID)
				retry.Reset(maxWait)
			default:
				cur = p.Next
				if len(p.Events) > 0 {
					if err := f.Events(p.Events); err != nil {
						return err
					}
					beat.Reset(heartbeat)
				}
				if p.More {
					read = true
					continue
				}
				if p.Pending {
					retry.Reset(wait)
					wait = min(wait*2, maxWait)
				} else {
					wait = minWait
				}
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.hub.done:
			return ErrStopped
		case <-sub.wake:
			read = true
		case <-retry.C:
			read = true
		case <-beat.C:
			if err := f.Heartbeat(); err != nil {
				return err
			}
			read = !s.hub.listening.Load()
		}
	}
}

// CheckInbox reports not_found unless inboxID is an inbox of the
// organization.
func (s *Service) CheckInbox(ctx context.Context, orgID, inboxID string) error {
	var n int64
	if err := s.db.DB.WithContext(ctx).Raw(`SELECT count(*) FROM inboxes WHERE id = ? AND org_id = ?`, inboxID, orgID).Scan(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return models.NotFound("inbox")
	}
	return nil
}
