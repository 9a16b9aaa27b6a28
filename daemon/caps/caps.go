// Package caps keeps the storage caps of inboxes: their limit and mode,
// the alerts raised as usage crosses thresholds, the hourly usage records
// that bill overage, and a check of the usage counters against the
// messages they count.
//
// The usage counter itself (inboxes.used_bytes) is kept by the message
// store, in the transaction of every insert and delete; under an enforce
// cap its UPDATE refuses growth past the limit. This package sets the
// limit, and its UsageHook runs in those transactions when a change
// crosses an alert boundary.
package caps

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"gent/daemon/audit"
	"gent/daemon/config"
	"gent/daemon/events"
	"gent/daemon/store"
	"gent/models"
)

// Limits of a cap.
const (
	// MaxLimitGB is the largest limit_gb (1 PB).
	MaxLimitGB = 1_000_000
	// MaxThresholds is how many alert thresholds a cap may have.
	MaxThresholds = 10
)

type Service struct {
	db     *store.Store
	events *events.Service
	audit  *audit.Service
	log    *slog.Logger

	// interval is how often the usage sampler runs (caps.sample_interval).
	interval time.Duration

	mu  sync.RWMutex
	now func() time.Time
}

func NewService(db *store.Store, ev *events.Service, au *audit.Service, cfg config.Config, log *slog.Logger) *Service {
	return &Service{db: db, events: ev, audit: au, log: log, interval: cfg.Caps.SampleInterval.D(), now: time.Now}
}

// SetClock replaces the clock the sampler and the reports read (tests).
func (s *Service) SetClock(now func() time.Time) {
	s.mu.Lock()
	s.now = now
	s.mu.Unlock()
}

// Now returns the service clock's time.
func (s *Service) Now() time.Time {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.now()
}

// LimitBytes converts limit_gb to bytes (1 GB = 10^9 bytes), rounded to
// the nearest byte.
func LimitBytes(gb float64) int64 { return int64(math.Round(gb * models.BytesPerGB)) }

// boundary is the usage in bytes at which a threshold (percent of limit)
// counts as reached: ceil(limit × threshold / 100).
func boundary(limit int64, threshold int) int64 {
	return (limit*int64(threshold) + 99) / 100
}

// percent is used as a percentage of limit, to two decimals.
func percent(used, limit int64) float64 {
	return math.Round(float64(used)*10000/float64(limit)) / 100
}

// validate checks a PUT body and returns the cap it sets.
func validate(req models.SetCapRequest) (limit int64, mode string, thresholds []int, err error) {
	if strings.TrimSpace(req.InboxID) == "" {
		return 0, "", nil, models.Invalid("inbox_id", "inbox_id is required")
	}
	if req.LimitGB == nil {
		return 0, "", nil, models.Invalid("limit_gb", "limit_gb is required: the cap in GB (1 GB = 10^9 bytes), e.g. 10 or 0.5")
	}
	gb := *req.LimitGB
	if math.IsNaN(gb) || gb <= 0 {
		return 0, "", nil, models.Invalid("limit_gb", "limit_gb must be a positive number of GB (1 GB = 10^9 bytes), e.g. 10 or 0.5")
	}
	if gb > MaxLimitGB {
		return 0, "", nil, models.Invalid("limit_gb", "limit_gb may be at most %d", MaxLimitGB)
	}
	if limit = LimitBytes(gb); limit < 1 {
		return 0, "", nil, models.Invalid("limit_gb", "limit_gb must be at least 0.000000001 (one byte)")
	}
	switch req.Mode {
	case models.CapEnforce, models.CapAllowAndBill:
		mode = req.Mode
	case "":
		return 0, "", nil, models.Invalid("mode", "mode is required: enforce or allow_and_bill")
	default:
		return 0, "", nil, models.Invalid("mode", "mode must be enforce or allow_and_bill, not %q", req.Mode)
	}
	thresholds = req.AlertThresholds
	if thresholds == nil {
		thresholds = models.DefaultAlertThresholds
	}
	if len(thresholds) > MaxThresholds {
		return 0, "", nil, models.Invalid("alert_thresholds", "a cap has at most %d alert thresholds", MaxThresholds)
	}
	seen := map[int]bool{}
	for i, t := range thresholds {
		f := fmt.Sprintf("alert_thresholds[%d]", i)
		if t < 1 || t > 100 {
			return 0, "", nil, models.Invalid(f, "an alert threshold is a whole percentage from 1 to 100, not %d", t)
		}
		if seen[t] {
			return 0, "", nil, models.Invalid(f, "alert threshold %d is listed twice", t)
		}
		seen[t] = true
	}
	sorted := make([]int, 0, len(thresholds))
	for t := 1; t <= 100; t++ {
		if seen[t] {
			sorted = append(sorted, t)
		}
	}
	return limit, mode, sorted, nil
}

