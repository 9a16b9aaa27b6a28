package mail

import (
	"context"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"
)

// Commits whose outcome is unknown. When COMMIT itself fails — the
// connection breaks, or the deadline passes while the server is still
// committing — the transaction may or may not have committed, and a 451 or
// 5xx for mail that was in fact stored makes the sender send it again.
// So every transaction that stores mail reads its own transaction id just
// before COMMIT (pg_current_xact_id), and a failed COMMIT is followed by
// asking PostgreSQL, on another connection, what became of that id
// (pg_xact_status: committed, aborted, or still in progress), again and
// again for up to CommitHooks.ResolveFor. Committed: the caller is told it
// succeeded. Aborted, or still unknown at the end: the error stands.

// DefaultResolveFor bounds the search for an unknown commit's outcome.
const DefaultResolveFor = time.Minute

// CommitHooks are fault-injection points of the commit path, for tests.
type CommitHooks struct {
	// BeforeCommit runs just before COMMIT is sent, with the PostgreSQL
	// backend pid of the transaction.
	BeforeCommit func(pid int)
	// CommitFailed runs when COMMIT returned an error, before its outcome
	// is looked up.
	CommitFailed func(pid int, err error)
	// CommitTimeout, when set, bounds the COMMIT statement alone.
	CommitTimeout time.Duration
	// ResolveFor bounds the search for an unknown outcome (0:
	// DefaultResolveFor).
	ResolveFor time.Duration
}

type commitHooks struct {
	mu sync.RWMutex
	h  CommitHooks
}

// SetCommitHooks sets the commit path's test hooks.
func (s *Service) SetCommitHooks(h CommitHooks) {
	s.hooks.mu.Lock()
	s.hooks.h = h
	s.hooks.mu.Unlock()
}

func (s *Service) commitHooks() CommitHooks {
	s.hooks.mu.RLock()
	defer s.hooks.mu.RUnlock()
	return s.hooks.h
}

// UnknownCommitError is a COMMIT that failed and whose outcome could not
// be learnt, or that surely did not commit (Aborted).
type UnknownCommitError struct {
	Err     error
	Aborted bool
}

func (e *UnknownCommitError) Error() string {
	if e.Aborted {
		return "commit: " + e.Err.Error() + " (the transaction did not commit)"
	}
	return "commit: " + e.Err.Error() + " (outcome unknown)"
}

func (e *UnknownCommitError) Unwrap() error { return e.Err }

// begin opens a transaction for storing mail. Its context can be ended
// separately (cancel) to bound COMMIT alone.
func (s *Service) begin(ctx context.Context) (*gorm.DB, context.CancelFunc, error) {
	ctx, cancel := context.WithCancel(ctx)
	tx := s.db.DB.WithContext(ctx).Begin()
	if tx.Error != nil {
		cancel()
		return nil, nil, fmt.Errorf("begin: %w", tx.Error)
	}
	return tx, cancel, nil
}

// commit commits tx (opened by begin; cancel ends its context) and, when
// COMMIT fails, finds out whether it committed all the same: nil then.
func (s *Service) commit(tx *gorm.DB, cancel context.CancelFunc) error {
	defer cancel()
	h := s.commitHooks()
	var key struct {
		Xid string
		Pid int
	}
	if err := tx.Raw(`SELECT pg_current_xact_id()::text AS xid, pg_backend_pid() AS pid`).Scan(&key).Error; err != nil {
		tx.Rollback()
		return fmt.Errorf("commit: read transaction id: %w", err)
	}
	if h.BeforeCommit != nil {
		h.BeforeCommit(key.Pid)
	}
	if h.CommitTimeout > 0 {
		t := time.AfterFunc(h.CommitTimeout, cancel)
		defer t.Stop()
	}
	err := tx.Commit().Error
	if err == nil {
		return nil
	}
	if h.CommitFailed != nil {
		h.CommitFailed(key.Pid, err)
	}
	return s.resolveCommit(key.Xid, key.Pid, err, h.ResolveFor)
}

// resolveCommit asks, on other connections, what became of transaction
// xid after its COMMIT failed with cerr.
func (s *Service) resolveCommit(xid string, pid int, cerr error, bound time.Duration) error {
	if bound <= 0 {
		bound = DefaultResolveFor
	}
	log := s.log.With("xid", xid, "backend_pid", pid, "err", cerr)
	log.Warn("commit failed; looking up whether it committed")
	end := time.Now().Add(bound)
	wait := 100 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(context.Background(), min(5*time.Second, max(time.Until(end), time.Second)))
		var status *string
		err := s.db.DB.WithContext(ctx).Raw(`SELECT pg_xact_status(?::xid8)`, xid).Scan(&status).Error
		cancel()
		switch {
		case err != nil:
			log.Warn("commit outcome lookup failed; trying again", "lookup_err", err)
		case status == nil:
			// Too old to be known: cannot happen within the bound.
			log.Error("commit outcome unknown: transaction id no longer known")
			return &UnknownCommitError{Err: cerr}
		case *status == "committed":
			log.Warn("commit outcome found: committed")
			return nil
		case *status == "aborted":
			log.Warn("commit outcome found: not committed")
			return &UnknownCommitError{Err: cerr, Aborted: true}
		}
		// in progress: the backend has not finished the commit yet.
		if time.Now().Add(wait).After(end) {
			log.Error("commit outcome still unknown; giving up", "after", bound)
			return &UnknownCommitError{Err: cerr}
		}
		time.Sleep(wait)
		wait = min(wait*2, 2*time.Second)
	}
}
