// Package audit records who did what to which object, with what outcome,
// and lists the trail per organization.
package audit

import (
	"context"
	"fmt"
	"log/slog"

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
	if tx == nil {
		tx = s.db.DB
	}
	row := models.AuditEntry{
		ID: models.NewID(models.PrefixAudit), ActorType: e.ActorType, ActorID: e.ActorID,
		Action: e.Action, TargetType: e.TargetType, TargetID: e.TargetID, Outcome: e.Outcome,
		Status: e.Status, RemoteAddr: e.RemoteAddr, RequestID: e.RequestID, Detail: e.Detail,
	}
	if row.Detail == nil {
		row.Detail = map[string]any{}
	}
	if e.OrgID != "" {
		org := e.OrgID
		row.OrgID = &org
	}
	if err := tx.WithContext(ctx).Create(&row).Error; err != nil {
		return fmt.Errorf("record audit entry: %w", err)
	}
	return nil
}

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
