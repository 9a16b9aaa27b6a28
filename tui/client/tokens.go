package client

import (
	"context"
	"net/http"
	"net/url"

	"gent/models"
)

// Scopes lists every scope an agent token may hold, with what it allows
// and whether it can be held for approval.
func (c *Client) Scopes(ctx context.Context) ([]models.ScopeInfo, error) {
	var l models.List[models.ScopeInfo]
	err := c.Do(ctx, http.MethodGet, "/v1/scopes", nil, nil, &l)
	return l.Data, err
}

// Tokens returns one page of the organization's agent tokens (never their
// values); inboxID, when set, keeps one inbox's.
func (c *Client) Tokens(ctx context.Context, p Page, inboxID string) (models.List[models.Token], error) {
	q := p.values()
	if inboxID != "" {
		q.Set("inbox_id", inboxID)
	}
	var l models.List[models.Token]
	err := c.Do(ctx, http.MethodGet, "/v1/tokens", q, nil, &l)
	return l, err
}

// AllTokens returns every token of the organization (or of one inbox).
func (c *Client) AllTokens(ctx context.Context, inboxID string) ([]models.Token, error) {
	return all(ctx, func(ctx context.Context, p Page) (models.List[models.Token], error) {
		return c.Tokens(ctx, p, inboxID)
	})
}

// CreateToken issues an agent token. The answer holds its raw value, which
// the daemon never shows again.
func (c *Client) CreateToken(ctx context.Context, req models.CreateTokenRequest) (*models.TokenSecret, error) {
	var t models.TokenSecret
	if err := c.Do(ctx, http.MethodPost, "/v1/tokens", nil, req, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// RotateToken gives a token a new value (returned once); the old value
// stops working at once.
func (c *Client) RotateToken(ctx context.Context, id string) (*models.TokenSecret, error) {
	var t models.TokenSecret
	if err := c.Do(ctx, http.MethodPost, "/v1/tokens/"+url.PathEscape(id)+"/rotate", nil, nil, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// RevokeToken revokes a token.
func (c *Client) RevokeToken(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodDelete, "/v1/tokens/"+url.PathEscape(id), nil, nil, nil)
}