// intArray is the Postgres literal of an int[] ("{80,95}").
func intArray(v []int) string {
	parts := make([]string, len(v))
	for i, n := range v {
		parts[i] = strconv.Itoa(n)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// inboxCap is an inbox row as this package reads it.
type inboxCap struct {
	ID            string
	OrgID         string
	Address       string
	UsedBytes     int64
	MessageCount  int64
	CapLimitBytes *int64
	CapMode       *string
	CapUpdatedAt  *time.Time
}

const inboxCapColumns = `id, org_id, address, used_bytes, message_count, cap_limit_bytes, cap_mode, cap_updated_at`

// lockInbox locks an active inbox of the organization for the rest of tx
// and reads it; another organization's inbox is not found.
func lockInbox(ctx context.Context, tx *gorm.DB, orgID, inboxID string) (*inboxCap, error) {
	var rows []inboxCap
	if err := tx.WithContext(ctx).Raw(`SELECT `+inboxCapColumns+` FROM inboxes
		WHERE id = ? AND org_id = ? AND status = 'active' FOR NO KEY UPDATE`, inboxID, orgID).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("lock inbox: %w", err)
	}
	if len(rows) == 0 {
		return nil, &models.Error{Code: models.CodeNotFound, Message: "inbox not found", Field: "inbox_id"}
	}
	return &rows[0], nil
}

// capDetail describes a cap for the audit trail.
func capDetail(limit *int64, mode *string, thresholds []int) map[string]any {
	if limit == nil || mode == nil {
		return nil
	}
	return map[string]any{"limit_bytes": *limit, "mode": *mode, "alert_thresholds": thresholds}
}

func (s *Service) thresholds(ctx context.Context, tx *gorm.DB, inboxID string) ([]int, error) {
	var out []int
	if err := tx.WithContext(ctx).Raw(`SELECT threshold FROM cap_alerts WHERE inbox_id = ? ORDER BY threshold`, inboxID).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("read alert thresholds: %w", err)
	}
	return out, nil
}

