package mail

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"gent/daemon/store"
	"gent/models"
)

// localPartChars are the characters of an RFC 5321 dot-atom besides
// letters and digits; '+' is left out because plus-tags are not separate
// inboxes.
const localPartChars = "!#$%&'*-/=?^_`{|}~."

// ParseAddress splits and normalises an inbox address: lower case, RFC 5321
// dot-atom local part without plus-tags.
func ParseAddress(raw string) (local, domain string, err error) {
	addr := strings.ToLower(strings.TrimSpace(raw))
	if addr == "" {
		return "", "", models.Invalid("address", "address is required, e.g. agent@mail.example.com")
	}
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return "", "", models.Invalid("address", "not an email address: %q", raw)
	}
	local, domain = addr[:at], strings.TrimSuffix(addr[at+1:], ".")
	if len(local) > 64 {
		return "", "", models.Invalid("address", "the local part must be at most 64 characters")
	}
	if strings.Contains(local, "+") {
		return "", "", models.Invalid("address", "plus-tags are not allowed in inbox addresses (%q): mail to local+tag reaches the inbox of local", raw)
	}
	if strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		return "", "", models.Invalid("address", "the local part may not start or end with a dot or hold two in a row")
	}
	for _, r := range local {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune(localPartChars, r)) {
			return "", "", models.Invalid("address", "the local part may not contain %q", r)
		}
	}
	if len(addr) > 254 {
		return "", "", models.Invalid("address", "the address must be at most 254 characters")
	}
	return local, domain, nil
}

