package client

import (
	"context"
	"net/http"
	"net/url"

	"gent/models"
)

// ApprovalQuery selects held sends: Status is pending, approved, rejected,
// expired or "" (all); InboxID keeps one inbox's.
type ApprovalQuery struct {
	Page
	Status  string
	InboxID string
}

// Approvals returns one page of the organization's held sends, newest
// first (owners, admins and reviewers).
func (c *Client) Approvals(ctx context.Context, q ApprovalQuery) (models.List[models.Approval], error) {
	v := q.Page.values()
	if q.Status != "" {
		v.Set("status", q.Status)
	}
	if q.InboxID != "" {
		v.Set("inbox_id", q.InboxID)
	}
	var l models.List[models.Approval]
	err := c.Do(ctx, http.MethodGet, "/v1/approvals", v, nil, &l)
	return l, err
}

// AllApprovals follows the cursor to the end.
func (c *Client) AllApprovals(ctx context.Context, q ApprovalQuery) ([]models.Approval, error) {
	return all(ctx, func(ctx context.Context, p Page) (models.List[models.Approval], error) {
		q.Page = p
		return c.Approvals(ctx, q)
	})
}

// Approval returns a held send with its whole message as it will be sent.
func (c *Client) Approval(ctx context.Context, id string) (*models.ApprovalDetail, error) {
	var d models.ApprovalDetail
	if err := c.Do(ctx, http.MethodGet, "/v1/approvals/"+url.PathEscape(id), nil, nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// Approve queues a held send; with edits, as corrected. A second decision
// or one after expiry is a 409.
func (c *Client) Approve(ctx context.Context, id string, edits *models.ApprovalEdits) (*models.Approval, error) {
	var body any
	if edits != nil {
		body = models.ApproveRequest{Edits: edits}
	}
	var a models.Approval
	if err := c.Do(ctx, http.MethodPost, "/v1/approvals/"+url.PathEscape(id)+"/approve", nil, body, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// Reject ends a held send unsent; the agent is told the reason (required).
func (c *Client) Reject(ctx context.Context, id, reason string) (*models.Approval, error) {
	var a models.Approval
	if err := c.Do(ctx, http.MethodPost, "/v1/approvals/"+url.PathEscape(id)+"/reject", nil, models.RejectRequest{Reason: reason}, &a); err != nil {
		return nil, err
	}
	return &a, nil
}
