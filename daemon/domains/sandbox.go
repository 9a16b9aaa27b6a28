package domains

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"gent/daemon/audit"
	"gent/models"
)

// The sandbox domain (DESIGN section 14). Domain names are unique across
// organizations (inbound SMTP finds the organization by the name), so each
// organization's sandbox is <org-slug>.<sandbox.domain>: "Acme" gets
// acme.sandbox.gent.localhost, a second organization whose slug is taken
// gets acme-2.sandbox.gent.localhost. Names under sandbox.domain cannot be
// added with POST /v1/domains/.

// Sandbox returns the parent of the sandbox domains ("" when off).
func (s *Service) Sandbox() string { return s.sandbox }

// IsSandboxName reports whether name (normalised) is sandbox.domain or a
// name under it.
func (s *Service) IsSandboxName(name string) bool {
	return s.sandbox != "" && (name == s.sandbox || strings.HasSuffix(name, "."+s.sandbox))
}

// Slug turns an organization's name into a DNS label: lower-case ASCII
// letters and digits, other runs of characters as one hyphen, at most 40
// characters; "org" when nothing is left.
func Slug(name string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			hyphen = false
			b.WriteRune(r)
		default:
			hyphen = true
		}
		if b.Len() >= 40 {
			break
		}
	}
	out := strings.Trim(b.String(), "-")
	if len(out) > 40 {
		out = strings.Trim(out[:40], "-")
	}
	if out == "" {
		return "org"
	}
	return out
}

// CreateSandbox creates the organization's sandbox domain inside tx (the
// setup transaction): verified, domain_use sandbox, no DNS records, with
// DKIM keys of its own to sign what it captures. It does nothing when
// sandbox.domain is empty or the organization has a sandbox already.
func (s *Service) CreateSandbox(ctx context.Context, tx *gorm.DB, org models.Org) (*models.Domain, error) {
	if s.sandbox == "" {
		return nil, nil
	}
	var existing domainRow
	err := tx.WithContext(ctx).Where("org_id = ? AND domain_use = ?", org.ID, models.DomainUseSandbox).Take(&existing).Error
	if err == nil {
		return render(&existing), nil
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("look up sandbox domain: %w", err)
	}
	slug := Slug(org.Name)
	var name string
	for i := 1; ; i++ {
		label := slug
		if i > 1 {
			label = slug + "-" + strconv.Itoa(i)
		}
		if name, err = NormalizeName(label + "." + s.sandbox); err != nil {
			return nil, fmt.Errorf("sandbox domain name: %w", err)
		}
		var n int64
		if err := tx.WithContext(ctx).Raw(`SELECT count(*) FROM domains WHERE name = ?`, name).Scan(&n).Error; err != nil {
			return nil, fmt.Errorf("look up sandbox domain name: %w", err)
		}
		if n == 0 {
			break
		}
	}
	k, err := generateKeys()
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	id := models.NewID(models.PrefixDomain)
	row := &domainRow{
		ID: id, OrgID: org.ID, Name: name, Status: models.DomainVerified, DomainUse: models.DomainUseSandbox,
		DMARCPolicy: models.DMARCNone, OwnershipToken: randomToken(32),
		DKIMSelector: k.selector, DKIMRSAPrivate: s.box.Seal(k.rsaDER, rsaContext(id)), DKIMRSAPublic: k.rsaPub,
		DKIMEd25519Selector: k.edSelector, DKIMEd25519Private: s.box.Seal(k.edDER, edContext(id)), DKIMEd25519Public: k.edPub,
		Records: []models.DNSRecord{}, VerifiedAt: &now, LastCheckedAt: &now, CreatedAt: now, UpdatedAt: now,
	}
	if err := tx.WithContext(ctx).Create(row).Error; err != nil {
		return nil, fmt.Errorf("create sandbox domain: %w", err)
	}
	if err := s.audit.Record(ctx, tx, auditSandbox(org.ID, row)); err != nil {
		return nil, err
	}
	return render(row), nil
}

// Update changes what PATCH /v1/domains/{id} may change: disabled, on the
// sandbox domain only.
func (s *Service) Update(ctx context.Context, orgID, id string, req models.UpdateDomainRequest) (*models.Domain, error) {
	var out *models.Domain
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		row, err := s.get(ctx, tx.Clauses(clause.Locking{Strength: "UPDATE"}), orgID, id)
		if err != nil {
			return err
		}
		if req.Disabled != nil {
			if row.DomainUse != models.DomainUseSandbox {
				return models.Invalid("disabled", "only the sandbox domain can be disabled; %s is a real domain (delete it, or its inboxes, instead)", row.Name)
			}
			if err := tx.Exec(`UPDATE domains SET disabled = ?, updated_at = now() WHERE id = ?`, *req.Disabled, row.ID).Error; err != nil {
				return fmt.Errorf("update domain: %w", err)
			}
		}
		row, err = s.get(ctx, tx, orgID, id)
		if err != nil {
			return err
		}
		out = render(row)
		return nil
	})
	return out, err
}

func auditSandbox(orgID string, row *domainRow) audit.Entry {
	return audit.Entry{OrgID: orgID, ActorType: System.Type, ActorID: "domains.sandbox", Action: "domains.sandbox_created",
		TargetType: "domain", TargetID: row.ID, Outcome: "success", Detail: map[string]any{"name": row.Name}}
}
