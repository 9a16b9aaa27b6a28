package delivery

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"gent/daemon/mail"
	"gent/daemon/store"
	"gent/models"
)

// The outbound queue seen and steered by admins (docs/queue.md): every
// recipient of a send is a delivery with an id; it can be listed, retried
// now or cancelled, and deliveries to a domain can be paused.

// PauseRecheck bounds how long a delivery held by a delivery pause sleeps
// before it looks again (a pause with a later "until", or none, is
// re-read that often). Deleting a pause wakes its deliveries at once;
// this bound only matters when the wake-up crossed an attempt that was
// just then deciding to sleep.
var PauseRecheck = time.Minute

// QueueFilter narrows GET /v1/deliveries/.
type QueueFilter struct {
	Status  string // one of models.QueuedStatuses, or ""
	Domain  string // recipient domain, or ""
	InboxID string // or ""
}

// listedStatuses are the stored recipient statuses the queue shows (not
// the recipients of held, rejected or expired sends, which never entered
// it), by their API names.
var listedStatuses = map[string]string{
	RcptQueued:    models.QueuedStatusQueued,
	RcptDeferred:  models.QueuedStatusDeferred,
	RcptDelivered: models.QueuedStatusDelivered,
	RcptBounced:   models.QueuedStatusFailed,
	RcptCancelled: models.QueuedStatusCancelled,
}

func storedStatus(api string) string {
	for k, v := range listedStatuses {
		if v == api {
			return k
		}
	}
	return ""
}

