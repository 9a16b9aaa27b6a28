// Package domains keeps an organization's sending and receiving domains:
// create or reuse with validated, normalised names; the DNS records to
// publish (ownership, MX, SPF, DKIM, DMARC) with freshly generated DKIM
// keys, sealed at rest; verification through the configured resolver; a
// periodic re-verification job that marks drifted domains degraded; and
// the BIND zone export.
package domains

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"gent/daemon/audit"
	"gent/daemon/config"
	"gent/daemon/events"
	"gent/daemon/secrets"
	"gent/daemon/store"
	"gent/models"
)

// domainRow is a row of the domains table. Private keys are sealed with
// the master key; they never leave this package unsealed except as a
// crypto.Signer.
type domainRow struct {
	ID                  string             `gorm:"column:id;primaryKey"`
	OrgID               string             `gorm:"column:org_id"`
	Name                string             `gorm:"column:name"`
	Status              string             `gorm:"column:status"`
	DomainUse           string             `gorm:"column:domain_use"`
	DMARCPolicy         string             `gorm:"column:dmarc_policy"`
	OwnershipToken      string             `gorm:"column:ownership_token"`
	DKIMSelector        string             `gorm:"column:dkim_selector"`
	DKIMRSAPrivate      []byte             `gorm:"column:dkim_rsa_private"`
	DKIMRSAPublic       string             `gorm:"column:dkim_rsa_public"`
	DKIMEd25519Selector string             `gorm:"column:dkim_ed25519_selector"`
	DKIMEd25519Private  []byte             `gorm:"column:dkim_ed25519_private"`
	DKIMEd25519Public   string             `gorm:"column:dkim_ed25519_public"`
	Disabled            bool               `gorm:"column:disabled"`
	Records             []models.DNSRecord `gorm:"column:records;serializer:json"`
	VerifiedAt          *time.Time         `gorm:"column:verified_at"`
	LastCheckedAt       *time.Time         `gorm:"column:last_checked_at"`
	CreatedAt           time.Time          `gorm:"column:created_at"`
	UpdatedAt           time.Time          `gorm:"column:updated_at"`
}

func (domainRow) TableName() string { return "domains" }

// Sealing contexts bind each sealed key to its domain and purpose.
func rsaContext(id string) string { return "domains.dkim_rsa:" + id }
func edContext(id string) string  { return "domains.dkim_ed25519:" + id }

// Actor is who caused a verification (for the audit trail).
type Actor struct {
	Type string // user, token, system
	ID   string
}

// System is the actor of the periodic re-verification.
var System = Actor{Type: "system", ID: "domains.reverify"}

type Service struct {
	db       *store.Store
	box      *secrets.Box
	events   *events.Service
	audit    *audit.Service
	resolver *Resolver
	hostname string
	sandbox  string // sandbox.domain, the parent of the sandbox domains
	interval time.Duration
	log      *slog.Logger

	keysMu sync.Mutex
	keys   map[[32]byte]crypto.Signer // opened DKIM keys, by sealed value
}

// NewService builds the domain service. hostname (the MX target and the
// host SPF must authorise) and the resolver come from cfg.
func NewService(db *store.Store, box *secrets.Box, ev *events.Service, au *audit.Service, cfg config.Config, log *slog.Logger) (*Service, error) {
	res, err := NewResolver(cfg.DNS)
	if err != nil {
		return nil, err
	}
	return &Service{
		db: db, box: box, events: ev, audit: au, resolver: res,
		hostname: strings.ToLower(strings.TrimSuffix(cfg.Hostname, ".")), sandbox: cfg.Sandbox.Domain,
		interval: cfg.Domains.ReverifyInterval.D(), log: log,
	}, nil
}

// Resolver returns the DNS resolver the service verifies with (the one of
// dns.resolver), for other services' MX, SPF, DKIM and DMARC lookups.
func (s *Service) Resolver() *Resolver { return s.resolver }

