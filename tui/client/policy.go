package client

import (
	"context"
	"net/http"

	"gent/models"
)

// InboxPolicy returns an inbox's sending policy (the defaults when nobody
// set one).
func (c *Client) InboxPolicy(ctx context.Context, inboxID string) (*models.InboxPolicy, error) {
	var p models.InboxPolicy
	if err := c.Do(ctx, http.MethodGet, inboxPath(inboxID, "policy"), nil, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// SetInboxPolicy replaces an inbox's policy as a whole (owners, admins).
func (c *Client) SetInboxPolicy(ctx context.Context, inboxID string, p models.InboxPolicy) (*models.InboxPolicy, error) {
	p.UpdatedAt = nil
	var out models.InboxPolicy
	if err := c.Do(ctx, http.MethodPut, inboxPath(inboxID, "policy"), nil, p, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// OrgPolicy returns the organization's policy: its pause and block list.
func (c *Client) OrgPolicy(ctx context.Context) (*models.OrgPolicy, error) {
	var p models.OrgPolicy
	if err := c.Do(ctx, http.MethodGet, "/v1/policy", nil, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// SetOrgPolicy replaces the organization's policy (owners, admins).
func (c *Client) SetOrgPolicy(ctx context.Context, p models.OrgPolicy) (*models.OrgPolicy, error) {
	p.UpdatedAt = nil
	var out models.OrgPolicy
	if err := c.Do(ctx, http.MethodPut, "/v1/policy", nil, p, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
