package client

import (
	"context"
	"net/http"

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