func render(r *domainRow) *models.Domain {
	recs := r.Records
	if recs == nil {
		recs = []models.DNSRecord{}
	}
	for i := range recs {
		if recs[i].Found == nil {
			recs[i].Found = []string{}
		}
	}
	return &models.Domain{
		ID: r.ID, OrgID: r.OrgID, Name: r.Name, DomainUse: r.DomainUse, DMARCPolicy: r.DMARCPolicy, Status: r.Status,
		Sandbox: r.DomainUse == models.DomainUseSandbox, Disabled: r.Disabled,
		Records: recs, CreatedAt: r.CreatedAt, VerifiedAt: r.VerifiedAt, LastCheckedAt: r.LastCheckedAt,
	}
}

// Create adds a domain to the organization, or returns the organization's
// existing domain of that name unchanged (created false). A name held by
// another organization is a conflict that says nothing about it.
func (s *Service) Create(ctx context.Context, orgID string, req models.CreateDomainRequest) (*models.Domain, bool, error) {
	name, err := NormalizeName(req.Domain)
	if err != nil {
		return nil, false, err
	}
	use := req.DomainUse
	switch use {
	case "":
		use = models.DomainUseExisting
	case models.DomainUseExisting, models.DomainUseDedicated:
	default:
		return nil, false, models.Invalid("domain_use", "domain_use must be %q or %q, not %q", models.DomainUseExisting, models.DomainUseDedicated, use)
	}
	policy := req.DMARCPolicy
	switch policy {
	case "":
		policy = models.DMARCQuarantine
		if use == models.DomainUseDedicated {
			policy = models.DMARCReject
		}
	case models.DMARCNone, models.DMARCQuarantine, models.DMARCReject:
	default:
		return nil, false, models.Invalid("dmarc_policy", "dmarc_policy must be none, quarantine or reject, not %q", policy)
	}
	if s.IsSandboxName(name) {
		return nil, false, models.Invalid("domain", "%s is under the sandbox domain %s, which Gent makes itself at setup (GET /v1/domains/ lists your sandbox); add a domain you own instead", name, s.sandbox)
	}
	if d, err := s.reuse(ctx, orgID, name); d != nil || err != nil {
		return d, false, err
	}

	k, err := generateKeys()
	if err != nil {
		return nil, false, err
	}
	id := models.NewID(models.PrefixDomain)
	row := &domainRow{
		ID: id, OrgID: orgID, Name: name, Status: models.DomainPending, DomainUse: use, DMARCPolicy: policy,
		OwnershipToken: randomToken(32),
		DKIMSelector:   k.selector, DKIMRSAPrivate: s.box.Seal(k.rsaDER, rsaContext(id)), DKIMRSAPublic: k.rsaPub,
		DKIMEd25519Selector: k.edSelector, DKIMEd25519Private: s.box.Seal(k.edDER, edContext(id)), DKIMEd25519Public: k.edPub,
	}
	row.Records = expectedRecords(row, s.hostname)
	for _, rec := range row.Records {
		if len(rec.Name) > 253 {
			return nil, false, models.Invalid("domain", "domain is too long: its record %s would exceed the 253 characters DNS allows", rec.Name)
		}
	}
	err = s.db.DB.WithContext(ctx).Create(row).Error
	if store.IsUniqueViolation(err) {
		// Created meanwhile by another request.
		if d, err := s.reuse(ctx, orgID, name); d != nil || err != nil {
			return d, false, err
		}
	}
	if err != nil {
		return nil, false, fmt.Errorf("create domain: %w", err)
	}
	if err := s.db.DB.WithContext(ctx).Where("id = ?", id).Take(row).Error; err != nil {
		return nil, false, fmt.Errorf("read created domain: %w", err)
	}
	return render(row), true, nil
}

// reuse returns the organization's domain called name, a conflict when
// another organization holds it, or nothing.
func (s *Service) reuse(ctx context.Context, orgID, name string) (*models.Domain, error) {
	var row domainRow
	err := s.db.DB.WithContext(ctx).Where("name = ?", name).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up domain: %w", err)
	}
	if row.OrgID != orgID {
		return nil, &models.Error{Code: models.CodeConflict, Field: "domain",
			Message: "domain " + name + " cannot be added: it is already in use on this server"}
	}
	return render(&row), nil
}

