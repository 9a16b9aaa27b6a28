package events

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"gent/daemon/audit"
	"gent/daemon/config"
	"gent/daemon/jobs"
	"gent/daemon/metrics"
	"gent/daemon/store"
	"gent/models"
)

// SecretBox seals webhook signing secrets at rest (secrets.Box: AES-GCM
// under the master key). The secret must be opened again to sign each
// delivery, so it cannot merely be hashed. context binds a sealed value to
// its row.
type SecretBox interface {
	Seal(plaintext []byte, context string) []byte
	Open(sealed []byte, context string) ([]byte, error)
}

// secretContext binds a webhook's sealed secret to that webhook.
func secretContext(webhookID string) string { return "webhooks.secret:" + webhookID }

// Enqueuer inserts a job in the caller's transaction (jobs.Jobs).
type Enqueuer interface {
	InsertTx(ctx context.Context, tx *gorm.DB, args river.JobArgs, opts *river.InsertOpts) error
}

// MaxWebhooksPerOrg bounds the fan-out of one event.
const MaxWebhooksPerOrg = 100

// Webhooks manages an organization's endpoints and delivers events to
// them: one delivery row and one River job per (event, endpoint), enqueued
// in the transaction that emits the event.
type Webhooks struct {
	db       *store.Store
	events   *Service
	audit    *audit.Service
	box      SecretBox
	cfg      config.Webhooks
	log      *slog.Logger
	resolver *net.Resolver
	client   *http.Client
	jobs     Enqueuer
	metrics  *metrics.Metrics
}

// SetMetrics makes the service count its delivery attempts.
func (w *Webhooks) SetMetrics(m *metrics.Metrics) { w.metrics = m }

// NewWebhooks builds the webhook service. Call Register before the job
// client is built, and Attach once it is.
func NewWebhooks(db *store.Store, ev *Service, au *audit.Service, box SecretBox, cfg config.Config, log *slog.Logger) *Webhooks {
	w := &Webhooks{db: db, events: ev, audit: au, box: box, cfg: cfg.Webhooks, log: log, resolver: net.DefaultResolver}
	if cfg.DNS.Resolver != "" {
		addr := cfg.DNS.Resolver
		w.resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}}
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Resolver: w.resolver}
	if !cfg.Webhooks.AllowPrivateTargets {
		dialer.Control = dialControl
	}
	timeout := cfg.Webhooks.Timeout.D()
	w.client = &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil, // a proxy would hide the target from the address check
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: timeout,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
		},
		// A redirect is an answer, not a success: endpoints must answer 2xx.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return w
}

// Register adds the delivery worker to the job registry.
func (w *Webhooks) Register(reg *jobs.Registry) {
	river.AddWorker(reg.Workers, &deliverWorker{w: w})
}

// Attach starts fanning events out: from now on every Emit enqueues a
// delivery for each matching enabled webhook, with j, in its transaction.
func (w *Webhooks) Attach(j Enqueuer) {
	w.jobs = j
	w.events.setFanOut(w.fanOut)
}

// Create validates and stores a webhook; the returned secret is shown once.
func (w *Webhooks) Create(ctx context.Context, orgID, actorID string, req models.CreateWebhookRequest) (*models.WebhookCreated, error) {
	u, err := w.checkURL(ctx, req.URL)
	if err != nil {
		return nil, err
	}
	types, err := checkTypes(req.EventTypes)
	if err != nil {
		return nil, err
	}
	var inboxID *string
	if req.InboxID != nil {
		id := strings.TrimSpace(*req.InboxID)
		var n int64
		if id != "" {
			if err := w.db.DB.WithContext(ctx).Raw(`SELECT count(*) FROM inboxes WHERE id = ? AND org_id = ?`, id, orgID).Scan(&n).Error; err != nil {
				return nil, err
			}
		}
		if n == 0 {
			return nil, models.Invalid("inbox_id", "no inbox %q in your organization", id)
		}
		inboxID = &id
	}
	id, secret := models.NewID(models.PrefixWebhook), NewSecret()
	hook := models.Webhook{ID: id, OrgID: orgID, URL: u, EventTypes: types, InboxID: inboxID,
		Secret: w.box.Seal([]byte(secret), secretContext(id)), Status: models.WebhookEnabled, CreatedBy: actorID}
	err = w.db.Tx(ctx, func(tx *gorm.DB) error {
		// Serialize creations per organization so the cap holds.
		if err := tx.Exec(`SELECT pg_advisory_xact_lock(hashtext('webhooks:' || ?))`, orgID).Error; err != nil {
			return err
		}
		var n int64
		if err := tx.Raw(`SELECT count(*) FROM webhooks WHERE org_id = ?`, orgID).Scan(&n).Error; err != nil {
			return err
		}
		if n >= MaxWebhooksPerOrg {
			return models.Errorf(models.CodeConflict, "an organization may have at most %d webhooks; delete one first", MaxWebhooksPerOrg)
		}
		return tx.Create(&hook).Error
	})
	if err != nil {
		return nil, store.WrapError(err, "webhook")
	}
	return &models.WebhookCreated{Webhook: hook, Secret: secret}, nil
}