// Set replaces an inbox's cap (PUT /v1/billing/caps/mailbox/). The
// billing interval running at the old terms is closed first, and the new
// terms hold from now on; every
// armed threshold the inbox's usage already reaches under the new cap
// fires at once, and fired thresholds it no longer reaches re-arm.
// Thresholds kept from the previous cap keep their state.
func (s *Service) Set(ctx context.Context, orgID, actorID string, req models.SetCapRequest) (*models.MailboxCap, error) {
	limit, mode, thresholds, err := validate(req)
	if err != nil {
		return nil, err
	}
	var out *models.MailboxCap
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := lockSampler(ctx, tx); err != nil {
			return err
		}
		in, err := lockInbox(ctx, tx, orgID, req.InboxID)
		if err != nil {
			return err
		}
		before, err := s.thresholds(ctx, tx, in.ID)
		if err != nil {
			return err
		}
		now := s.Now()
		if _, err := s.sample(ctx, tx, now, "", []string{in.ID}, false); err != nil {
			return err
		}
		db := tx.WithContext(ctx)
		if err := db.Exec(`UPDATE inboxes SET cap_limit_bytes = ?, cap_mode = ?, cap_updated_at = now() WHERE id = ?`,
			limit, mode, in.ID).Error; err != nil {
			return fmt.Errorf("set cap: %w", err)
		}
		if err := db.Exec(`DELETE FROM cap_alerts WHERE inbox_id = ? AND NOT (threshold = ANY(?::int[]))`,
			in.ID, intArray(thresholds)).Error; err != nil {
			return fmt.Errorf("set cap: alerts: %w", err)
		}
		if err := db.Exec(`INSERT INTO cap_alerts (org_id, inbox_id, threshold) SELECT ?, ?, unnest(?::int[]) ON CONFLICT DO NOTHING`,
			orgID, in.ID, intArray(thresholds)).Error; err != nil {
			return fmt.Errorf("set cap: alerts: %w", err)
		}
		if err := s.evaluate(ctx, tx, orgID, in.ID); err != nil {
			return err
		}
		if _, err := s.sample(ctx, tx, now, "", []string{in.ID}, true); err != nil {
			return err
		}
		if err := s.audit.Record(ctx, tx, audit.Entry{OrgID: orgID, ActorType: "user", ActorID: actorID,
			Action: "caps.changed", TargetType: "inbox", TargetID: in.ID, Outcome: audit.Success,
			Detail: map[string]any{"before": capDetail(in.CapLimitBytes, in.CapMode, before),
				"after": capDetail(&limit, &mode, thresholds), "used_bytes": in.UsedBytes}}); err != nil {
			return err
		}
		views, _, err := s.views(ctx, tx, orgID, "", 1, in.ID)
		if err != nil {
			return err
		}
		out = &views[0]
		return nil
	})
	return out, err
}

// Remove takes an inbox's cap away (no limit, no alerts). An inbox
// without a cap is left as it is.
func (s *Service) Remove(ctx context.Context, orgID, actorID, inboxID string) error {
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := lockSampler(ctx, tx); err != nil {
			return err
		}
		in, err := lockInbox(ctx, tx, orgID, inboxID)
		if err != nil {
			if models.ErrorCode(err) == models.CodeNotFound {
				return models.NotFound("inbox")
			}
			return err
		}
		if in.CapLimitBytes == nil && in.CapMode == nil {
			return nil
		}
		before, err := s.thresholds(ctx, tx, in.ID)
		if err != nil {
			return err
		}
		now := s.Now()
		if _, err := s.sample(ctx, tx, now, "", []string{in.ID}, false); err != nil {
			return err
		}
		db := tx.WithContext(ctx)
		if err := db.Exec(`UPDATE inboxes SET cap_limit_bytes = NULL, cap_mode = NULL, cap_updated_at = now(),
			cap_alert_at = NULL, cap_rearm_below = NULL WHERE id = ?`, in.ID).Error; err != nil {
			return fmt.Errorf("remove cap: %w", err)
		}
		if _, err := s.sample(ctx, tx, now, "", []string{in.ID}, true); err != nil {
			return err
		}
		if err := db.Exec(`DELETE FROM cap_alerts WHERE inbox_id = ?`, in.ID).Error; err != nil {
			return fmt.Errorf("remove cap: %w", err)
		}
		return s.audit.Record(ctx, tx, audit.Entry{OrgID: orgID, ActorType: "user", ActorID: actorID,
			Action: "caps.removed", TargetType: "inbox", TargetID: in.ID, Outcome: audit.Success,
			Detail: map[string]any{"before": capDetail(in.CapLimitBytes, in.CapMode, before), "used_bytes": in.UsedBytes}})
	})
}

// Get returns one inbox's usage and cap.
func (s *Service) Get(ctx context.Context, orgID, inboxID string) (*models.MailboxCap, error) {
	views, _, err := s.views(ctx, s.db.DB, orgID, "", 1, inboxID)
	if err != nil {
		return nil, err
	}
	if len(views) == 0 {
		return nil, models.NotFound("inbox")
	}
	return &views[0], nil
}

