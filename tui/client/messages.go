package client

import (
	"context"
	"net/http"
	"net/url"

	"gent/models"
)

// MessageQuery selects messages of one inbox: ThreadID keeps one
// conversation's, Query is the API's full-text search (q).
type MessageQuery struct {
	Page
	ThreadID string
	Query    string
}

func inboxPath(inboxID string, parts ...string) string {
	p := "/v1/inboxes/" + url.PathEscape(inboxID)
	for _, s := range parts {
		p += "/" + url.PathEscape(s)
	}
	return p
}

// Threads returns one page of an inbox's conversations, the latest first.
func (c *Client) Threads(ctx context.Context, inboxID string, p Page) (models.List[models.Thread], error) {
	var l models.List[models.Thread]
	err := c.Do(ctx, http.MethodGet, inboxPath(inboxID, "threads"), p.values(), nil, &l)
	return l, err
}

// Messages returns one page of an inbox's messages, newest first.
func (c *Client) Messages(ctx context.Context, inboxID string, q MessageQuery) (models.List[models.MessageSummary], error) {
	v := q.Page.values()
	if q.ThreadID != "" {
		v.Set("thread_id", q.ThreadID)
	}
	if q.Query != "" {
		v.Set("q", q.Query)
	}
	var l models.List[models.MessageSummary]
	err := c.Do(ctx, http.MethodGet, inboxPath(inboxID, "messages"), v, nil, &l)
	return l, err
}

// Message returns one message with its bodies and headers.
func (c *Client) Message(ctx context.Context, inboxID, id string) (*models.Message, error) {
	var m models.Message
	if err := c.Do(ctx, http.MethodGet, inboxPath(inboxID, "messages", id), nil, nil, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// Delivery returns a message's delivery state, per recipient (none for
// received mail).
func (c *Client) Delivery(ctx context.Context, inboxID, id string) (*models.SendStatus, error) {
	var s models.SendStatus
	if err := c.Do(ctx, http.MethodGet, inboxPath(inboxID, "messages", id, "delivery"), nil, nil, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Lifecycle returns a message's steps, oldest first (docs/policy.md).
func (c *Client) Lifecycle(ctx context.Context, inboxID, id string) ([]models.LifecycleEntry, error) {
	var l struct {
		Data []models.LifecycleEntry `json:"data"`
	}
	if err := c.Do(ctx, http.MethodGet, inboxPath(inboxID, "messages", id, "lifecycle"), nil, nil, &l); err != nil {
		return nil, err
	}
	return l.Data, nil
}
