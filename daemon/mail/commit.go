package mail

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"gent/models"
)

// Group commit. A durable commit costs a WAL flush, and Store holds the
// inbox's usage row lock until its commit, so one message per transaction
// caps an inbox at one message per disk flush. The committer lets many
// callers (SMTP sessions) share transactions: their work runs one after
// the other in one transaction, the usage counters and contact counts are
// applied once per inbox at the end of it, and every caller hears back
// only after the commit that holds its message. The row locks are taken
// just before the commit, in inbox id order, so concurrent batches overlap
// everything but the counter update and the flush.
//
// A caller whose work fails gets its own error and its work is rolled
// back; the transaction is redone without it for the others. When the
// batched counter update would take an inbox past an enforce cap, or the
// database fails otherwise, every caller's work is redone alone, in its
// own transaction, exactly as without batching. A failed COMMIT is never
// redone: its outcome is looked up (outcome.go) and reported to every
// caller of that transaction — success if it committed after all, its
// error if it did not or the outcome stays unknown.

// CommitOptions tune a Committer.
type CommitOptions struct {
	// Workers is how many transactions may be open at once (default: the
	// number of CPUs, at least 2 and at most 8: one transaction's
	// statements run one after the other on one database backend).
	Workers int
	// MaxBatch bounds the units of work in one transaction (default 64).
	MaxBatch int
	// MaxWait is how long a worker waits for more work once it has some,
	// before opening its transaction; 0 takes only what is already queued
	// (batches then grow with the load, and a lone message never waits).
	MaxWait time.Duration
	// Timeout bounds one transaction (default 30s).
	Timeout time.Duration
}

func (o CommitOptions) withDefaults() CommitOptions {
	if o.Workers <= 0 {
		o.Workers = min(max(runtime.NumCPU(), 2), 8)
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 64
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	return o
}

// ErrCommitterStopped is returned by Do once the committer has stopped.
var ErrCommitterStopped = errors.New("message committer stopped")

// Committer runs units of work of many callers in shared transactions.
type Committer struct {
	s    *Service
	opts CommitOptions
	work chan *unit

	mu      sync.RWMutex
	stopped bool
	wg      sync.WaitGroup
	once    sync.Once
}

type unit struct {
	ctx  context.Context
	fn   func(b *Batch) error
	done chan error
}

// NewCommitter starts a committer's workers; Stop ends them.
func (s *Service) NewCommitter(opts CommitOptions) *Committer {
	c := &Committer{s: s, opts: opts.withDefaults()}
	c.work = make(chan *unit, c.opts.MaxBatch*c.opts.Workers)
	for i := 0; i < c.opts.Workers; i++ {
		c.wg.Add(1)
		go c.worker()
	}
	return c
}

// Stop lets the work already queued finish, then ends the workers. Do
// returns ErrCommitterStopped afterwards.
func (c *Committer) Stop() {
	c.once.Do(func() {
		c.mu.Lock()
		c.stopped = true
		close(c.work)
		c.mu.Unlock()
		c.wg.Wait()
	})
}

// Do runs fn inside a transaction that may be shared with other callers'
// work, and returns nil only once that transaction has committed. fn must
// do all its writes through b (b.Tx, b.Store) and may be run more than
// once (a retried transaction runs it again; only the committed run
// counts). Its error is returned as it is, with its writes rolled back.
func (c *Committer) Do(ctx context.Context, fn func(b *Batch) error) error {
	u := &unit{ctx: ctx, fn: fn, done: make(chan error, 1)}
	c.mu.RLock()
	if c.stopped {
		c.mu.RUnlock()
		return ErrCommitterStopped
	}
	select {
	case c.work <- u:
	case <-ctx.Done():
		c.mu.RUnlock()
		return ctx.Err()
	}
	c.mu.RUnlock()
	// The outcome is awaited even when ctx ends: once queued, the work may
	// commit, and the caller must not report a failure for stored mail.
	return <-u.done
}

func (c *Committer) worker() {
	defer c.wg.Done()
	for first := range c.work {
		units := []*unit{first}
		var timer <-chan time.Time
		if c.opts.MaxWait > 0 {
			timer = time.After(c.opts.MaxWait)
		}
	collect:
		for len(units) < c.opts.MaxBatch {
			select {
			case u, ok := <-c.work:
				if !ok {
					break collect
				}
				units = append(units, u)
			default:
				if timer == nil {
					break collect
				}
				select {
				case u, ok := <-c.work:
					if !ok {
						break collect
					}
					units = append(units, u)
				case <-timer:
					break collect
				}
			}
		}
		c.run(units)
	}
}

// maxRounds bounds how often one batch is redone without a failing unit
// before its units are run alone.
const maxRounds = 4

func (c *Committer) run(units []*unit) {
	pending := units[:0:0]
	for _, u := range units {
		if err := u.ctx.Err(); err != nil {
			u.done <- err // never started: nothing was written
			continue
		}
		pending = append(pending, u)
	}
	for round := 0; len(pending) > 0; round++ {
		if round == maxRounds {
			c.alone(pending)
			return
		}
		failed, err := c.batch(pending)
		var ce *UnknownCommitError
		switch {
		case err == nil:
			for _, u := range pending {
				u.done <- nil
			}
			return
		case errors.As(err, &ce):
			for _, u := range pending {
				u.done <- err
			}
			return
		case failed >= 0:
			pending[failed].done <- err
			pending = append(pending[:failed:failed], pending[failed+1:]...)
		default:
			c.s.log.Debug("group commit: running the batch's messages one by one", "err", err, "messages", len(pending))
			c.alone(pending)
			return
		}
	}
}

// alone runs each unit in a transaction of its own.
func (c *Committer) alone(units []*unit) {
	for _, u := range units {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(u.ctx), c.opts.Timeout)
		err := c.s.Alone(ctx, u.fn)
		cancel()
		u.done <- err
	}
}