type queueRow struct {
	ID            string
	OutboundID    string
	InboxID       string
	Address       string
	Domain        string
	Status        string
	Attempts      int
	NextAttemptAt *time.Time
	LastCode      int
	LastResponse  string
	MX            string `gorm:"column:mx"`
	DeliveredAt   *time.Time
	Paused        bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

func (r queueRow) model() models.QueuedDelivery {
	d := models.QueuedDelivery{ID: r.ID, MessageID: r.OutboundID, InboxID: r.InboxID, Recipient: r.Address, Domain: r.Domain,
		Status: listedStatuses[r.Status], Attempts: r.Attempts, NextAttemptAt: r.NextAttemptAt, MX: r.MX,
		DeliveredAt: r.DeliveredAt, Paused: r.Paused, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if d.Status == "" {
		d.Status = r.Status
	}
	if r.Attempts > 0 || r.LastResponse != "" {
		d.LastReply = &models.RemoteReply{Code: r.LastCode, Text: r.LastResponse}
	}
	return d
}

const queueSelect = `SELECT r.id, r.outbound_id, r.inbox_id, r.address, r.domain, r.status, r.attempts, r.next_attempt_at,
	r.last_code, r.last_response, r.mx, r.delivered_at, r.created_at, r.updated_at,
	(r.status IN ('queued', 'deferred') AND EXISTS (SELECT 1 FROM delivery_pauses p WHERE p.org_id = r.org_id AND p.domain = r.domain
		AND (p.until IS NULL OR p.until > now()))) AS paused
	FROM delivery_recipients r`

// ListDeliveries returns a page of the organization's deliveries, newest
// first.
func (s *Service) ListDeliveries(ctx context.Context, orgID string, f QueueFilter, cursor string, limit int) ([]models.QueuedDelivery, string, error) {
	where := []string{"r.org_id = ?"}
	args := []any{orgID}
	if f.Status != "" {
		st := storedStatus(f.Status)
		if st == "" {
			return nil, "", models.Invalid("status", "status must be one of %s", strings.Join(models.QueuedStatuses, ", "))
		}
		where, args = append(where, "r.status = ?"), append(args, st)
	} else {
		where = append(where, "r.status IN ('queued', 'deferred', 'delivered', 'bounced', 'cancelled')")
	}
	if f.Domain != "" {
		where, args = append(where, "r.domain = ?"), append(args, strings.ToLower(strings.TrimSuffix(f.Domain, ".")))
	}
	if f.InboxID != "" {
		where, args = append(where, "r.inbox_id = ?"), append(args, f.InboxID)
	}
	if cursor != "" {
		where, args = append(where, "r.id < ?"), append(args, cursor)
	}
	var rows []queueRow
	q := queueSelect + " WHERE " + strings.Join(where, " AND ") + " ORDER BY r.id DESC LIMIT ?"
	if err := s.db.DB.WithContext(ctx).Raw(q, append(args, limit+1)...).Scan(&rows).Error; err != nil {
		return nil, "", fmt.Errorf("list deliveries: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[limit-1].ID
	}
	out := make([]models.QueuedDelivery, len(rows))
	for i, r := range rows {
		out[i] = r.model()
	}
	return out, next, nil
}

// GetDelivery returns one delivery of the organization.
func (s *Service) GetDelivery(ctx context.Context, orgID, id string) (*models.QueuedDelivery, error) {
	return s.getDelivery(s.db.DB.WithContext(ctx), orgID, id)
}

func (s *Service) getDelivery(db *gorm.DB, orgID, id string) (*models.QueuedDelivery, error) {
	var rows []queueRow
	if err := db.Raw(queueSelect+" WHERE r.id = ? AND r.org_id = ?", id, orgID).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("load delivery: %w", err)
	}
	if len(rows) == 0 {
		return nil, models.NotFound("delivery")
	}
	d := rows[0].model()
	return &d, nil
}

// deliveryJobs are the River jobs that deliver the send's recipients on
// domain and have not finished.
func (s *Service) deliveryJobs(ctx context.Context, tx *gorm.DB, outboundID, domain string) (running bool, waiting []int64, err error) {
	refs, err := s.jobs.FindTx(ctx, tx, DeliverArgs{}.Kind(), map[string]string{"outbound_id": outboundID, "domain": domain},
		"available", "scheduled", "retryable", "running", "pending")
	if err != nil {
		return false, nil, err
	}
	for _, r := range refs {
		if r.State == "running" {
			running = true
		} else {
			waiting = append(waiting, r.ID)
		}
	}
	return running, waiting, nil
}

// inQueue is the conflict for a delivery that is not queued or deferred.
func notInQueue(status string) error {
	switch status {
	case RcptHeld:
		return models.Errorf(models.CodeConflict, "the delivery is held for approval, not queued")
	case RcptBounced:
		status = models.QueuedStatusFailed
	}
	return models.Errorf(models.CodeConflict, "the delivery is already %s", status)
}

// RetryDelivery makes a queued or deferred delivery's job run now instead
// of at its scheduled time. The attempt covers the send's other waiting
// recipients on the same domain (one SMTP transaction per domain); a
// delivery pause on the domain still holds it.
func (s *Service) RetryDelivery(ctx context.Context, orgID, id string) (*models.QueuedDelivery, error) {
	var out *models.QueuedDelivery
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var r queueRow
		res := tx.Raw(`SELECT id, outbound_id, domain, status FROM delivery_recipients WHERE id = ? AND org_id = ? FOR UPDATE`, id, orgID).Scan(&r)
		if res.Error != nil {
			return fmt.Errorf("load delivery: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return models.NotFound("delivery")
		}
		if r.Status != RcptQueued && r.Status != RcptDeferred {
			return notInQueue(r.Status)
		}
		running, waiting, err := s.deliveryJobs(ctx, tx, r.OutboundID, r.Domain)
		if err != nil {
			return err
		}
		switch {
		case running:
			// An attempt is under way: it is the one asked for.
		case len(waiting) == 0:
			// No job (lost with a restored backup, say): queue one.
			if err := s.jobs.InsertTx(ctx, tx, DeliverArgs{OutboundID: r.OutboundID, Domain: r.Domain}, &river.InsertOpts{Queue: Queue, MaxAttempts: 1000}); err != nil {
				return err
			}
		default:
			for _, j := range waiting {
				if err := s.jobs.RetryTx(ctx, tx, j); err != nil {
					return err
				}
			}
		}
		if !running {
			if err := tx.Exec(`UPDATE delivery_recipients SET next_attempt_at = now(), updated_at = now()
				WHERE outbound_id = ? AND domain = ? AND status IN ('queued', 'deferred')`, r.OutboundID, r.Domain).Error; err != nil {
				return fmt.Errorf("schedule retry: %w", err)
			}
		}
		out, err = s.getDelivery(tx, orgID, id)
		return err
	})
	return out, err
}

// CancelReason is the DSN's diagnostic for a cancelled delivery.
const CancelReason = "delivery cancelled by an administrator"

// CancelDelivery fails a queued or deferred delivery: a DSN in the sending
// inbox, message.bounced (with cancelled: true), the send's status
// updated. The address is not suppressed. An attempt under way cannot be
// cancelled (409; try again when it has answered).
func (s *Service) CancelDelivery(ctx context.Context, orgID, id, actor string) (*models.QueuedDelivery, error) {
	var out *models.QueuedDelivery
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		// Lock order as in recordTx: the recipient, then (aggregate) the send.
		var r queueRow
		res := tx.Raw(`SELECT id, outbound_id, address, domain, status, mx, last_response FROM delivery_recipients WHERE id = ? AND org_id = ? FOR UPDATE`,
			id, orgID).Scan(&r)
		if res.Error != nil {
			return fmt.Errorf("load delivery: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return models.NotFound("delivery")
		}
		if r.Status != RcptQueued && r.Status != RcptDeferred {
			return notInQueue(r.Status)
		}
		running, _, err := s.deliveryJobs(ctx, tx, r.OutboundID, r.Domain)
		if err != nil {
			return err
		}
		if running {
			return models.Errorf(models.CodeConflict, "an attempt to deliver it is under way; try again once it has answered")
		}
		if err := tx.Exec(`UPDATE delivery_recipients SET status = ?, next_attempt_at = NULL, updated_at = now() WHERE id = ?`,
			RcptCancelled, id).Error; err != nil {
			return fmt.Errorf("cancel delivery: %w", err)
		}
		var o sendRow
		if err := tx.Raw(`SELECT id, org_id, inbox_id, domain_id, message_id_header, envelope_from, raw, status, created_at
			FROM outbound_messages WHERE id = ?`, r.OutboundID).Scan(&o).Error; err != nil {
			return fmt.Errorf("load send: %w", err)
		}
		text := CancelReason
		if actor != "" {
			text += " (" + actor + ")"
		}
		if r.LastResponse != "" {
			text += "; last reply: " + r.LastResponse
		}
		if err := s.bounceTx(ctx, tx, &o, []bounce{{addr: r.Address, mx: r.MX, cancelled: true,
			r: result{enhanced: "5.0.0", text: text, perm: true}}}); err != nil {
			return err
		}
		if err := s.aggregate(tx, o.ID); err != nil {
			return err
		}
		out, err = s.getDelivery(tx, orgID, id)
		return err
	})
	return out, err
}

