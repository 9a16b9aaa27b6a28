package client

import (
	"context"
	"net/http"
	"net/url"

	"gent/models"
)

// QuarantineQuery selects quarantined messages; InboxID keeps one inbox's.
type QuarantineQuery struct {
	Page
	InboxID string
}

// Quarantine returns one page of the organization's quarantined messages,
// newest first (owners, admins, reviewers).
func (c *Client) Quarantine(ctx context.Context, q QuarantineQuery) (models.List[models.QuarantinedMessage], error) {
	v := q.Page.values()
	if q.InboxID != "" {
		v.Set("inbox_id", q.InboxID)
	}
	var l models.List[models.QuarantinedMessage]
	err := c.Do(ctx, http.MethodGet, "/v1/quarantine", v, nil, &l)
	return l, err
}

// AllQuarantine follows the cursor to the end.
func (c *Client) AllQuarantine(ctx context.Context, q QuarantineQuery) ([]models.QuarantinedMessage, error) {
	return all(ctx, func(ctx context.Context, p Page) (models.List[models.QuarantinedMessage], error) {
		q.Page = p
		return c.Quarantine(ctx, q)
	})
}

// Quarantined returns one quarantined message whole: its HTML as it came,
// with what was hidden.
func (c *Client) Quarantined(ctx context.Context, id string) (*models.Message, error) {
	var m models.Message
	if err := c.Do(ctx, http.MethodGet, "/v1/quarantine/"+url.PathEscape(id), nil, nil, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// Release makes a quarantined message visible to its inbox's agent.
func (c *Client) Release(ctx context.Context, id string) (*models.Message, error) {
	var m models.Message
	if err := c.Do(ctx, http.MethodPost, "/v1/quarantine/"+url.PathEscape(id)+"/release", nil, nil, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// DeleteQuarantined deletes a quarantined message and frees its bytes.
func (c *Client) DeleteQuarantined(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodPost, "/v1/quarantine/"+url.PathEscape(id)+"/delete", nil, nil, nil)
}
