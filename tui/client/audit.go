package client

import (
	"context"
	"net/http"

	"gent/models"
)

// AuditQuery filters the audit trail; empty fields do not filter.
type AuditQuery struct {
	Page
	Action    string
	ActorID   string
	ActorType string
	TargetID  string
}

// Audit returns one page of the audit trail, newest first (reviewers,
// admins and owners).
func (c *Client) Audit(ctx context.Context, q AuditQuery) (models.List[models.AuditEntry], error) {
	v := q.Page.values()
	for k, s := range map[string]string{"action": q.Action, "actor_id": q.ActorID, "actor_type": q.ActorType, "target_id": q.TargetID} {
		if s != "" {
			v.Set(k, s)
		}
	}
	var l models.List[models.AuditEntry]
	err := c.Do(ctx, http.MethodGet, "/v1/audit", v, nil, &l)
	return l, err
}