// QueueDepth counts the recipients waiting, by state: held (for
// approval), queued (not attempted yet) and deferred (to be retried),
// across organizations. It reads one index (delivery_recipients_status_idx)
// and never the finished rows, so it stays cheap however long the history.
func QueueDepth(ctx context.Context, db *gorm.DB) (map[string]int64, error) {
	var rows []struct {
		Status string
		N      int64
	}
	if err := db.WithContext(ctx).Raw(`SELECT status, count(*) AS n FROM delivery_recipients
		WHERE status IN ('held', 'queued', 'deferred') GROUP BY status`).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("queue depth: %w", err)
	}
	out := map[string]int64{RcptHeld: 0, RcptQueued: 0, RcptDeferred: 0}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, nil
}

// Delivery pauses.

const maxPauseReason = 500

type pauseRow struct {
	ID        string
	Domain    string
	Reason    string
	Until     *time.Time
	CreatedBy string
	CreatedAt time.Time
	Inserted  bool
}

func (p pauseRow) model() models.DeliveryPause {
	return models.DeliveryPause{ID: p.ID, Domain: p.Domain, Reason: p.Reason, Until: p.Until, CreatedBy: p.CreatedBy, CreatedAt: p.CreatedAt}
}

// CreatePause pauses deliveries of the organization to a domain (the
// recipient domain, exactly), or replaces the domain's pause; created
// tells which.
func (s *Service) CreatePause(ctx context.Context, orgID, actor string, req models.DeliveryPauseRequest) (*models.DeliveryPause, bool, error) {
	domain := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(req.Domain), "."))
	if err := mail.CheckDomain(domain); err != nil {
		return nil, false, models.Invalid("domain", "%s", err.Error())
	}
	if len(req.Reason) > maxPauseReason {
		return nil, false, models.Invalid("reason", "the reason is longer than %d characters", maxPauseReason)
	}
	if req.Until != nil && !req.Until.After(s.now()) {
		return nil, false, models.Invalid("until", "until must be in the future (omit it to pause until the pause is deleted)")
	}
	var p pauseRow
	err := s.db.DB.WithContext(ctx).Raw(`INSERT INTO delivery_pauses (id, org_id, domain, reason, until, created_by) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (org_id, domain) DO UPDATE SET reason = excluded.reason, until = excluded.until, created_by = excluded.created_by, created_at = now()
		RETURNING id, domain, reason, until, created_by, created_at, (xmax = 0) AS inserted`,
		models.NewID(models.PrefixPause), orgID, domain, req.Reason, req.Until, actor).Scan(&p).Error
	if err != nil {
		return nil, false, store.WrapError(err, "delivery pause")
	}
	m := p.model()
	return &m, p.Inserted, nil
}