// batch runs units in one transaction with deferred counters. failed is
// the index of the unit whose error ended it, or -1.
func (c *Committer) batch(units []*unit) (failed int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
	defer cancel()
	tx, end, err := c.s.begin(ctx)
	if err != nil {
		return -1, err
	}
	b := &Batch{s: c.s, tx: tx, deferred: true, inboxes: map[string]*batchInbox{}, contacts: map[contactKey]*contactDelta{}}
	for i, u := range units {
		if err := u.fn(b); err != nil {
			tx.Rollback()
			end()
			return i, err
		}
	}
	if err := b.flushWrites(ctx); err != nil {
		tx.Rollback()
		end()
		return -1, err
	}
	if err := b.flush(ctx); err != nil {
		tx.Rollback()
		end()
		return -1, err
	}
	// A failed COMMIT comes back as an UnknownCommitError, or nil when it
	// committed all the same.
	if err := c.s.commit(tx, end); err != nil {
		return -1, err
	}
	b.tally.publish(c.s.metrics)
	return -1, nil
}

// Alone runs fn in a transaction of its own. When COMMIT fails, its
// outcome is looked up as for a batch: nil if it committed all the same.
func (s *Service) Alone(ctx context.Context, fn func(b *Batch) error) error {
	tx, end, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			tx.Rollback()
			end()
			panic(p)
		}
	}()
	b := &Batch{s: s, tx: tx}
	if err := fn(b); err != nil {
		tx.Rollback()
		end()
		return err
	}
	if err := b.flushWrites(ctx); err != nil {
		tx.Rollback()
		end()
		return err
	}
	if err := s.commit(tx, end); err != nil {
		return err
	}
	b.tally.publish(s.metrics)
	return nil
}

// StartCommitter starts the service's committer (the daemon does, before
// it serves); until then and after StopCommitter, Commit runs each caller
// alone.
func (s *Service) StartCommitter(opts CommitOptions) {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	if s.committer == nil {
		s.committer = s.NewCommitter(opts)
	}
}

// StopCommitter finishes the queued work and stops the committer.
func (s *Service) StopCommitter() {
	s.commitMu.Lock()
	c := s.committer
	s.committer = nil
	s.commitMu.Unlock()
	if c != nil {
		c.Stop()
	}
}

// Commit runs fn in a transaction, shared with other callers' work when
// the committer runs (group commit), and returns once it has committed.
// fn must do all its writes through b and may run more than once (see
// Committer.Do).
func (s *Service) Commit(ctx context.Context, fn func(b *Batch) error) error {
	s.commitMu.Lock()
	c := s.committer
	s.commitMu.Unlock()
	if c == nil {
		return s.Alone(ctx, fn)
	}
	err := c.Do(ctx, fn)
	if errors.Is(err, ErrCommitterStopped) {
		return s.Alone(ctx, fn) // stopped meanwhile: nothing of fn ran
	}
	return err
}

// Batch is the transaction a unit of work runs in.
type Batch struct {
	s  *Service
	tx *gorm.DB
	// deferred: usage and contact counts are applied by flush.
	deferred bool
	inboxes  map[string]*batchInbox
	contacts map[contactKey]*contactDelta
	// tally counts the messages stored, for the metrics after commit.
	tally tally
	// writes are other services' rows collected over the batch's units
	// (Writes), written by one statement each before the commit.
	writes     map[string]BatchWriter
	writeOrder []string
}

