package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"gent/daemon/audit"
	"gent/models"
)

// DeliverArgs is the River job that sends one delivery.
type DeliverArgs struct {
	DeliveryID string `json:"delivery_id"`
}

func (DeliverArgs) Kind() string { return "webhooks.deliver" }

type deliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	w *Webhooks
}

func (dw *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	return dw.w.deliver(ctx, job.Args.DeliveryID, job.Attempt >= job.MaxAttempts)
}

// NextRetry follows the documented schedule instead of River's default.
func (dw *deliverWorker) NextRetry(job *river.Job[DeliverArgs]) time.Time {
	return time.Now().Add(dw.w.backoff(job.Attempt))
}

func (dw *deliverWorker) Timeout(*river.Job[DeliverArgs]) time.Duration {
	return dw.w.cfg.Timeout.D() + 30*time.Second
}

// maxBackoff caps the wait between two attempts.
const maxBackoff = 6 * time.Hour

// backoff is the wait after failed attempt n (1-based): retry_backoff,
// then four times longer each time, at most maxBackoff.
func (w *Webhooks) backoff(attempt int) time.Duration {
	d := w.cfg.RetryBackoff.D()
	for i := 1; i < attempt && d < maxBackoff; i++ {
		d *= 4
	}
	return min(d, maxBackoff)
}

type deliveryRow struct {
	DeliveryStatus string
	OrgID          string
	WebhookID      string
	URL            string
	Secret         []byte
	WebhookStatus  string
	EventID        string
	EventOrgID     string
	EventInboxID   *string
	EventType      string
	EventPayload   []byte
	EventCreatedAt time.Time
}

// attemptResult is what one HTTP attempt gave.
type attemptResult struct {
	code int    // 0: no response
	err  string // "" on success
}

