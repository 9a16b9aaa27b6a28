// Package policy is the sending policy of inboxes and organizations
// (docs/policy.md): it stores the policies and evaluates every send
// against them, in one place that every send path calls.
package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"gent/daemon/audit"
	"gent/daemon/events"
	"gent/daemon/mail"
	"gent/daemon/screening"
	"gent/daemon/store"
	"gent/models"
)

// Service stores and evaluates sending policies.
type Service struct {
	db     *store.Store
	audit  *audit.Service
	events *events.Service
}

func NewService(db *store.Store, au *audit.Service, ev *events.Service) *Service {
	return &Service{db: db, audit: au, events: ev}
}

// Actor is who changes a policy (for the audit trail).
type Actor struct {
	Type, ID, RemoteAddr, RequestID string
}

// Get returns an inbox's policy (the defaults when none was set).
func (s *Service) Get(ctx context.Context, orgID, inboxID string) (*models.InboxPolicy, error) {
	return s.get(ctx, s.db.DB.WithContext(ctx), orgID, inboxID)
}

func (s *Service) get(ctx context.Context, db *gorm.DB, orgID, inboxID string) (*models.InboxPolicy, error) {
	var rows []struct {
		ID                  string
		Policy              []byte
		UpdatedAt           *time.Time
		QuarantineAt        *int
		HideUnauthenticated *bool
	}
	// The screening part lives in inbox_screening, which the inbound path
	// reads (screening.LoadSettings); the policy object shows and sets it.
	if err := db.Raw(`SELECT i.id, p.policy, p.updated_at, s.quarantine_at, s.hide_unauthenticated
		FROM inboxes i LEFT JOIN inbox_policies p ON p.inbox_id = i.id LEFT JOIN inbox_screening s ON s.inbox_id = i.id
		WHERE i.id = ? AND i.org_id = ?`, inboxID, orgID).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("load policy: %w", err)
	}
	if len(rows) == 0 {
		return nil, models.NotFound("inbox")
	}
	p, err := parseInbox(rows[0].Policy, rows[0].UpdatedAt)
	if err != nil {
		return nil, err
	}
	p.Screening = models.PolicyScreening{QuarantineAt: screening.DefaultSettings.QuarantineAt,
		HideUnauthenticated: screening.DefaultSettings.HideUnauthenticated}
	if r := rows[0]; r.QuarantineAt != nil && r.HideUnauthenticated != nil {
		p.Screening = models.PolicyScreening{QuarantineAt: *r.QuarantineAt, HideUnauthenticated: *r.HideUnauthenticated}
	}
	return p, nil
}

// parseInbox is an inbox's stored policy (the defaults when none was set).
func parseInbox(raw []byte, updatedAt *time.Time) (*models.InboxPolicy, error) {
	p := models.DefaultInboxPolicy()
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, fmt.Errorf("load policy: %w", err)
		}
		p.UpdatedAt = updatedAt
	}
	return &p, nil
}

// parseOrg is an organization's stored policy (none: nothing paused or
// blocked).
func parseOrg(found bool, paused bool, block []byte, updatedAt *time.Time) (*models.OrgPolicy, error) {
	p := &models.OrgPolicy{Block: []string{}}
	if found {
		p.SendingPaused = paused
		if err := json.Unmarshal(block, &p.Block); err != nil {
			return nil, fmt.Errorf("load organization policy: %w", err)
		}
		p.UpdatedAt = updatedAt
	}
	return p, nil
}

// Policies are the two policies a send is evaluated against, read once
// per send: the inbox's and its organization's.
type Policies struct {
	Inbox *models.InboxPolicy
	Org   *models.OrgPolicy
}

// Budgeted reports whether the inbox's policy has a send budget (Reserve
// then counts the sends recorded so far, this transaction's included).
func (p *Policies) Budgeted() bool {
	return p != nil && p.Inbox != nil && (p.Inbox.Budget.PerHour != nil || p.Inbox.Budget.PerDay != nil)
}

// Columns and Joins let a caller read an inbox's policies in its own query
// about the inbox (aliased i), in the same round trip; Row.Policies parses
// what they selected. The send path reads them with the inbox and its
// domain.
const (
	Columns = `pol_i.policy AS policy_json, pol_i.updated_at AS policy_updated_at,
		pol_o.org_id IS NOT NULL AS org_policy_found, coalesce(pol_o.sending_paused, false) AS org_sending_paused,
		pol_o.block AS org_block, pol_o.updated_at AS org_policy_updated_at`
	Joins = `LEFT JOIN inbox_policies pol_i ON pol_i.inbox_id = i.id LEFT JOIN org_policies pol_o ON pol_o.org_id = i.org_id`
)

// Row is what Columns selects (embed it in the caller's row).
type Row struct {
	PolicyJSON         []byte
	PolicyUpdatedAt    *time.Time
	OrgPolicyFound     bool
	OrgSendingPaused   bool
	OrgBlock           []byte
	OrgPolicyUpdatedAt *time.Time
}