// CreateInbox creates an inbox on one of the organization's verified
// domains.
func (s *Service) CreateInbox(ctx context.Context, orgID string, req models.CreateInboxRequest) (*models.Inbox, error) {
	local, domain, err := ParseAddress(req.Address)
	if err != nil {
		return nil, err
	}
	name := strings.TrimSpace(req.DisplayName)
	if len(name) > 200 || strings.ContainsAny(name, "\r\n") {
		return nil, models.Invalid("display_name", "display_name must be one line of at most 200 characters")
	}
	meta := req.Metadata
	if meta == nil {
		meta = map[string]any{}
	}
	var d struct {
		ID        string
		Status    string
		DomainUse string
		Disabled  bool
	}
	res := s.db.DB.WithContext(ctx).Raw(`SELECT id, status, domain_use, disabled FROM domains WHERE org_id = ? AND name = ?`, orgID, domain).Scan(&d)
	if res.Error != nil {
		return nil, fmt.Errorf("look up domain: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, models.Invalid("address", "%s is not a domain of this organization; add it with POST /v1/domains/ and verify it first", domain)
	}
	if d.Status != "verified" {
		return nil, models.Invalid("address", "the domain %s is not verified (status %s); publish its DNS records and POST /v1/domains/%s/verify", domain, d.Status, d.ID)
	}
	sandbox := d.DomainUse == models.DomainUseSandbox
	if sandbox && d.Disabled {
		return nil, &models.Error{Code: models.CodeSandboxDisabled, Field: "address",
			Message: "the sandbox domain " + domain + " is disabled; enable it with PATCH /v1/domains/" + d.ID + ` {"disabled": false}, or use a domain of your own`}
	}
	in := models.Inbox{ID: models.NewID(models.PrefixInbox), OrgID: orgID, DomainID: d.ID, Address: local + "@" + domain,
		DisplayName: name, Metadata: meta, Status: "active", Sandbox: sandbox}
	if err := s.db.DB.WithContext(ctx).Create(&in).Error; err != nil {
		if store.IsUniqueViolation(err) {
			return nil, &models.Error{Code: models.CodeConflict, Message: "an inbox with this address already exists", Field: "address"}
		}
		return nil, fmt.Errorf("create inbox: %w", err)
	}
	return &in, nil
}

// GetInbox returns an active inbox of the organization.
func (s *Service) GetInbox(ctx context.Context, orgID, id string) (*models.Inbox, error) {
	var in models.Inbox
	err := s.db.DB.WithContext(ctx).Take(&in, "id = ? AND org_id = ? AND status = 'active'", id, orgID).Error
	if err != nil {
		return nil, store.WrapError(err, "inbox")
	}
	return &in, nil
}

// ListInboxes returns a page of the organization's inboxes, by id.
func (s *Service) ListInboxes(ctx context.Context, orgID, domainID, cursor string, limit int) ([]models.Inbox, string, error) {
	q := s.db.DB.WithContext(ctx).Where("org_id = ? AND status = 'active'", orgID)
	if domainID != "" {
		q = q.Where("domain_id = ?", domainID)
	}
	if cursor != "" {
		q = q.Where("id > ?", cursor)
	}
	var out []models.Inbox
	if err := q.Order("id").Limit(limit + 1).Find(&out).Error; err != nil {
		return nil, "", fmt.Errorf("list inboxes: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// UpdateInbox changes the display name and metadata.
func (s *Service) UpdateInbox(ctx context.Context, orgID, id string, req models.UpdateInboxRequest) (*models.Inbox, error) {
	updates := map[string]any{"updated_at": gorm.Expr("now()")}
	if req.DisplayName != nil {
		name := strings.TrimSpace(*req.DisplayName)
		if len(name) > 200 || strings.ContainsAny(name, "\r\n") {
			return nil, models.Invalid("display_name", "display_name must be one line of at most 200 characters")
		}
		updates["display_name"] = name
	}
	if req.Metadata != nil {
		m := *req.Metadata
		if m == nil {
			m = map[string]any{}
		}
		updates["metadata"] = models.JSONMap(m)
	}
	res := s.db.DB.WithContext(ctx).Model(&models.Inbox{}).Where("id = ? AND org_id = ? AND status = 'active'", id, orgID).Updates(updates)
	if res.Error != nil {
		return nil, fmt.Errorf("update inbox: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, models.NotFound("inbox")
	}
	return s.GetInbox(ctx, orgID, id)
}

// DeleteInbox revokes the inbox's tokens and hides it at once (its address
// is free again); a job then removes its mail, releasing the usage.
func (s *Service) DeleteInbox(ctx context.Context, orgID, id string) error {
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE inboxes SET status = 'deleting', updated_at = now() WHERE id = ? AND org_id = ? AND status = 'active'`, id, orgID)
		if res.Error != nil {
			return fmt.Errorf("delete inbox: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return models.NotFound("inbox")
		}
		if err := tx.Exec(`UPDATE tokens SET revoked_at = now() WHERE inbox_id = ? AND revoked_at IS NULL`, id).Error; err != nil {
			return fmt.Errorf("revoke inbox tokens: %w", err)
		}
		return s.jobs.InsertTx(ctx, tx, PurgeInboxArgs{OrgID: orgID, InboxID: id}, nil)
	})
}

// PurgeInboxArgs is the job that removes a deleted inbox and its mail.
type PurgeInboxArgs struct {
	OrgID   string `json:"org_id"`
	InboxID string `json:"inbox_id"`
}

func (PurgeInboxArgs) Kind() string { return "inbox.purge" }

// PurgeBatch is how many rows one purge transaction deletes.
const PurgeBatch = 1000

type purgeWorker struct {
	river.WorkerDefaults[PurgeInboxArgs]
	s *Service
}

// Work deletes the inbox's rows in batches (every table referencing
// inboxes cascades), then the inbox itself.
func (w *purgeWorker) Work(ctx context.Context, job *river.Job[PurgeInboxArgs]) error {
	var status string
	err := w.s.db.DB.WithContext(ctx).Raw(`SELECT status FROM inboxes WHERE id = ? AND org_id = ?`, job.Args.InboxID, job.Args.OrgID).Scan(&status).Error
	if err != nil {
		return fmt.Errorf("purge inbox: %w", err)
	}
	if status != "deleting" {
		return nil // gone already, or never deleted
	}
	for _, purge := range w.s.purgers {
		for {
			n, err := purge(ctx, w.s.db.DB, job.Args.InboxID, PurgeBatch)
			if err != nil {
				return fmt.Errorf("purge inbox: %w", err)
			}
			if n < PurgeBatch {
				break
			}
		}
	}
	err = w.s.db.DB.WithContext(ctx).Exec(`DELETE FROM inboxes WHERE id = ? AND status = 'deleting'`, job.Args.InboxID).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("purge inbox: %w", err)
	}
	return nil
}

// Purger deletes up to batch rows of one kind belonging to a deleted inbox
// (and releases the usage they held), returning how many it deleted.
type Purger func(ctx context.Context, db *gorm.DB, inboxID string, batch int) (int, error)

// AddPurger registers a batch deleter run before the inbox row is removed.
func (s *Service) AddPurger(p Purger) { s.purgers = append(s.purgers, p) }

// RegisterWorkers adds the service's jobs.
func (s *Service) RegisterWorkers(workers *river.Workers) {
	river.AddWorker(workers, &purgeWorker{s: s})
}
