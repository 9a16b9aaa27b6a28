package client

import (
	"context"
	"net/http"
	"net/url"

	"gent/models"
)

// Inboxes returns one page of the organization's inboxes, with their usage.
func (c *Client) Inboxes(ctx context.Context, p Page) (models.List[models.Inbox], error) {
	var l models.List[models.Inbox]
	err := c.Do(ctx, http.MethodGet, "/v1/inboxes", p.values(), nil, &l)
	return l, err
}

// AllInboxes returns every inbox of the organization.
func (c *Client) AllInboxes(ctx context.Context) ([]models.Inbox, error) {
	return all(ctx, c.Inboxes)
}

// CreateInbox creates an inbox on a verified domain of the organization.
func (c *Client) CreateInbox(ctx context.Context, req models.CreateInboxRequest) (*models.Inbox, error) {
	var in models.Inbox
	if err := c.Do(ctx, http.MethodPost, "/v1/inboxes", nil, req, &in); err != nil {
		return nil, err
	}
	return &in, nil
}

// DeleteInbox deletes an inbox: its tokens are revoked at once and its
// mail is removed by a job.
func (c *Client) DeleteInbox(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodDelete, "/v1/inboxes/"+url.PathEscape(id), nil, nil, nil)
}
