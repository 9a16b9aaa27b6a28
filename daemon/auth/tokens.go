package auth

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"gent/daemon/ratelimit"
	"gent/daemon/store"
	"gent/models"
)

// TokenPrefix starts every agent token: gent_ + 30 random base62 characters
// + a 6-character base62 CRC32 of those 30, so secret scanners can
// recognise a token and typos are refused without a database lookup.
const TokenPrefix = "gent_"

const (
	tokenRandomLen   = 30
	tokenChecksumLen = 6
	tokenLen         = len(TokenPrefix) + tokenRandomLen + tokenChecksumLen
	tokenShownPrefix = 12 // "gent_" + 7: enough to tell tokens apart in lists
)

// NewTokenValue returns a fresh raw token.
func NewTokenValue() string {
	r := randomBase62(tokenRandomLen)
	return TokenPrefix + r + checksum(r)
}

func checksum(random string) string {
	return encodeBase62(uint64(crc32.ChecksumIEEE([]byte(random))), tokenChecksumLen)
}

func encodeBase62(n uint64, width int) string {
	b := make([]byte, width)
	for i := width - 1; i >= 0; i-- {
		b[i] = base62[n%62]
		n /= 62
	}
	return string(b)
}

// ValidTokenFormat checks the shape and checksum of a raw token.
func ValidTokenFormat(raw string) bool {
	if len(raw) != tokenLen || !strings.HasPrefix(raw, TokenPrefix) {
		return false
	}
	body := raw[len(TokenPrefix):]
	for i := 0; i < len(body); i++ {
		if strings.IndexByte(base62, body[i]) < 0 {
			return false
		}
	}
	return checksum(body[:tokenRandomLen]) == body[tokenRandomLen:]
}

// authToken looks the token up by hash on every request, so revocation,
// rotation and expiry take effect on the next request on every replica.
func (s *Service) authToken(ctx context.Context, raw string) (*Principal, error) {
	p, _, _, err := s.authTokenLimited(ctx, raw, ratelimit.Spend{})
	return p, err
}

// tokenLookup finds a live token by its hash ($1) with its inbox.
const tokenLookup = `SELECT t.id, t.org_id, t.inbox_id, t.label, t.scopes, t.requires_approval, t.last_used_at, i.address
	FROM tokens t JOIN inboxes i ON i.id = t.inbox_id AND i.status = 'active'
	WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())`

// authTokenLimited looks the token up and, when lim is set, spends lim on
// the token's shared limit (key "http:" + token id) in the same
// statement: one round trip for both (docs/cluster.md).
func (s *Service) authTokenLimited(ctx context.Context, raw string, lim ratelimit.Spend) (*Principal, time.Duration, bool, error) {
	if !ValidTokenFormat(raw) {
		return nil, 0, false, errBadCredential
	}
	var (
		t              models.Token
		address        string
		scopes, held   []string
		allowed        *bool
		ahead1, ahead2 *float64
	)
	q, args := tokenLookup, []any{Hash(raw)}
	e, limited := ratelimit.Embed(`SELECT 'http:' || id AS key, org_id FROM t`, 2, lim, ratelimit.Spend{})
	if limited {
		q = `WITH t AS (` + tokenLookup + `), lim AS (` + e.SQL + `)
	SELECT t.*, lim.allowed, lim.ahead1, lim.ahead2 FROM t LEFT JOIN lim ON true`
		args = append(args, e.Args...)
	} else {
		q = `SELECT t.*, NULL::bool, NULL::float8, NULL::float8 FROM (` + tokenLookup + `) t`
	}
	err := s.db.Pool.QueryRow(ctx, q, args...).Scan(&t.ID, &t.OrgID, &t.InboxID, &t.Label, &scopes, &held, &t.LastUsedAt, &address,
		&allowed, &ahead1, &ahead2)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, false, errBadCredential
	}
	if err != nil {
		return nil, 0, false, fmt.Errorf("look up token: %w", err)
	}
	t.Scopes, t.RequiresApproval = scopes, held
	var wait time.Duration
	if limited {
		if allowed == nil || ahead1 == nil || ahead2 == nil {
			return nil, 0, false, fmt.Errorf("look up token: no rate limit row")
		}
		wait = ratelimit.Wait(*allowed, *ahead1, *ahead2, lim, ratelimit.Spend{})
	}
	// last_used_at is kept to the minute, so a busy agent does not write a
	// row per request.
	if t.LastUsedAt == nil || time.Since(*t.LastUsedAt) > time.Minute {
		if err := s.db.DB.WithContext(ctx).Exec(`UPDATE tokens SET last_used_at = now() WHERE id = ?`, t.ID).Error; err != nil {
			s.log.Warn("update token last_used_at", "err", err)
		}
	}
	return &Principal{Kind: KindToken, OrgID: t.OrgID, TokenID: t.ID, TokenLabel: t.Label, InboxID: t.InboxID,
		Scopes: t.Scopes, RequiresApproval: t.RequiresApproval, Address: address}, wait, limited, nil
}

