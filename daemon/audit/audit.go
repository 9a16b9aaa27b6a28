// Package audit records who did what to which object, with what outcome,
// and lists the trail per organization.
package audit

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"gorm.io/gorm"

	"gent/daemon/store"
	"gent/models"
)

// Outcomes.
const (
	Success = "success"
	Failure = "failure"
	Denied  = "denied"
)

type Service struct {
	db  *store.Store
	log *slog.Logger
}

func NewService(db *store.Store, log *slog.Logger) *Service {
	return &Service{db: db, log: log}
}

// Entry is what a caller records.
type Entry struct {
	OrgID      string
	ActorType  string // user, token, system, anonymous
	ActorID    string
	Action     string
	TargetType string
	TargetID   string
	Outcome    string
	Status     int
	RemoteAddr string
	RequestID  string
	Detail     map[string]any
}

// Record writes an entry; with a non-nil tx it commits with that
// transaction.
func (s *Service) Record(ctx context.Context, tx *gorm.DB, e Entry) error {
	detail := e.Detail
	if detail == nil {
		detail = map[string]any{}
	}
	b, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("record audit entry: %w", err)
	}
	var org *string
	if e.OrgID != "" {
		org = &e.OrgID
	}
	args := []any{models.NewID(models.PrefixAudit), org, e.ActorType, e.ActorID, e.Action, e.TargetType, e.TargetID,
		e.Outcome, e.Status, e.RemoteAddr, e.RequestID, string(b), time.Now().UTC()}
	// Plain SQL: every mutation writes one, so it stays off GORM's
	// reflection.
	if stx := sqlTx(tx); stx != nil {
		_, err = stx.ExecContext(ctx, insertSQL, args...)
	} else {
		_, err = s.db.Pool.Exec(ctx, insertSQL, args...)
	}
	if err != nil {
		return fmt.Errorf("record audit entry: %w", err)
	}
	return nil
}

// RecordAll writes entries in one statement inside tx (a transaction).
func (s *Service) RecordAll(ctx context.Context, tx *gorm.DB, entries ...Entry) error {
	if len(entries) == 0 {
		return nil
	}
	stx := sqlTx(tx)
	if stx == nil {
		return fmt.Errorf("record audit entries: not inside a transaction")
	}
	n := len(entries)
	ids, orgs, types, actors, actions, ttypes, targets, outcomes, addrs, reqs, details :=
		make([]string, n), make([]*string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	statuses := make([]int32, n)
	for i, e := range entries {
		detail := e.Detail
		if detail == nil {
			detail = map[string]any{}
		}
		b, err := json.Marshal(detail)
		if err != nil {
			return fmt.Errorf("record audit entries: %w", err)
		}
		if e.OrgID != "" {
			org := e.OrgID
			orgs[i] = &org
		}
		ids[i], types[i], actors[i], actions[i], ttypes[i], targets[i] = models.NewID(models.PrefixAudit), e.ActorType, e.ActorID,
			e.Action, e.TargetType, e.TargetID
		outcomes[i], statuses[i], addrs[i], reqs[i], details[i] = e.Outcome, int32(e.Status), e.RemoteAddr, e.RequestID, string(b)
	}
	if _, err := stx.ExecContext(ctx, `INSERT INTO audit_log (id, org_id, actor_type, actor_id, action, target_type, target_id,
			outcome, status, remote_addr, request_id, detail, created_at)
		SELECT e.*, $13 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
			$9::int[], $10::text[], $11::text[], $12::jsonb[]) AS e`,
		ids, orgs, types, actors, actions, ttypes, targets, outcomes, statuses, addrs, reqs, details, time.Now().UTC()); err != nil {
		return fmt.Errorf("record audit entries: %w", err)
	}
	return nil
}

// sqlTx is the transaction under tx, or nil (no tx, or not one).
func sqlTx(tx *gorm.DB) *sql.Tx {
	if tx == nil {
		return nil
	}
	return store.SQLTx(tx)
}

const insertSQL = `INSERT INTO audit_log (id, org_id, actor_type, actor_id, action, target_type, target_id, outcome, status,
	remote_addr, request_id, detail, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`

// Filter narrows a listing.
type Filter struct {
	Action    string
	ActorID   string
	ActorType string
	TargetID  string
}

// List returns one page of the organization's trail, newest first.
func (s *Service) List(ctx context.Context, orgID string, f Filter, cursor string, limit int) ([]models.AuditEntry, string, error) {
	q := s.db.DB.WithContext(ctx).Where("org_id = ?", orgID)
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.ActorID != "" {
		q = q.Where("actor_id = ?", f.ActorID)
	}
	if f.ActorType != "" {
		q = q.Where("actor_type = ?", f.ActorType)
	}
	if f.TargetID != "" {
		q = q.Where("target_id = ?", f.TargetID)
	}
	if cursor != "" {
		q = q.Where("id < ?", cursor)
	}
	var rows []models.AuditEntry
	if err := q.Order("id DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, "", fmt.Errorf("list audit: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[limit-1].ID
	}
	return rows, next, nil
}