// Policies parses the row.
func (r Row) Policies() (*Policies, error) {
	in, err := parseInbox(r.PolicyJSON, r.PolicyUpdatedAt)
	if err != nil {
		return nil, err
	}
	org, err := parseOrg(r.OrgPolicyFound, r.OrgSendingPaused, r.OrgBlock, r.OrgPolicyUpdatedAt)
	if err != nil {
		return nil, err
	}
	return &Policies{Inbox: in, Org: org}, nil
}

// load reads both policies of a send (when the caller did not).
func (s *Service) load(ctx context.Context, db *gorm.DB, orgID, inboxID string) (*Policies, error) {
	p, err := s.get(ctx, db, orgID, inboxID)
	if err != nil {
		return nil, err
	}
	org, err := s.getOrg(db, orgID)
	if err != nil {
		return nil, err
	}
	return &Policies{Inbox: p, Org: org}, nil
}

// Put replaces an inbox's policy, audited with the policy before and after.
func (s *Service) Put(ctx context.Context, orgID, inboxID string, a Actor, p models.InboxPolicy) (*models.InboxPolicy, error) {
	if err := normalize(&p); err != nil {
		return nil, err
	}
	p.UpdatedAt = nil
	var out *models.InboxPolicy
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		// Serialize changes of one inbox so that before/after pairs chain.
		if err := tx.Exec(`SELECT 1 FROM inboxes WHERE id = ? AND org_id = ? FOR UPDATE`, inboxID, orgID).Error; err != nil {
			return fmt.Errorf("lock inbox: %w", err)
		}
		before, err := s.get(ctx, tx, orgID, inboxID)
		if err != nil {
			return err
		}
		raw, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("save policy: %w", err)
		}
		if err := tx.Exec(`INSERT INTO inbox_policies (inbox_id, org_id, policy, updated_at) VALUES (?, ?, ?, now())
			ON CONFLICT (inbox_id) DO UPDATE SET policy = EXCLUDED.policy, updated_at = now()`, inboxID, orgID, raw).Error; err != nil {
			return fmt.Errorf("save policy: %w", err)
		}
		if err := screening.SaveSettings(ctx, tx, orgID, inboxID, screening.Settings{
			QuarantineAt: p.Screening.QuarantineAt, HideUnauthenticated: p.Screening.HideUnauthenticated}); err != nil {
			return err
		}
		if out, err = s.get(ctx, tx, orgID, inboxID); err != nil {
			return err
		}
		b := *before
		b.UpdatedAt = nil
		if err := s.audit.Record(ctx, tx, audit.Entry{OrgID: orgID, ActorType: a.Type, ActorID: a.ID, Action: "policy.inbox.changed",
			TargetType: "inbox", TargetID: inboxID, Outcome: audit.Success, Status: 200, RemoteAddr: a.RemoteAddr, RequestID: a.RequestID,
			Detail: map[string]any{"before": b, "after": p}}); err != nil {
			return err
		}
		return s.pauseEvent(ctx, tx, orgID, inboxID, before.SendingPaused, p.SendingPaused)
	})
	return out, err
}

func (s *Service) pauseEvent(ctx context.Context, tx *gorm.DB, orgID, inboxID string, was, now bool) error {
	if was == now {
		return nil
	}
	typ := models.EventPolicySendingResumed
	if now {
		typ = models.EventPolicySendingPaused
	}
	scope := "inbox"
	if inboxID == "" {
		scope = "organization"
	}
	_, err := s.events.Emit(ctx, tx, orgID, inboxID, typ, map[string]any{"scope": scope, "inbox_id": inboxID})
	return err
}

// GetOrg returns the organization's policy.
func (s *Service) GetOrg(ctx context.Context, orgID string) (*models.OrgPolicy, error) {
	return s.getOrg(s.db.DB.WithContext(ctx), orgID)
}

func (s *Service) getOrg(db *gorm.DB, orgID string) (*models.OrgPolicy, error) {
	var rows []struct {
		SendingPaused bool
		Block         []byte
		UpdatedAt     time.Time
	}
	if err := db.Raw(`SELECT sending_paused, block, updated_at FROM org_policies WHERE org_id = ?`, orgID).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("load organization policy: %w", err)
	}
	if len(rows) == 0 {
		return parseOrg(false, false, nil, nil)
	}
	t := rows[0].UpdatedAt
	return parseOrg(true, rows[0].SendingPaused, rows[0].Block, &t)
}