// deliver makes one attempt of a delivery and records its outcome. A nil
// return completes the job; an error makes River retry it; a JobCancel
// ends it without further attempts.
func (w *Webhooks) deliver(ctx context.Context, deliveryID string, last bool) error {
	var row deliveryRow
	res := w.db.DB.WithContext(ctx).Raw(`SELECT d.status AS delivery_status, d.org_id, d.webhook_id,
			wh.url, wh.secret, wh.status AS webhook_status,
			e.id AS event_id, e.org_id AS event_org_id, e.inbox_id AS event_inbox_id, e.type AS event_type,
			e.payload AS event_payload, e.created_at AS event_created_at
		FROM webhook_deliveries d
		JOIN webhooks wh ON wh.id = d.webhook_id
		JOIN events e ON e.id = d.event_id
		WHERE d.id = ?`, deliveryID).Scan(&row)
	if res.Error != nil {
		return fmt.Errorf("load webhook delivery: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return nil // the webhook was deleted
	}
	switch row.DeliveryStatus {
	case models.DeliverySucceeded, models.DeliveryFailed, models.DeliveryCanceled:
		return nil // already settled (a rescued duplicate run)
	}
	if row.WebhookStatus != models.WebhookEnabled {
		return w.db.DB.WithContext(ctx).Exec(`UPDATE webhook_deliveries SET status = 'canceled', next_attempt_at = NULL, updated_at = now()
			WHERE id = ? AND status IN ('pending', 'retrying')`, deliveryID).Error
	}

	var result attemptResult
	secret, err := w.box.Open(row.Secret, secretContext(row.WebhookID))
	if err != nil {
		w.log.Error("open webhook secret", "webhook_id", row.WebhookID, "err", err)
		result = attemptResult{err: "the signing secret could not be decrypted (was security.master_key changed?)"}
	} else {
		result = w.send(ctx, row, string(secret))
	}
	if result.err == "" {
		err := w.recordSuccess(ctx, deliveryID, row.WebhookID, result.code)
		if err == nil {
			w.metrics.WebhookDelivery(models.DeliverySucceeded)
		}
		return err
	}
	final, err := w.recordFailure(ctx, row, deliveryID, result, last)
	if err != nil {
		return err
	}
	if final {
		w.metrics.WebhookDelivery(models.DeliveryFailed)
	} else {
		w.metrics.WebhookDelivery(models.DeliveryRetrying)
	}
	attemptErr := errors.New(result.err)
	if final {
		return river.JobCancel(attemptErr)
	}
	return attemptErr
}

// Body is the JSON sent to webhooks: the event, as streams show it.
func webhookBody(row deliveryRow) ([]byte, error) {
	var payload map[string]any
	if err := json.Unmarshal(row.EventPayload, &payload); err != nil {
		return nil, err
	}
	return json.Marshal(models.Event{ID: row.EventID, OrgID: row.EventOrgID, InboxID: row.EventInboxID,
		Type: row.EventType, Payload: payload, CreatedAt: row.EventCreatedAt.UTC()})
}

// send makes the signed HTTP request.
func (w *Webhooks) send(ctx context.Context, row deliveryRow, secret string) attemptResult {
	body, err := webhookBody(row)
	if err != nil {
		return attemptResult{err: "encode event: " + err.Error()}
	}
	ts := time.Now().Unix()
	sig, err := Sign(secret, row.EventID, ts, body)
	if err != nil {
		return attemptResult{err: err.Error()}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, row.URL, bytes.NewReader(body))
	if err != nil {
		return attemptResult{err: "bad url: " + err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "gent-webhooks/1")
	req.Header.Set("webhook-id", row.EventID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := w.client.Do(req)
	if err != nil {
		return attemptResult{err: describeSendError(err)}
	}
	defer resp.Body.Close()
	snippet := make([]byte, 256)
	n, _ := io.ReadFull(resp.Body, snippet)
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return attemptResult{code: resp.StatusCode}
	}
	msg := fmt.Sprintf("endpoint answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	if text := cleanSnippet(snippet[:n]); text != "" {
		msg += ": " + text
	}
	return attemptResult{code: resp.StatusCode, err: msg}
}

// describeSendError strips the method and URL net/http puts in front.
func describeSendError(err error) string {
	var te *targetError
	if errors.As(err, &te) {
		return "refused: " + te.Error()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return "timed out"
		}
		err = ue.Err
	}
	return err.Error()
}

func cleanSnippet(b []byte) string {
	s := strings.ToValidUTF8(string(b), "")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == utf8.RuneError {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

func (w *Webhooks) recordSuccess(ctx context.Context, deliveryID, webhookID string, code int) error {
	return w.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec(`UPDATE webhook_deliveries SET status = 'succeeded', attempts = attempts + 1,
				last_response_code = ?, last_error = '', next_attempt_at = NULL, delivered_at = now(), updated_at = now()
			WHERE id = ?`, code, deliveryID).Error; err != nil {
			return fmt.Errorf("record webhook success: %w", err)
		}
		if err := tx.Exec(`UPDATE webhooks SET consecutive_failures = 0, last_success_at = now(), updated_at = now()
			WHERE id = ?`, webhookID).Error; err != nil {
			return fmt.Errorf("record webhook success: %w", err)
		}
		return nil
	})
}

// recordFailure counts a failed attempt against the delivery and the
// webhook, disabling the webhook when its run of failures reaches
// webhooks.disable_after_failures. It reports whether the delivery is
// over (last attempt, or webhook disabled).
func (w *Webhooks) recordFailure(ctx context.Context, row deliveryRow, deliveryID string, r attemptResult, last bool) (bool, error) {
	final := last
	err := w.db.Tx(ctx, func(tx *gorm.DB) error {
		var hook struct {
			ConsecutiveFailures int
			Status              string
		}
		if err := tx.Raw(`UPDATE webhooks SET consecutive_failures = consecutive_failures + 1, last_failure_at = now(), updated_at = now()
			WHERE id = ? RETURNING consecutive_failures, status`, row.WebhookID).Scan(&hook).Error; err != nil {
			return fmt.Errorf("record webhook failure: %w", err)
		}
		switch {
		case hook.Status != models.WebhookEnabled:
			final = true // disabled meanwhile by a concurrent attempt
		case w.cfg.DisableAfter > 0 && hook.ConsecutiveFailures >= w.cfg.DisableAfter:
			if err := w.disable(ctx, tx, row, hook.ConsecutiveFailures, deliveryID, r.err); err != nil {
				return err
			}
			final = true
		}
		var code *int
		if r.code != 0 {
			code = &r.code
		}
		status := models.DeliveryRetrying
		var next *time.Time
		if final {
			status = models.DeliveryFailed
		} else {
			var attempts int
			if err := tx.Raw(`SELECT attempts FROM webhook_deliveries WHERE id = ?`, deliveryID).Scan(&attempts).Error; err != nil {
				return fmt.Errorf("record webhook failure: %w", err)
			}
			t := time.Now().Add(w.backoff(attempts + 1)).UTC()
			next = &t
		}
		if err := tx.Exec(`UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, last_response_code = ?,
				last_error = ?, next_attempt_at = ?, updated_at = now()
			WHERE id = ?`, status, code, truncate(r.err, 1000), next, deliveryID).Error; err != nil {
			return fmt.Errorf("record webhook failure: %w", err)
		}
		return nil
	})
	return final, err
}

// disable turns a failing webhook off, cancels its waiting deliveries,
// and emits webhook.disabled, all in tx.
func (w *Webhooks) disable(ctx context.Context, tx *gorm.DB, row deliveryRow, failures int, deliveryID, lastErr string) error {
	reason := fmt.Sprintf("%d consecutive failed deliveries; last: %s", failures, truncate(lastErr, 300))
	res := tx.Exec(`UPDATE webhooks SET status = 'disabled', disabled_at = now(), disabled_reason = ?, updated_at = now()
		WHERE id = ? AND status = 'enabled'`, reason, row.WebhookID)
	if res.Error != nil {
		return fmt.Errorf("disable webhook: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return nil // disabled meanwhile by another attempt
	}
	if err := tx.Exec(`UPDATE webhook_deliveries SET status = 'canceled', next_attempt_at = NULL, updated_at = now()
		WHERE webhook_id = ? AND id <> ? AND status IN ('pending', 'retrying')`, row.WebhookID, deliveryID).Error; err != nil {
		return fmt.Errorf("cancel deliveries: %w", err)
	}
	if _, err := w.events.Emit(ctx, tx, row.OrgID, "", models.EventWebhookDisabled, map[string]any{
		"webhook_id": row.WebhookID, "url": row.URL, "consecutive_failures": failures, "last_error": truncate(lastErr, 300),
	}); err != nil {
		return err
	}
	w.log.Warn("webhook disabled", "webhook_id", row.WebhookID, "org_id", row.OrgID, "failures", failures)
	return w.audit.Record(ctx, tx, audit.Entry{OrgID: row.OrgID, ActorType: "system", Action: "webhooks.disable",
		TargetType: "webhook", TargetID: row.WebhookID, Outcome: audit.Success,
		Detail: map[string]any{"consecutive_failures": failures, "last_error": truncate(lastErr, 300)}})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