func (s *Service) get(ctx context.Context, db *gorm.DB, orgID, id string) (*domainRow, error) {
	if !models.HasPrefix(id, models.PrefixDomain) {
		return nil, models.NotFound("domain")
	}
	var row domainRow
	q := db.WithContext(ctx).Where("id = ?", id)
	if orgID != "" {
		q = q.Where("org_id = ?", orgID)
	}
	if err := q.Take(&row).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, models.NotFound("domain")
		}
		return nil, fmt.Errorf("get domain: %w", err)
	}
	return &row, nil
}

// Get returns one domain of the organization.
func (s *Service) Get(ctx context.Context, orgID, id string) (*models.Domain, error) {
	row, err := s.get(ctx, s.db.DB, orgID, id)
	if err != nil {
		return nil, err
	}
	return render(row), nil
}

// FindByName returns the domain called name in any organization (for the
// SMTP server, which knows only the address); its OrgID says whose it is.
// The name is normalised first; an invalid or unknown name is not_found.
func (s *Service) FindByName(ctx context.Context, name string) (*models.Domain, error) {
	n, err := NormalizeName(name)
	if err != nil {
		return nil, models.NotFound("domain")
	}
	var row domainRow
	if err := s.db.DB.WithContext(ctx).Where("name = ?", n).Take(&row).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, models.NotFound("domain")
		}
		return nil, fmt.Errorf("find domain: %w", err)
	}
	return render(&row), nil
}

// List returns one page of the organization's domains, oldest first.
func (s *Service) List(ctx context.Context, orgID, cursor string, limit int) ([]models.Domain, string, error) {
	q := s.db.DB.WithContext(ctx).Where("org_id = ?", orgID)
	if cursor != "" {
		q = q.Where("id > ?", cursor)
	}
	var rows []domainRow
	if err := q.Order(clause.OrderByColumn{Column: clause.Column{Name: "id"}}).Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, "", fmt.Errorf("list domains: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[limit-1].ID
	}
	out := make([]models.Domain, len(rows))
	for i := range rows {
		out[i] = *render(&rows[i])
	}
	return out, next, nil
}

// Zone returns the domain's records as a BIND zone file snippet.
func (s *Service) Zone(ctx context.Context, orgID, id string) (string, error) {
	d, err := s.Get(ctx, orgID, id)
	if err != nil {
		return "", err
	}
	return Zone(d), nil
}

// Delete removes a domain that no active inbox uses.
func (s *Service) Delete(ctx context.Context, orgID, id string) error {
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		row, err := s.get(ctx, tx.Clauses(clause.Locking{Strength: "UPDATE"}), orgID, id)
		if err != nil {
			return err
		}
		var n int64
		if err := tx.Raw(`SELECT count(*) FROM inboxes WHERE domain_id = ? AND status = 'active'`, row.ID).Scan(&n).Error; err != nil {
			return fmt.Errorf("count inboxes: %w", err)
		}
		if n > 0 {
			return models.Errorf(models.CodeConflict, "domain %s is used by %d inbox(es); delete them first", row.Name, n)
		}
		if err := tx.Exec(`DELETE FROM domains WHERE id = ? AND org_id = ?`, row.ID, orgID).Error; err != nil {
			if models.ErrorCode(store.WrapError(err, "domain")) == models.CodeConflict {
				return models.Errorf(models.CodeConflict, "domain %s still has inboxes being deleted; try again shortly", row.Name)
			}
			return fmt.Errorf("delete domain: %w", err)
		}
		return nil
	})
	return err
}

// DKIMKey is one key outbound mail is signed with.
type DKIMKey struct {
	Selector string
	Signer   crypto.Signer
}

// DKIMKeys returns the keys to sign the domain's outbound mail with, read
// in one query: the RSA key (rsa-sha256) always, then the Ed25519 key
// (ed25519-sha256, RFC 8463) when its record was found valid at the last
// check.
func (s *Service) DKIMKeys(ctx context.Context, domainID string) ([]DKIMKey, error) {
	row, err := s.get(ctx, s.db.DB, "", domainID)
	if err != nil {
		return nil, err
	}
	return s.keysOf(row)
}

