package client

import (
	"context"
	"net/http"
	"net/url"

	"gent/models"
)

// all follows a list's cursor to the end.
func all[T any](ctx context.Context, fetch func(context.Context, Page) (models.List[T], error)) ([]T, error) {
	out := []T{}
	p := Page{Limit: 200}
	for {
		l, err := fetch(ctx, p)
		if err != nil {
			return nil, err
		}
		out = append(out, l.Data...)
		if l.NextCursor == "" {
			return out, nil
		}
		p.Cursor = l.NextCursor
	}
}

// Domains returns one page of the organization's domains.
func (c *Client) Domains(ctx context.Context, p Page) (models.List[models.Domain], error) {
	var l models.List[models.Domain]
	err := c.Do(ctx, http.MethodGet, "/v1/domains", p.values(), nil, &l)
	return l, err
}

// AllDomains returns every domain of the organization.
func (c *Client) AllDomains(ctx context.Context) ([]models.Domain, error) {
	return all(ctx, c.Domains)
}

// Domain returns one domain with its records and their last check.
func (c *Client) Domain(ctx context.Context, id string) (*models.Domain, error) {
	var d models.Domain
	if err := c.Do(ctx, http.MethodGet, "/v1/domains/"+url.PathEscape(id), nil, nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// CreateDomain adds a domain. created is false when the organization
// already had it: the existing domain is returned unchanged.
func (c *Client) CreateDomain(ctx context.Context, req models.CreateDomainRequest) (d *models.Domain, created bool, err error) {
	var out models.Domain
	status, err := c.DoStatus(ctx, http.MethodPost, "/v1/domains", nil, req, &out)
	if err != nil {
		return nil, false, err
	}
	return &out, status == http.StatusCreated, nil
}

// VerifyDomain queries DNS now and returns the domain with each record's
// result.
func (c *Client) VerifyDomain(ctx context.Context, id string) (*models.Domain, error) {
	var d models.Domain
	if err := c.Do(ctx, http.MethodPost, "/v1/domains/"+url.PathEscape(id)+"/verify", nil, nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// DomainZone returns the domain's records as a BIND zone file snippet.
func (c *Client) DomainZone(ctx context.Context, id string) (string, error) {
	return c.DoText(ctx, http.MethodGet, "/v1/domains/"+url.PathEscape(id)+"/zone", nil)
}

// DeleteDomain deletes a domain; a 409 while inboxes use it.
func (c *Client) DeleteDomain(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodDelete, "/v1/domains/"+url.PathEscape(id), nil, nil, nil)
}
