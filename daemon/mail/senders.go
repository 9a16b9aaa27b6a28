package mail

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"gent/daemon/store"
	"gent/models"
)

// maxSenderRules bounds the rules of one inbox.
const maxSenderRules = 1000

// normalizePattern validates a sender rule pattern: "*", an address
// (local@domain) or a domain ("example.com", matching its subdomains too;
// a leading "@" or "*." is accepted and dropped).
func normalizePattern(raw string) (string, error) {
	p := strings.ToLower(strings.TrimSpace(raw))
	if p == "" {
		return "", models.Invalid("pattern", `pattern is required: an address, a domain or "*"`)
	}
	if p == "*" {
		return p, nil
	}
	p = strings.TrimPrefix(strings.TrimPrefix(p, "*."), "@")
	p = strings.TrimSuffix(p, ".")
	if strings.Contains(p, "@") {
		if !validMailbox(p) {
			return "", models.Invalid("pattern", "not an email address: %q", raw)
		}
		return p, nil
	}
	if !validDomain(p) {
		return "", models.Invalid("pattern", "not a domain: %q", raw)
	}
	return p, nil
}

func validDomain(d string) bool {
	if len(d) == 0 || len(d) > 253 || strings.HasPrefix(d, ".") || strings.Contains(d, "..") {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if len(label) == 0 || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r > 0x7f) {
				return false
			}
		}
	}
	return true
}

// inboxOf checks that an inbox is an active inbox of the organization.
func (s *Service) inboxOf(ctx context.Context, orgID, inboxID string) error {
	var n int64
	if err := s.db.DB.WithContext(ctx).Raw(`SELECT count(*) FROM inboxes WHERE id = ? AND org_id = ? AND status = 'active'`,
		inboxID, orgID).Scan(&n).Error; err != nil {
		return fmt.Errorf("look up inbox: %w", err)
	}
	if n == 0 {
		return models.NotFound("inbox")
	}
	return nil
}

// ListSenderRules returns a page of an inbox's sender rules.
func (s *Service) ListSenderRules(ctx context.Context, orgID, inboxID, cursor string, limit int) ([]models.SenderRule, string, error) {
	if err := s.inboxOf(ctx, orgID, inboxID); err != nil {
		return nil, "", err
	}
	q := s.db.DB.WithContext(ctx).Table("sender_rules").Select("id, inbox_id, pattern, kind, created_at").
		Where("inbox_id = ? AND org_id = ?", inboxID, orgID)
	if cursor != "" {
		q = q.Where("id > ?", cursor)
	}
	var out []models.SenderRule
	if err := q.Order("id").Limit(limit + 1).Scan(&out).Error; err != nil {
		return nil, "", fmt.Errorf("list sender rules: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// CreateSenderRule adds an allow or block rule to an inbox; a rule for the
// same pattern is a conflict.
func (s *Service) CreateSenderRule(ctx context.Context, orgID, inboxID string, req models.CreateSenderRuleRequest) (*models.SenderRule, error) {
	if err := s.inboxOf(ctx, orgID, inboxID); err != nil {
		return nil, err
	}
	if req.Kind != models.SenderAllow && req.Kind != models.SenderBlock {
		return nil, models.Invalid("kind", `kind must be "allow" or "block"`)
	}
	pattern, err := normalizePattern(req.Pattern)
	if err != nil {
		return nil, err
	}
	rule := &models.SenderRule{ID: models.NewID(models.PrefixSender), InboxID: inboxID, Pattern: pattern, Kind: req.Kind}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		var ids []string
		if err := tx.Raw(`SELECT id FROM inboxes WHERE id = ? AND org_id = ? AND status = 'active' FOR NO KEY UPDATE`,
			inboxID, orgID).Scan(&ids).Error; err != nil {
			return fmt.Errorf("create sender rule: %w", err)
		}
		if len(ids) == 0 {
			return models.NotFound("inbox")
		}
		var n int64
		if err := tx.Raw(`SELECT count(*) FROM sender_rules WHERE inbox_id = ?`, inboxID).Scan(&n).Error; err != nil {
			return fmt.Errorf("create sender rule: %w", err)
		}
		if n >= maxSenderRules {
			return models.Invalid("pattern", "an inbox has at most %d sender rules", maxSenderRules)
		}
		return tx.Raw(`INSERT INTO sender_rules (id, org_id, inbox_id, pattern, kind) VALUES (?, ?, ?, ?, ?) RETURNING created_at`,
			rule.ID, orgID, inboxID, pattern, req.Kind).Scan(&rule.CreatedAt).Error
	})
	if err != nil {
		if store.IsUniqueViolation(err) {
			return nil, &models.Error{Code: models.CodeConflict, Field: "pattern", Message: "this inbox already has a rule for " + pattern}
		}
		return nil, err
	}
	return rule, nil
}

// DeleteSenderRule removes a rule.
func (s *Service) DeleteSenderRule(ctx context.Context, orgID, inboxID, id string) error {
	res := s.db.DB.WithContext(ctx).Exec(`DELETE FROM sender_rules WHERE id = ? AND inbox_id = ? AND org_id = ?`, id, inboxID, orgID)
	if res.Error != nil {
		return fmt.Errorf("delete sender rule: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return models.NotFound("sender rule")
	}
	return nil
}

// senderCandidates are the rule patterns that can match a sender: "*",
// the address, and each of its domains from the longest.
func senderCandidates(sender string) []string {
	sender = strings.ToLower(strings.TrimSpace(sender))
	candidates := []string{"*"}
	if sender != "" {
		candidates = append(candidates, sender)
		_, domain, ok := strings.Cut(sender, "@")
		if !ok {
			domain = sender
		}
		for d := strings.TrimSuffix(domain, "."); d != ""; {
			candidates = append(candidates, d)
			_, rest, ok := strings.Cut(d, ".")
			if !ok {
				break
			}
			d = rest
		}
	}
	return candidates
}

// senderBlockedSQL is true when the deciding rule of inbox %s for the
// candidates bound at ? blocks: the most specific matching rule decides
// (an address, then the longest domain, then "*").
const senderBlockedSQL = `coalesce((SELECT r.kind = 'block' FROM sender_rules r
	WHERE r.inbox_id = %s AND r.pattern = ANY(?::text[])
	ORDER BY CASE WHEN r.pattern = '*' THEN 0 WHEN strpos(r.pattern, '@') > 0 THEN 1048576
		ELSE length(r.pattern) END DESC LIMIT 1), false)`

// SenderAllowed applies an inbox's sender rules to an address: the most
// specific matching rule decides (the address, then the longest matching
// domain, then "*"); with no matching rule mail is allowed. An empty
// sender (a bounce, MAIL FROM:<>) is matched by "*" only.
func (s *Service) SenderAllowed(ctx context.Context, db *gorm.DB, inboxID, sender string) (bool, error) {
	var blocked bool
	if err := db.WithContext(ctx).Raw(`SELECT `+fmt.Sprintf(senderBlockedSQL, "?"),
		inboxID, models.StringArray(senderCandidates(sender))).Scan(&blocked).Error; err != nil {
		return false, fmt.Errorf("check sender rules: %w", err)
	}
	return !blocked, nil
}

// NormalizePattern validates and normalizes an address-or-domain pattern
// the way sender rules read them (the sending policy's lists use it too).
func NormalizePattern(raw string) (string, error) { return normalizePattern(raw) }
