package client

import (
	"context"
	"net/http"
	"net/url"

	"gent/models"
)

// DeliveryQuery selects deliveries of the outbound queue: Status one
// status (models.QueuedStatuses), Domain the recipient domain, InboxID the
// sending inbox.
type DeliveryQuery struct {
	Page
	Status  string
	Domain  string
	InboxID string
}

// Deliveries returns one page of the outbound queue, newest first (owners,
// admins, reviewers).
func (c *Client) Deliveries(ctx context.Context, q DeliveryQuery) (models.List[models.QueuedDelivery], error) {
	v := q.Page.values()
	if q.Status != "" {
		v.Set("status", q.Status)
	}
	if q.Domain != "" {
		v.Set("domain", q.Domain)
	}
	if q.InboxID != "" {
		v.Set("inbox_id", q.InboxID)
	}
	var l models.List[models.QueuedDelivery]
	err := c.Do(ctx, http.MethodGet, "/v1/deliveries", v, nil, &l)
	return l, err
}

// RetryDelivery asks for an attempt now; the answer is the delivery as it
// stands (owners and admins).
func (c *Client) RetryDelivery(ctx context.Context, id string) (*models.QueuedDelivery, error) {
	var d models.QueuedDelivery
	if err := c.Do(ctx, http.MethodPost, "/v1/deliveries/"+url.PathEscape(id)+"/retry", nil, nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// CancelDelivery fails a queued or deferred delivery with a DSN (owners
// and admins).
func (c *Client) CancelDelivery(ctx context.Context, id string) (*models.QueuedDelivery, error) {
	var d models.QueuedDelivery
	if err := c.Do(ctx, http.MethodPost, "/v1/deliveries/"+url.PathEscape(id)+"/cancel", nil, nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// DeliveryPauses returns one page of the pauses in force, newest first.
func (c *Client) DeliveryPauses(ctx context.Context, p Page) (models.List[models.DeliveryPause], error) {
	var l models.List[models.DeliveryPause]
	err := c.Do(ctx, http.MethodGet, "/v1/delivery-pauses", p.values(), nil, &l)
	return l, err
}

// AllDeliveryPauses follows the cursor to the end.
func (c *Client) AllDeliveryPauses(ctx context.Context) ([]models.DeliveryPause, error) {
	return all(ctx, c.DeliveryPauses)
}

// PauseDomain pauses deliveries to a domain, replacing its pause if it has
// one (owners and admins).
func (c *Client) PauseDomain(ctx context.Context, req models.DeliveryPauseRequest) (*models.DeliveryPause, error) {
	var p models.DeliveryPause
	if err := c.Do(ctx, http.MethodPost, "/v1/delivery-pauses", nil, req, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// DeleteDeliveryPause ends a pause: the domain's waiting deliveries go at
// once.
func (c *Client) DeleteDeliveryPause(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodDelete, "/v1/delivery-pauses/"+url.PathEscape(id), nil, nil, nil)
}