// BatchWriter collects rows of many units of work and writes them at the
// end of the transaction (Batch.Writes).
type BatchWriter interface {
	Flush(ctx context.Context, tx *gorm.DB) error
}

// Writes returns the batch's writer for key, made by make on its first
// use in the batch. Every writer is flushed before the commit (in the
// order of first use, before the usage counters), in the same
// transaction: a service that writes a row per unit (a send's recipients,
// its job, its event) writes the batch's rows in one statement. A failed
// flush fails the whole batch, whose units are then run alone. Nothing in
// the transaction may need those rows before the flush: neither the unit
// that added them nor a later unit of the batch (a send budget counting
// the sends recorded so far, say, must see them written at once).
func (b *Batch) Writes(key string, make func() BatchWriter) BatchWriter {
	if w, ok := b.writes[key]; ok {
		return w
	}
	if b.writes == nil {
		b.writes = map[string]BatchWriter{}
	}
	w := make()
	b.writes[key] = w
	b.writeOrder = append(b.writeOrder, key)
	return w
}

func (b *Batch) flushWrites(ctx context.Context) error {
	for _, k := range b.writeOrder {
		if err := b.writes[k].Flush(ctx, b.tx.WithContext(ctx)); err != nil {
			return err
		}
	}
	return nil
}

// Tx is the transaction, for reads and for writes of other services.
func (b *Batch) Tx() *gorm.DB { return b.tx }

// Store stores a message in the batch's transaction (Service.Store).
func (b *Batch) Store(ctx context.Context, in StoreInput) (*Stored, error) {
	in.tally = &b.tally
	if b.deferred {
		in.batch = b
	}
	return b.s.Store(ctx, b.tx, in)
}

// batchInbox is what a batch adds to one inbox's counters.
type batchInbox struct {
	orgID   string
	address string
	used    int64 // usage before the batch, as read (unlocked)
	capMode *string
	capMax  *int64
	bytes   int64
	count   int64
}

type contactKey struct{ inboxID, address string }

type contactDelta struct {
	orgID          string
	name           string
	received, sent int
}

// reserve counts a message of size bytes toward an inbox in the batch and
// returns the inbox's address. The inbox is read without a lock — or
// taken from seen, the caller's own recent read of it —; flush makes the
// authoritative cap check, and finds an inbox gone or deactivated since.
// A message that would already take the inbox past an enforce cap by this
// read is refused here.
func (b *Batch) reserve(db *gorm.DB, orgID, inboxID string, size int64, seen *Recipient) (string, error) {
	in := b.inboxes[inboxID]
	if in == nil && seen != nil && seen.InboxID == inboxID && seen.OrgID == orgID {
		in = &batchInbox{orgID: orgID, address: seen.Address, used: seen.UsedBytes, capMode: seen.CapMode, capMax: seen.CapLimitBytes}
		b.inboxes[inboxID] = in
	}
	if in == nil {
		var rows []struct {
			Address       string
			UsedBytes     int64
			CapMode       *string
			CapLimitBytes *int64
		}
		if err := db.Raw(`SELECT address, used_bytes, cap_mode, cap_limit_bytes FROM inboxes
			WHERE id = ? AND org_id = ? AND status = 'active'`, inboxID, orgID).Scan(&rows).Error; err != nil {
			return "", fmt.Errorf("store message: read inbox: %w", err)
		}
		if len(rows) == 0 {
			return "", models.NotFound("inbox")
		}
		r := rows[0]
		in = &batchInbox{orgID: orgID, address: r.Address, used: r.UsedBytes, capMode: r.CapMode, capMax: r.CapLimitBytes}
		b.inboxes[inboxID] = in
	}
	if in.orgID != orgID {
		return "", models.NotFound("inbox")
	}
	if in.capMode != nil && *in.capMode == "enforce" && in.capMax != nil && in.used+in.bytes+size > *in.capMax {
		return "", capExceeded(in.used+in.bytes, *in.capMax, size)
	}
	in.bytes += size
	in.count++
	return in.address, nil
}

// addContact counts a correspondent for flush.
func (b *Batch) addContact(orgID, inboxID, address, name string, received, sent int) {
	k := contactKey{inboxID, address}
	d := b.contacts[k]
	if d == nil {
		d = &contactDelta{orgID: orgID}
		b.contacts[k] = d
	}
	if d.name == "" {
		d.name = name
	}
	d.received += received
	d.sent += sent
}

