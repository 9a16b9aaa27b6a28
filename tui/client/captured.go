package client

import (
	"context"
	"net/http"
	"net/url"

	"gent/models"
)

// CapturedQuery selects captured mail: InboxID keeps one inbox's, To
// those with that recipient.
type CapturedQuery struct {
	Page
	InboxID string
	To      string
}

// Captured returns one page of the mail the organization's sandbox
// inboxes sent outside it, newest first (owners and admins).
func (c *Client) Captured(ctx context.Context, q CapturedQuery) (models.List[models.CapturedMessage], error) {
	v := q.Page.values()
	if q.InboxID != "" {
		v.Set("inbox_id", q.InboxID)
	}
	if q.To != "" {
		v.Set("to", q.To)
	}
	var l models.List[models.CapturedMessage]
	err := c.Do(ctx, http.MethodGet, "/v1/captured", v, nil, &l)
	return l, err
}

// CapturedMessage returns one captured message with its raw bytes.
func (c *Client) CapturedMessage(ctx context.Context, id string) (*models.CapturedMessage, error) {
	var m models.CapturedMessage
	if err := c.Do(ctx, http.MethodGet, "/v1/captured/"+url.PathEscape(id), nil, nil, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// UpdateDomain changes what PATCH /v1/domains/{id} may change (disabled,
// on the sandbox domain).
func (c *Client) UpdateDomain(ctx context.Context, id string, req models.UpdateDomainRequest) (*models.Domain, error) {
	var d models.Domain
	if err := c.Do(ctx, http.MethodPatch, "/v1/domains/"+url.PathEscape(id), nil, req, &d); err != nil {
		return nil, err
	}
	return &d, nil
}