// ListPauses returns a page of the organization's pauses in force, newest
// first.
func (s *Service) ListPauses(ctx context.Context, orgID, cursor string, limit int) ([]models.DeliveryPause, string, error) {
	q := s.db.DB.WithContext(ctx).Table("delivery_pauses").Where("org_id = ? AND (until IS NULL OR until > now())", orgID)
	if cursor != "" {
		q = q.Where("id < ?", cursor)
	}
	var rows []pauseRow
	if err := q.Select("id, domain, reason, until, created_by, created_at").Order("id DESC").Limit(limit + 1).Scan(&rows).Error; err != nil {
		return nil, "", fmt.Errorf("list delivery pauses: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[limit-1].ID
	}
	out := make([]models.DeliveryPause, len(rows))
	for i, r := range rows {
		out[i] = r.model()
	}
	return out, next, nil
}

// DeletePause ends a pause: the domain's waiting deliveries of the
// organization are made due at once (their jobs run now, not at the time
// they were sleeping until), in the same transaction.
func (s *Service) DeletePause(ctx context.Context, orgID, id string) error {
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		var domains []string
		if err := tx.Raw(`DELETE FROM delivery_pauses WHERE id = ? AND org_id = ? RETURNING domain`, id, orgID).Scan(&domains).Error; err != nil {
			return fmt.Errorf("delete delivery pause: %w", err)
		}
		if len(domains) == 0 {
			return models.NotFound("delivery pause")
		}
		var sends []string
		if err := tx.Raw(`SELECT DISTINCT outbound_id FROM delivery_recipients WHERE org_id = ? AND domain = ? AND status IN ('queued', 'deferred')`,
			orgID, domains[0]).Scan(&sends).Error; err != nil {
			return fmt.Errorf("load paused deliveries: %w", err)
		}
		for _, o := range sends {
			_, waiting, err := s.deliveryJobs(ctx, tx, o, domains[0])
			if err != nil {
				return err
			}
			for _, j := range waiting {
				if err := s.jobs.RetryTx(ctx, tx, j); err != nil {
					return err
				}
			}
		}
		if err := tx.Exec(`UPDATE delivery_recipients SET next_attempt_at = now() WHERE org_id = ? AND domain = ? AND status IN ('queued', 'deferred')`,
			orgID, domains[0]).Error; err != nil {
			return fmt.Errorf("resume paused deliveries: %w", err)
		}
		return nil
	})
}

// holdPaused records when the paused recipients will be looked at again,
// and since when a pause holds them (the first time).
func (s *Service) holdPaused(ctx context.Context, o *sendRow, domain string, wait time.Duration) error {
	if err := s.db.DB.WithContext(ctx).Exec(`UPDATE delivery_recipients SET next_attempt_at = now() + ? * interval '1 millisecond',
		paused_since = coalesce(paused_since, now())
		WHERE outbound_id = ? AND domain = ? AND status IN ('queued', 'deferred')`, wait.Milliseconds(), o.ID, domain).Error; err != nil {
		return fmt.Errorf("hold paused delivery: %w", err)
	}
	return nil
}

// settlePaused adds the time a pause held the recipients to their
// paused_ms, which moves their give-up time (outbound.give_up_after) back
// by as much: the window is not spent while no attempt may be made.
func (s *Service) settlePaused(ctx context.Context, o *sendRow, domain string) error {
	if err := s.db.DB.WithContext(ctx).Exec(`UPDATE delivery_recipients
		SET paused_ms = paused_ms + greatest((extract(epoch FROM now() - paused_since) * 1000)::bigint, 0), paused_since = NULL
		WHERE outbound_id = ? AND domain = ? AND paused_since IS NOT NULL`, o.ID, domain).Error; err != nil {
		return fmt.Errorf("settle paused time: %w", err)
	}
	return nil
}