// List returns a page of the organization's inboxes with their usage and
// caps, by inbox id; inboxes without a cap are listed with cap null.
func (s *Service) List(ctx context.Context, orgID, cursor string, limit int) ([]models.MailboxCap, string, error) {
	if cursor != "" && !models.HasPrefix(cursor, models.PrefixInbox) {
		return nil, "", models.Invalid("cursor", "cursor is not valid")
	}
	return s.views(ctx, s.db.DB, orgID, cursor, limit, "")
}

// views reads a page of inboxes (or the one inbox only) with their alerts
// and this month's overage: three indexed queries, no scan of messages.
func (s *Service) views(ctx context.Context, db *gorm.DB, orgID, cursor string, limit int, only string) ([]models.MailboxCap, string, error) {
	q := db.WithContext(ctx).Table("inboxes").Select(inboxCapColumns).Where("org_id = ? AND status = 'active'", orgID)
	if only != "" {
		q = q.Where("id = ?", only)
	}
	if cursor != "" {
		q = q.Where("id > ?", cursor)
	}
	var rows []inboxCap
	if err := q.Order("id").Limit(limit + 1).Scan(&rows).Error; err != nil {
		return nil, "", fmt.Errorf("list caps: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[limit-1].ID
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var alerts []struct {
		InboxID   string
		Threshold int
		FiredAt   *time.Time
	}
	if err := db.WithContext(ctx).Raw(`SELECT inbox_id, threshold, fired_at FROM cap_alerts
		WHERE inbox_id = ANY(?::text[]) ORDER BY inbox_id, threshold`, models.StringArray(ids)).Scan(&alerts).Error; err != nil {
		return nil, "", fmt.Errorf("list caps: alerts: %w", err)
	}
	now := s.Now().UTC()
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	var overage []struct {
		InboxID string
		GBHours float64
	}
	if err := db.WithContext(ctx).Raw(`SELECT inbox_id, (sum(overage_byte_seconds) / 3600e9)::float8 AS gb_hours FROM usage_hours
		WHERE org_id = ? AND inbox_id = ANY(?::text[]) AND hour >= ? GROUP BY inbox_id`,
		orgID, models.StringArray(ids), month).Scan(&overage).Error; err != nil {
		return nil, "", fmt.Errorf("list caps: overage: %w", err)
	}
	byInbox := map[string][]models.CapAlert{}
	out := make([]models.MailboxCap, len(rows))
	for i, r := range rows {
		v := models.MailboxCap{InboxID: r.ID, Address: r.Address, UsedBytes: r.UsedBytes, MessageCount: r.MessageCount,
			Alerts: []models.CapAlert{}, Overage: models.CapOverage{MonthStart: month}}
		if r.CapLimitBytes != nil && r.CapMode != nil {
			l := *r.CapLimitBytes
			v.Cap = &models.Cap{LimitGB: float64(l) / models.BytesPerGB, LimitBytes: l, Mode: *r.CapMode, AlertThresholds: []int{}}
			if r.CapUpdatedAt != nil {
				v.Cap.UpdatedAt = *r.CapUpdatedAt
			}
			p := percent(r.UsedBytes, l)
			v.Percent = &p
			if *r.CapMode == models.CapAllowAndBill && r.UsedBytes > l {
				v.Overage.Bytes = r.UsedBytes - l
			}
		}
		out[i] = v
	}
	index := map[string]int{}
	for i, r := range rows {
		index[r.ID] = i
	}
	for _, a := range alerts {
		i := index[a.InboxID]
		c := out[i].Cap
		if c == nil {
			continue
		}
		al := models.CapAlert{Threshold: a.Threshold, ThresholdBytes: boundary(c.LimitBytes, a.Threshold),
			State: models.AlertArmed, FiredAt: a.FiredAt}
		if a.FiredAt != nil {
			al.State = models.AlertFired
		}
		byInbox[a.InboxID] = append(byInbox[a.InboxID], al)
		c.AlertThresholds = append(c.AlertThresholds, a.Threshold)
	}
	for id, al := range byInbox {
		out[index[id]].Alerts = al
	}
	for _, o := range overage {
		out[index[o.InboxID]].Overage.MonthGBHours = o.GBHours
	}
	return out, next, nil
}