// PutOrg replaces the organization's policy (pause and block list).
func (s *Service) PutOrg(ctx context.Context, orgID string, a Actor, p models.OrgPolicy) (*models.OrgPolicy, error) {
	block, err := normalizeList("block", p.Block)
	if err != nil {
		return nil, err
	}
	p.Block, p.UpdatedAt = block, nil
	var out *models.OrgPolicy
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec(`SELECT 1 FROM orgs WHERE id = ? FOR UPDATE`, orgID).Error; err != nil {
			return fmt.Errorf("lock organization: %w", err)
		}
		before, err := s.getOrg(tx, orgID)
		if err != nil {
			return err
		}
		raw, _ := json.Marshal(p.Block)
		if err := tx.Exec(`INSERT INTO org_policies (org_id, sending_paused, block, updated_at) VALUES (?, ?, ?, now())
			ON CONFLICT (org_id) DO UPDATE SET sending_paused = EXCLUDED.sending_paused, block = EXCLUDED.block, updated_at = now()`,
			orgID, p.SendingPaused, raw).Error; err != nil {
			return fmt.Errorf("save organization policy: %w", err)
		}
		if out, err = s.getOrg(tx, orgID); err != nil {
			return err
		}
		b := *before
		b.UpdatedAt = nil
		if err := s.audit.Record(ctx, tx, audit.Entry{OrgID: orgID, ActorType: a.Type, ActorID: a.ID, Action: "policy.org.changed",
			TargetType: "org", TargetID: orgID, Outcome: audit.Success, Status: 200, RemoteAddr: a.RemoteAddr, RequestID: a.RequestID,
			Detail: map[string]any{"before": b, "after": p}}); err != nil {
			return err
		}
		return s.pauseEvent(ctx, tx, orgID, "", before.SendingPaused, p.SendingPaused)
	})
	return out, err
}

// normalize validates a policy, naming the field at fault, and fills
// empty lists.
func normalize(p *models.InboxPolicy) error {
	switch p.FirstContact {
	case "allow", "hold":
	default:
		return models.Invalid("first_contact", `first_contact must be "allow" or "hold"`)
	}
	switch p.Recipients.OutsideAllow {
	case "hold", "refuse":
	default:
		return models.Invalid("recipients.outside_allow", `recipients.outside_allow must be "hold" or "refuse"`)
	}
	switch p.Budget.OnExceed {
	case "hold", "refuse":
	default:
		return models.Invalid("budget.on_exceed", `budget.on_exceed must be "hold" or "refuse"`)
	}
	if p.Budget.PerHour != nil && *p.Budget.PerHour < 0 {
		return models.Invalid("budget.per_hour", "budget.per_hour must be null or at least 0")
	}
	if p.Budget.PerDay != nil && *p.Budget.PerDay < 0 {
		return models.Invalid("budget.per_day", "budget.per_day must be null or at least 0")
	}
	if p.Screening.QuarantineAt < 1 || p.Screening.QuarantineAt > 101 {
		return models.Invalid("screening.quarantine_at", "screening.quarantine_at must be between 1 and 101 (101: never quarantine by score)")
	}
	var err error
	if p.Recipients.Allow, err = normalizeList("recipients.allow", p.Recipients.Allow); err != nil {
		return err
	}
	if p.Recipients.Block, err = normalizeList("recipients.block", p.Recipients.Block); err != nil {
		return err
	}
	return nil
}

// maxListEntries bounds an allow or block list.
const maxListEntries = 1000

func normalizeList(field string, list []string) ([]string, error) {
	if len(list) > maxListEntries {
		return nil, models.Invalid(field, "%s may hold at most %d entries", field, maxListEntries)
	}
	out := make([]string, 0, len(list))
	for i, e := range list {
		n, err := mail.NormalizePattern(e)
		if err == nil && n == "*" {
			err = models.Invalid("", `"*" is not allowed here`)
		}
		if err != nil {
			var me *models.Error
			if errors.As(err, &me) {
				return nil, models.Invalid(fmt.Sprintf("%s[%d]", field, i), "%s[%d]: %s", field, i, me.Message)
			}
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// matches reports whether an address matches a normalized pattern: an
// address matches itself, a domain itself and its subdomains.
func matches(addr, pattern string) bool {
	addr = strings.ToLower(addr)
	if strings.Contains(pattern, "@") {
		return addr == pattern
	}
	_, domain, ok := strings.Cut(addr, "@")
	if !ok {
		return false
	}
	return domain == pattern || strings.HasSuffix(domain, "."+pattern)
}

func matchesAny(addr string, list []string) bool {
	for _, p := range list {
		if matches(addr, p) {
			return true
		}
	}
	return false
}

// Paused reports whether sending is paused for the inbox or its
// organization.
func (s *Service) Paused(ctx context.Context, orgID, inboxID string) (bool, error) {
	var paused bool
	err := s.db.Pool.QueryRow(ctx, `SELECT `+PausedSQL("$1", "$2"), orgID, inboxID).Scan(&paused)
	if err != nil {
		return false, fmt.Errorf("check sending pause: %w", err)
	}
	return paused, nil
}

// PausedSQL is the SQL expression of Paused for the organization and
// inbox ids given as SQL (parameters or columns), for a caller that asks
// it in its own query (a delivery attempt).
func PausedSQL(orgID, inboxID string) string {
	return `(coalesce((SELECT sending_paused FROM org_policies WHERE org_id = ` + orgID + `), false)
		OR coalesce((SELECT (policy->>'sending_paused')::boolean FROM inbox_policies WHERE inbox_id = ` + inboxID + `), false))`
}