// Emitter records events in a transaction (events.Service).
type Emitter interface {
	Emit(ctx context.Context, tx *gorm.DB, orgID, inboxID, typ string, payload map[string]any) (*models.Event, error)
}

// CreateToken issues a token bound to one inbox of the caller's
// organization.
func (s *Service) CreateToken(ctx context.Context, p *Principal, req models.CreateTokenRequest) (*models.TokenSecret, error) {
	label := strings.TrimSpace(req.Label)
	if label == "" {
		return nil, models.Invalid("label", "label is required: name the agent or integration that will use the token")
	}
	if len(label) > 100 {
		return nil, models.Invalid("label", "label must be at most 100 characters")
	}
	scopes, err := checkScopes(req.Scopes, req.RequiresApproval)
	if err != nil {
		return nil, err
	}
	held := dedupe(req.RequiresApproval)
	if req.ExpiresAt != nil && !req.ExpiresAt.After(s.now()) {
		return nil, models.Invalid("expires_at", "expires_at must be in the future")
	}
	if req.InboxID == "" {
		return nil, models.Invalid("inbox_id", "inbox_id is required")
	}
	raw := NewTokenValue()
	tok := models.Token{
		ID: models.NewID(models.PrefixToken), OrgID: p.OrgID, InboxID: req.InboxID, Label: label,
		Scopes: scopes, RequiresApproval: held, TokenHash: Hash(raw), Prefix: raw[:tokenShownPrefix],
		CreatedBy: p.ID(), ExpiresAt: req.ExpiresAt,
	}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		// FOR SHARE: a concurrent inbox deletion waits, so it revokes this
		// token too.
		res := tx.Exec(`SELECT 1 FROM inboxes WHERE id = ? AND org_id = ? AND status = 'active' FOR SHARE`, req.InboxID, p.OrgID)
		if res.Error != nil {
			return fmt.Errorf("check inbox: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return &models.Error{Code: models.CodeNotFound, Message: "inbox not found", Field: "inbox_id"}
		}
		if err := tx.Create(&tok).Error; err != nil {
			return fmt.Errorf("create token: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	tok.Status = tokenStatus(&tok, s.now())
	return &models.TokenSecret{Token: tok, Secret: raw}, nil
}

func dedupe(in []string) models.StringArray {
	out := models.StringArray{}
	seen := map[string]bool{}
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func checkScopes(scopes, held []string) (models.StringArray, error) {
	if len(scopes) == 0 {
		return nil, models.Invalid("scopes", "scopes is required: one or more of %s", models.ScopeNames())
	}
	for i, sc := range scopes {
		if !models.KnownScope(sc) {
			return nil, models.Invalid(fmt.Sprintf("scopes[%d]", i), "unknown scope %q; known scopes: %s", sc, models.ScopeNames())
		}
	}
	out := dedupe(scopes)
	for i, h := range held {
		field := fmt.Sprintf("requires_approval[%d]", i)
		if !models.KnownScope(h) {
			return nil, models.Invalid(field, "unknown scope %q", h)
		}
		found := false
		for _, sc := range out {
			found = found || sc == h
		}
		if !found {
			return nil, models.Invalid(field, "%q is not in scopes: requires_approval must be a subset of scopes", h)
		}
		if h != models.ScopeEmailSend {
			return nil, models.Invalid(field, "only email:send can be held for approval, not %q", h)
		}
	}
	return out, nil
}

func tokenStatus(t *models.Token, now time.Time) string {
	switch {
	case t.RevokedAt != nil:
		return "revoked"
	case t.ExpiresAt != nil && !t.ExpiresAt.After(now):
		return "expired"
	}
	return "active"
}

// ListTokens returns a page of the organization's tokens (optionally one
// inbox's), never their values.
func (s *Service) ListTokens(ctx context.Context, orgID, inboxID, cursor string, limit int) ([]models.Token, string, error) {
	q := s.db.DB.WithContext(ctx).Where("org_id = ?", orgID)
	if inboxID != "" {
		q = q.Where("inbox_id = ?", inboxID)
	}
	if cursor != "" {
		q = q.Where("id > ?", cursor)
	}
	var toks []models.Token
	if err := q.Order("id").Limit(limit + 1).Find(&toks).Error; err != nil {
		return nil, "", fmt.Errorf("list tokens: %w", err)
	}
	next := ""
	if len(toks) > limit {
		toks = toks[:limit]
		next = toks[limit-1].ID
	}
	now := s.now()
	for i := range toks {
		toks[i].Status = tokenStatus(&toks[i], now)
	}
	return toks, next, nil
}

// GetToken returns one token of the organization.
func (s *Service) GetToken(ctx context.Context, orgID, id string) (*models.Token, error) {
	var t models.Token
	if err := s.db.DB.WithContext(ctx).Take(&t, "id = ? AND org_id = ?", id, orgID).Error; err != nil {
		return nil, store.WrapError(err, "token")
	}
	t.Status = tokenStatus(&t, s.now())
	return &t, nil
}

// RotateToken replaces the token's value; the old value stops working at
// once. The new value is returned once.
func (s *Service) RotateToken(ctx context.Context, orgID, id string) (*models.TokenSecret, error) {
	raw := NewTokenValue()
	var tok models.Token
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Raw(`SELECT * FROM tokens WHERE id = ? AND org_id = ? FOR UPDATE`, id, orgID).Scan(&tok).Error; err != nil {
			return fmt.Errorf("load token: %w", err)
		}
		if tok.ID == "" {
			return models.NotFound("token")
		}
		if tok.RevokedAt != nil {
			return models.Errorf(models.CodeConflict, "the token is revoked; create a new one")
		}
		now := s.now().UTC()
		tok.TokenHash, tok.Prefix, tok.RotatedAt = Hash(raw), raw[:tokenShownPrefix], &now
		return tx.Exec(`UPDATE tokens SET token_hash = ?, prefix = ?, rotated_at = ? WHERE id = ?`,
			tok.TokenHash, tok.Prefix, now, id).Error
	})
	if err != nil {
		return nil, err
	}
	tok.Status = tokenStatus(&tok, s.now())
	return &models.TokenSecret{Token: tok, Secret: raw}, nil
}

// RevokeToken revokes the token; the next request with it is refused.
func (s *Service) RevokeToken(ctx context.Context, orgID, id string, ev Emitter) error {
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		var tok models.Token
		err := tx.Take(&tok, "id = ? AND org_id = ?", id, orgID).Error
		if err != nil {
			return store.WrapError(err, "token")
		}
		if tok.RevokedAt != nil {
			return nil
		}
		if err := tx.Exec(`UPDATE tokens SET revoked_at = now() WHERE id = ?`, id).Error; err != nil {
			return fmt.Errorf("revoke token: %w", err)
		}
		if ev != nil {
			if _, err := ev.Emit(ctx, tx, orgID, tok.InboxID, models.EventTokenRevoked,
				map[string]any{"token_id": tok.ID, "label": tok.Label}); err != nil {
				return err
			}
		}
		return nil
	})
}

// WhoAmI describes the calling token.
func (s *Service) WhoAmI(ctx context.Context, p *Principal) (*models.WhoAmI, error) {
	var t models.Token
	if err := s.db.DB.WithContext(ctx).Take(&t, "id = ? AND org_id = ?", p.TokenID, p.OrgID).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, errBadCredential
		}
		return nil, fmt.Errorf("load token: %w", err)
	}
	var sandbox bool
	if err := s.db.DB.WithContext(ctx).Raw(`SELECT sandbox FROM inboxes WHERE id = ?`, t.InboxID).Scan(&sandbox).Error; err != nil {
		return nil, fmt.Errorf("load inbox: %w", err)
	}
	return &models.WhoAmI{TokenID: t.ID, Label: t.Label, OrgID: t.OrgID, InboxID: t.InboxID, Address: p.Address,
		Scopes: t.Scopes, RequiresApproval: t.RequiresApproval, ExpiresAt: t.ExpiresAt, Sandbox: sandbox}, nil
}