// checkURL validates a target URL and, unless private targets are allowed,
// refuses hosts that resolve to non-public addresses.
func (w *Webhooks) checkURL(ctx context.Context, raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", models.Invalid("url", "url is required")
	}
	if len(raw) > 2048 {
		return "", models.Invalid("url", "url must be at most 2048 characters")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return "", models.Invalid("url", "url must be an absolute http:// or https:// URL")
	}
	if u.User != nil {
		return "", models.Invalid("url", "url must not carry credentials; authenticate deliveries with the signature")
	}
	if u.Fragment != "" {
		return "", models.Invalid("url", "url must not have a #fragment")
	}
	host := u.Hostname()
	if host == "" {
		return "", models.Invalid("url", "url has no host")
	}
	if p := u.Port(); p != "" {
		var n int
		if _, err := fmt.Sscanf(p, "%d", &n); err != nil || n < 1 || n > 65535 {
			return "", models.Invalid("url", "url has an invalid port %q", p)
		}
	}
	if !w.cfg.AllowPrivateTargets {
		if err := checkHost(ctx, w.resolver, host); err != nil {
			return "", models.Invalid("url", "url refused: %s", err.Error())
		}
	}
	return u.String(), nil
}

func checkTypes(in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, models.Invalid("event_types", "event_types must list at least one event type; known types: %s", strings.Join(models.EventTypes, ", "))
	}
	var out []string
	for i, t := range in {
		if !slices.Contains(models.EventTypes, t) {
			return nil, models.Invalid(fmt.Sprintf("event_types[%d]", i), "unknown event type %q; known types: %s", t, strings.Join(models.EventTypes, ", "))
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// List returns a page of the organization's webhooks, oldest first.
func (w *Webhooks) List(ctx context.Context, orgID, cursor string, limit int) ([]models.Webhook, string, error) {
	var rows []models.Webhook
	q := w.db.DB.WithContext(ctx).Where("org_id = ?", orgID)
	if cursor != "" {
		q = q.Where("id > ?", cursor)
	}
	if err := q.Order("id").Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[limit-1].ID
	}
	return rows, next, nil
}

// Get returns one webhook of the organization.
func (w *Webhooks) Get(ctx context.Context, orgID, id string) (*models.Webhook, error) {
	var hook models.Webhook
	if err := w.db.DB.WithContext(ctx).Take(&hook, "id = ? AND org_id = ?", id, orgID).Error; err != nil {
		return nil, store.WrapError(err, "webhook")
	}
	return &hook, nil
}

// Delete removes a webhook with its delivery history; jobs still queued
// for it find nothing to do.
func (w *Webhooks) Delete(ctx context.Context, orgID, id string) error {
	res := w.db.DB.WithContext(ctx).Exec(`DELETE FROM webhooks WHERE id = ? AND org_id = ?`, id, orgID)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return models.NotFound("webhook")
	}
	return nil
}

// Deliveries returns a page of a webhook's deliveries, newest first,
// optionally only those with status.
func (w *Webhooks) Deliveries(ctx context.Context, orgID, webhookID, status, cursor string, limit int) ([]models.WebhookDelivery, string, error) {
	switch status {
	case "", models.DeliveryPending, models.DeliveryRetrying, models.DeliverySucceeded, models.DeliveryFailed, models.DeliveryCanceled:
	default:
		return nil, "", models.Invalid("status", "status must be pending, retrying, succeeded, failed or canceled")
	}
	if _, err := w.Get(ctx, orgID, webhookID); err != nil {
		return nil, "", err
	}
	q := w.db.DB.WithContext(ctx).Where("webhook_id = ? AND org_id = ?", webhookID, orgID)
	if status != "" {
		q = q.Where("status = ?", status)
	}
	if cursor != "" {
		q = q.Where("id < ?", cursor)
	}
	var rows []models.WebhookDelivery
	if err := q.Order("id DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[limit-1].ID
	}
	return rows, next, nil
}

// fanOut runs in the transaction of an event that enabled webhooks want
// (ids, found by the event's insert): it records a delivery and enqueues
// its job for each.
func (w *Webhooks) fanOut(ctx context.Context, tx *gorm.DB, ev *models.Event, ids []string) error {
	for _, id := range ids {
		d := models.WebhookDelivery{ID: models.NewID(models.PrefixDelivery), OrgID: ev.OrgID, WebhookID: id,
			EventID: ev.ID, EventType: ev.Type, Status: models.DeliveryPending}
		if err := tx.WithContext(ctx).Create(&d).Error; err != nil {
			return fmt.Errorf("record webhook delivery: %w", err)
		}
		if err := w.jobs.InsertTx(ctx, tx, DeliverArgs{DeliveryID: d.ID}, &river.InsertOpts{MaxAttempts: w.cfg.MaxAttempts}); err != nil {
			return err
		}
	}
	return nil
}