// DKIMColumns selects, from the domains row aliased d, what DKIMKeysOf
// needs (DKIMMaterial, in field order): a caller that reads the sending
// domain in its own query (a delivery attempt) gets its keys without
// another round trip.
const DKIMColumns = `d.id, d.dkim_selector, d.dkim_rsa_private, d.dkim_ed25519_selector, d.dkim_ed25519_private, d.records`

// DKIMMaterial is a domain's sealed keys and records, as DKIMColumns
// selects them.
type DKIMMaterial struct {
	ID                  string
	DKIMSelector        string
	DKIMRSAPrivate      []byte
	DKIMEd25519Selector string
	DKIMEd25519Private  []byte
	Records             []byte // JSON
}

// DKIMKeysOf is DKIMKeys for a domain the caller has read (DKIMColumns).
func (s *Service) DKIMKeysOf(m DKIMMaterial) ([]DKIMKey, error) {
	row := &domainRow{ID: m.ID, DKIMSelector: m.DKIMSelector, DKIMRSAPrivate: m.DKIMRSAPrivate,
		DKIMEd25519Selector: m.DKIMEd25519Selector, DKIMEd25519Private: m.DKIMEd25519Private}
	if len(m.Records) > 0 {
		if err := json.Unmarshal(m.Records, &row.Records); err != nil {
			return nil, fmt.Errorf("load DKIM keys: %w", err)
		}
	}
	return s.keysOf(row)
}

func (s *Service) keysOf(row *domainRow) ([]DKIMKey, error) {
	rsaKey, err := s.openKey(row.DKIMRSAPrivate, rsaContext(row.ID))
	if err != nil {
		return nil, err
	}
	keys := []DKIMKey{{Selector: row.DKIMSelector, Signer: rsaKey}}
	edKey, ok, err := s.ed25519Key(row)
	if err != nil || !ok {
		return keys, err
	}
	return append(keys, DKIMKey{Selector: row.DKIMEd25519Selector, Signer: edKey}), nil
}

// ed25519Key opens the row's Ed25519 key if its record is published.
func (s *Service) ed25519Key(row *domainRow) (crypto.Signer, bool, error) {
	published := false
	for _, rec := range row.Records {
		if rec.Purpose == models.PurposeDKIM && strings.HasPrefix(rec.Name, row.DKIMEd25519Selector+".") {
			published = rec.Status == models.RecordValid
		}
	}
	if !published {
		return nil, false, nil
	}
	signer, err := s.openKey(row.DKIMEd25519Private, edContext(row.ID))
	if err != nil {
		return nil, false, err
	}
	return signer, true, nil
}

// maxOpenKeys bounds the cache of opened DKIM keys.
const maxOpenKeys = 4096

// openKey decrypts and parses a sealed DKIM key. Opened keys are kept by
// the digest of the sealed value and its context: every delivery signs,
// and decrypting and parsing an RSA key (with its precomputation) cost as
// much as a tenth of the send path's CPU. A changed key is a new sealed
// value, so the cache never serves an old one.
func (s *Service) openKey(sealed []byte, context string) (crypto.Signer, error) {
	h := sha256.New()
	h.Write([]byte(context))
	h.Write([]byte{0})
	h.Write(sealed)
	var id [32]byte
	h.Sum(id[:0])
	s.keysMu.Lock()
	signer, ok := s.keys[id]
	s.keysMu.Unlock()
	if ok {
		return signer, nil
	}
	signer, err := s.parseKey(sealed, context)
	if err != nil {
		return nil, err
	}
	s.keysMu.Lock()
	if s.keys == nil || len(s.keys) >= maxOpenKeys {
		s.keys = map[[32]byte]crypto.Signer{}
	}
	s.keys[id] = signer
	s.keysMu.Unlock()
	return signer, nil
}

func (s *Service) parseKey(sealed []byte, context string) (crypto.Signer, error) {
	der, err := s.box.Open(sealed, context)
	if err != nil {
		return nil, fmt.Errorf("open DKIM key: %w", err)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse DKIM key: %w", err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("parse DKIM key: %T is not a signer", k)
	}
	return signer, nil
}
