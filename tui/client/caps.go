package client

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"gent/models"
)

// MailboxCaps returns one page of the organization's inboxes with their
// usage, cap (nil without one), alerts and overage (owners and admins).
func (c *Client) MailboxCaps(ctx context.Context, p Page) (models.List[models.MailboxCap], error) {
	var l models.List[models.MailboxCap]
	err := c.Do(ctx, http.MethodGet, "/v1/billing/caps/mailbox", p.values(), nil, &l)
	return l, err
}

// AllMailboxCaps follows the cursor to the end and returns every inbox.
func (c *Client) AllMailboxCaps(ctx context.Context) ([]models.MailboxCap, error) {
	return all(ctx, c.MailboxCaps)
}

// MailboxCap returns one inbox's usage and cap.
func (c *Client) MailboxCap(ctx context.Context, inboxID string) (*models.MailboxCap, error) {
	var v models.MailboxCap
	if err := c.Do(ctx, http.MethodGet, "/v1/billing/caps/mailbox/"+url.PathEscape(inboxID), nil, nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// SetMailboxCap sets (replaces) an inbox's cap and returns the inbox's
// usage under it. A nil AlertThresholds means [80, 95]; an empty one, no
// alerts.
func (c *Client) SetMailboxCap(ctx context.Context, req models.SetCapRequest) (*models.MailboxCap, error) {
	var v models.MailboxCap
	if err := c.Do(ctx, http.MethodPut, "/v1/billing/caps/mailbox", nil, req, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// RemoveMailboxCap takes an inbox's cap away (no limit, no alerts).
func (c *Client) RemoveMailboxCap(ctx context.Context, inboxID string) error {
	return c.Do(ctx, http.MethodDelete, "/v1/billing/caps/mailbox/"+url.PathEscape(inboxID), nil, nil, nil)
}

// UsageQuery selects hourly usage records; zero times take the daemon's
// defaults (to: now, from: 24 hours before to).
type UsageQuery struct {
	Page
	From, To time.Time
	InboxID  string
}

// Usage returns one page (by inbox) of the hourly usage and overage
// records in [From, To).
func (c *Client) Usage(ctx context.Context, q UsageQuery) (*models.UsageReport, error) {
	v := q.Page.values()
	if !q.From.IsZero() {
		v.Set("from", q.From.Format(time.RFC3339))
	}
	if !q.To.IsZero() {
		v.Set("to", q.To.Format(time.RFC3339))
	}
	if q.InboxID != "" {
		v.Set("inbox_id", q.InboxID)
	}
	var r models.UsageReport
	if err := c.Do(ctx, http.MethodGet, "/v1/billing/usage", v, nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// VerifyUsage recomputes the organization's usage from its messages and
// returns the inboxes whose counters drifted.
func (c *Client) VerifyUsage(ctx context.Context) (*models.UsageVerification, error) {
	var r models.UsageVerification
	if err := c.Do(ctx, http.MethodGet, "/v1/billing/usage/verify", nil, nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}
