package client

import (
	"context"
	"net/http"
	"net/url"

	"gent/models"
)

// Users returns one page of the organization's users (admins and owners).
func (c *Client) Users(ctx context.Context, p Page) (models.List[models.User], error) {
	var l models.List[models.User]
	err := c.Do(ctx, http.MethodGet, "/v1/users", p.values(), nil, &l)
	return l, err
}

// AllUsers follows the cursor to the end and returns every user.
func (c *Client) AllUsers(ctx context.Context) ([]models.User, error) {
	return all(ctx, c.Users)
}

// CreateUser adds a user with a role to the organization.
func (c *Client) CreateUser(ctx context.Context, req models.CreateUserRequest) (*models.User, error) {
	var u models.User
	if err := c.Do(ctx, http.MethodPost, "/v1/users", nil, req, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// UpdateUser changes a user's role or disables or enables it; nil fields
// are left as they are.
func (c *Client) UpdateUser(ctx context.Context, id string, req models.UpdateUserRequest) (*models.User, error) {
	var u models.User
	if err := c.Do(ctx, http.MethodPatch, "/v1/users/"+url.PathEscape(id), nil, req, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// DeleteUser removes a user (the signed-in user may remove itself).
func (c *Client) DeleteUser(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodDelete, "/v1/users/"+url.PathEscape(id), nil, nil, nil)
}

// ResetUserPassword issues a one-time reset code for a user: its password
// stops working and its sessions end.
func (c *Client) ResetUserPassword(ctx context.Context, id string) (*models.PasswordResetCode, error) {
	var r models.PasswordResetCode
	if err := c.Do(ctx, http.MethodPost, "/v1/users/"+url.PathEscape(id)+"/password-reset", nil, nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// ChangePassword changes the signed-in user's own password; its other
// sessions end, this one stays.
func (c *Client) ChangePassword(ctx context.Context, req models.ChangePasswordRequest) error {
	return c.Do(ctx, http.MethodPost, "/v1/auth/password", nil, req, nil)
}