// errBatchCap says the batched counter update found an inbox without room
// (or gone): the batch is redone message by message.
var errBatchCap = errors.New("batched usage update refused")

// flush applies the batch's counters: the inbox rows are locked in id
// order (so batches and single stores never deadlock), then updated with
// the cap check in one statement; then the contacts, in key order. The
// lock is FOR NO KEY UPDATE, the one the UPDATE itself takes: the batch's
// inserts already hold KEY SHARE locks on these rows (foreign keys), as
// may concurrent batches, and FOR UPDATE would wait on those and deadlock.
func (b *Batch) flush(ctx context.Context) error {
	if len(b.inboxes) > 0 {
		ids := make([]string, 0, len(b.inboxes))
		for id := range b.inboxes {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		bytes := make([]int64, len(ids))
		counts := make([]int64, len(ids))
		for i, id := range ids {
			bytes[i], counts[i] = b.inboxes[id].bytes, b.inboxes[id].count
		}
		db := b.tx.WithContext(ctx)
		if len(ids) > 1 {
			if err := db.Exec(`SELECT 1 FROM inboxes WHERE id = ANY(?::text[]) ORDER BY id FOR NO KEY UPDATE`, models.StringArray(ids)).Error; err != nil {
				return fmt.Errorf("store messages: lock inboxes: %w", err)
			}
		}
		var updated []struct {
			ID         string
			OrgID      string
			UsedBytes  int64
			AlertCheck bool
		}
		res := db.Raw(`UPDATE inboxes i SET used_bytes = i.used_bytes + d.n, message_count = i.message_count + d.c
			FROM unnest(?::text[], ?::bigint[], ?::bigint[]) AS d(id, n, c)
			WHERE i.id = d.id AND i.status = 'active'
			  AND (i.cap_mode IS DISTINCT FROM 'enforce' OR i.cap_limit_bytes IS NULL OR i.used_bytes + d.n <= i.cap_limit_bytes)
			RETURNING i.id, i.org_id, i.used_bytes, `+alertCheck,
			models.StringArray(ids), int64Array(bytes), int64Array(counts)).Scan(&updated)
		if res.Error != nil {
			return fmt.Errorf("store messages: count usage: %w", res.Error)
		}
		if len(updated) != len(ids) {
			return errBatchCap
		}
		// Threshold alerts, in this transaction, once per inbox per batch.
		for _, u := range updated {
			if err := b.s.usageChanged(ctx, b.tx, u.AlertCheck, u.OrgID, u.ID, u.UsedBytes); err != nil {
				return err
			}
		}
	}
	if len(b.contacts) > 0 {
		keys := make([]contactKey, 0, len(b.contacts))
		for k := range b.contacts {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			if keys[i].inboxID != keys[j].inboxID {
				return keys[i].inboxID < keys[j].inboxID
			}
			return keys[i].address < keys[j].address
		})
		var ids, orgs, inboxes, addrs, names []string
		var received, sent []int64
		for _, k := range keys {
			d := b.contacts[k]
			ids = append(ids, models.NewID(models.PrefixContact))
			orgs = append(orgs, d.orgID)
			inboxes = append(inboxes, k.inboxID)
			addrs = append(addrs, k.address)
			names = append(names, d.name)
			received = append(received, int64(d.received))
			sent = append(sent, int64(d.sent))
		}
		err := b.tx.WithContext(ctx).Exec(`INSERT INTO contacts (id, org_id, inbox_id, address, name, source, received_count, sent_count)
			SELECT id, org_id, inbox_id, address, name, 'mail', r, s
			FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::bigint[])
				AS c(id, org_id, inbox_id, address, name, r, s)
			ON CONFLICT (inbox_id, address) DO UPDATE SET
				received_count = contacts.received_count + EXCLUDED.received_count,
				sent_count = contacts.sent_count + EXCLUDED.sent_count,
				last_seen_at = now(),
				name = CASE WHEN contacts.name = '' THEN EXCLUDED.name ELSE contacts.name END`,
			models.StringArray(ids), models.StringArray(orgs), models.StringArray(inboxes), models.StringArray(addrs),
			models.StringArray(names), int64Array(received), int64Array(sent)).Error
		if err != nil {
			return fmt.Errorf("store messages: contacts: %w", err)
		}
	}
	return nil
}

// int64Array is a Postgres bigint[] parameter.
type int64Array []int64

// Value renders the array literal ({1,2,3}).
func (a int64Array) Value() (driver.Value, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range a {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%d", n)
	}
	b.WriteByte('}')
	return b.String(), nil
}
