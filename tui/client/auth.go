package client

import (
	"context"
	"net/http"

	"gent/models"
)

// Health calls GET /healthz: the process answers.
func (c *Client) Health(ctx context.Context) error {
	return c.Do(ctx, http.MethodGet, "/healthz", nil, nil, nil)
}

// Ready calls GET /readyz: the daemon reaches its database.
func (c *Client) Ready(ctx context.Context) error {
	return c.Do(ctx, http.MethodGet, "/readyz", nil, nil, nil)
}

// AuthStatus tells whether the first-run setup is still to be done.
func (c *Client) AuthStatus(ctx context.Context) (models.AuthStatus, error) {
	var s models.AuthStatus
	err := c.Do(ctx, http.MethodGet, "/v1/auth/status", nil, nil, &s)
	return s, err
}

// Setup creates the organization and its owner with the one-time setup
// code, and returns the owner's session.
func (c *Client) Setup(ctx context.Context, req models.SetupRequest) (*models.SessionResponse, error) {
	var r models.SessionResponse
	if err := c.Do(ctx, http.MethodPost, "/v1/auth/setup", nil, req, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Login signs a user in. A throttled login is an *APIError with code
// rate_limited and RetryAfter set.
func (c *Client) Login(ctx context.Context, req models.LoginRequest) (*models.SessionResponse, error) {
	var r models.SessionResponse
	if err := c.Do(ctx, http.MethodPost, "/v1/auth/login", nil, req, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Logout revokes the client's session on the daemon.
func (c *Client) Logout(ctx context.Context) error {
	return c.Do(ctx, http.MethodPost, "/v1/auth/logout", nil, nil, nil)
}

// Me returns the signed-in user and organization.
func (c *Client) Me(ctx context.Context) (*models.Me, error) {
	var me models.Me
	if err := c.Do(ctx, http.MethodGet, "/v1/auth/me", nil, nil, &me); err != nil {
		return nil, err
	}
	return &me, nil
}

// ResetPassword sets a user's new password with the one-time code an
// owner or admin issued (POST /v1/auth/password-reset, no session). A code
// that is unknown, used or expired is an *APIError 401 with field code;
// repeated failures are throttled (429 with RetryAfter). The user then
// signs in with Login.
func (c *Client) ResetPassword(ctx context.Context, req models.ResetPasswordRequest) error {
	return c.Do(ctx, http.MethodPost, "/v1/auth/password-reset", nil, req, nil)
}
