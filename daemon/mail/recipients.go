package mail

import (
	"context"
	"fmt"
	"strings"

	"gent/models"
)

// Recipient is the inbox an SMTP recipient address reaches.
type Recipient struct {
	OrgID         string
	InboxID       string
	Address       string
	UsedBytes     int64
	CapLimitBytes *int64
	CapMode       *string
	// SenderBlocked: the inbox's sender rules block the sender given to
	// ResolveRecipient.
	SenderBlocked bool
	// Postmaster: the address is postmaster@ a domain with no inbox of
	// that name, routed to the domain's oldest inbox (RFC 5321 §4.5.1).
	Postmaster bool `gorm:"-"`
}

// Full reports whether an enforce cap leaves no room at all.
func (r *Recipient) Full() bool {
	return r.CapMode != nil && *r.CapMode == "enforce" && r.CapLimitBytes != nil && r.UsedBytes >= *r.CapLimitBytes
}

// acceptingDomain is the SQL condition on a domain that receives mail:
// verified, or verified once and degraded since (a record check failing
// later does not bounce mail).
const acceptingDomain = `d.status IN ('verified', 'degraded')`

// NormalizeRecipient lower-cases an address and drops a plus-tag:
// "Agent+Billing@Mail.Example.com" reaches agent@mail.example.com.
func NormalizeRecipient(addr string) (local, domain string, ok bool) {
	addr = strings.ToLower(strings.TrimSpace(addr))
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 || len(addr) > 254 {
		return "", "", false
	}
	local, domain = addr[:at], strings.TrimSuffix(addr[at+1:], ".")
	if i := strings.IndexByte(local, '+'); i > 0 {
		local = local[:i]
	}
	return local, domain, local != "" && domain != ""
}

// ResolveRecipient finds the active inbox an address reaches, and whether
// its sender rules block sender (one query: the RCPT of every message).
// hosted reports whether the address's domain is a domain this
// installation receives mail for at all (false: relaying, refused).
func (s *Service) ResolveRecipient(ctx context.Context, addr, sender string) (r *Recipient, hosted bool, err error) {
	local, domain, ok := NormalizeRecipient(addr)
	if !ok {
		return nil, false, nil
	}
	var rows []Recipient
	err = s.db.DB.WithContext(ctx).Raw(`SELECT i.org_id, i.id AS inbox_id, i.address, i.used_bytes, i.cap_limit_bytes, i.cap_mode,
			`+fmt.Sprintf(senderBlockedSQL, "i.id")+` AS sender_blocked
		FROM inboxes i JOIN domains d ON d.id = i.domain_id
		WHERE i.address = ? AND i.status = 'active' AND `+acceptingDomain,
		models.StringArray(senderCandidates(sender)), local+"@"+domain).Scan(&rows).Error
	if err != nil {
		return nil, false, fmt.Errorf("resolve recipient: %w", err)
	}
	if len(rows) > 0 {
		return &rows[0], true, nil
	}
	if local == "postmaster" {
		// Every domain receiving mail accepts postmaster@ (RFC 5321
		// §4.5.1): without an inbox of that address, the domain's oldest
		// active inbox receives it.
		err = s.db.DB.WithContext(ctx).Raw(`SELECT i.org_id, i.id AS inbox_id, i.address, i.used_bytes, i.cap_limit_bytes, i.cap_mode,
				`+fmt.Sprintf(senderBlockedSQL, "i.id")+` AS sender_blocked
			FROM inboxes i JOIN domains d ON d.id = i.domain_id
			WHERE d.name = ? AND i.status = 'active' AND `+acceptingDomain+`
			ORDER BY i.created_at, i.id LIMIT 1`,
			models.StringArray(senderCandidates(sender)), domain).Scan(&rows).Error
		if err != nil {
			return nil, false, fmt.Errorf("resolve recipient: %w", err)
		}
		if len(rows) > 0 {
			rows[0].Postmaster = true
			return &rows[0], true, nil
		}
	}
	var n int64
	if err := s.db.DB.WithContext(ctx).Raw(`SELECT count(*) FROM domains d WHERE d.name = ? AND `+acceptingDomain, domain).Scan(&n).Error; err != nil {
		return nil, false, fmt.Errorf("resolve recipient: %w", err)
	}
	return nil, n > 0, nil
}
