package mail

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"gent/models"
)

// maxContactsPerMessage bounds how many correspondents one message records.
const maxContactsPerMessage = 50

// validMailbox reports whether a looks like local@domain (lower-cased,
// without spaces or control characters).
func validMailbox(a string) bool {
	if len(a) > 254 || strings.Count(a, "@") != 1 {
		return false
	}
	local, domain, _ := strings.Cut(a, "@")
	if local == "" || domain == "" || !strings.Contains(domain, ".") && domain != "localhost" {
		return false
	}
	for _, r := range a {
		if r <= ' ' || r == 0x7f || strings.ContainsRune(`<>()[],;:\"`, r) {
			return false
		}
	}
	return true
}

// recordContacts counts the correspondents of a stored message: its sender
// for inbound mail, its recipients for outbound mail.
func (s *Service) recordContacts(db *gorm.DB, in StoreInput, p *Parsed, own string) error {
	var people []models.Address
	received, sent := 0, 0
	if in.Direction == models.DirectionInbound {
		people = []models.Address{p.From}
		received = 1
	} else {
		people = append(append(append(people, p.To...), p.Cc...), p.Bcc...)
		sent = 1
	}
	seen := map[string]bool{strings.ToLower(own): true}
	n := 0
	for _, a := range people {
		addr := strings.ToLower(strings.TrimSpace(a.Address))
		if seen[addr] || !validMailbox(addr) {
			continue
		}
		seen[addr] = true
		if n++; n > maxContactsPerMessage {
			break
		}
		name := a.Name
		if len(name) > 200 {
			name = strings.ToValidUTF8(name[:200], "")
		}
		if in.batch != nil {
			in.batch.addContact(in.OrgID, in.InboxID, addr, name, received, sent)
			continue
		}
		err := db.Exec(`INSERT INTO contacts (id, org_id, inbox_id, address, name, source, received_count, sent_count)
			VALUES (?, ?, ?, ?, ?, 'mail', ?, ?)
			ON CONFLICT (inbox_id, address) DO UPDATE SET
				received_count = contacts.received_count + EXCLUDED.received_count,
				sent_count = contacts.sent_count + EXCLUDED.sent_count,
				last_seen_at = now(),
				name = CASE WHEN contacts.name = '' THEN EXCLUDED.name ELSE contacts.name END`,
			models.NewID(models.PrefixContact), in.OrgID, in.InboxID, addr, name, received, sent).Error
		if err != nil {
			return fmt.Errorf("store message: contacts: %w", err)
		}
	}
	return nil
}

const contactColumns = `id, inbox_id, address, name, first_seen_at, last_seen_at, received_count, sent_count, source, created_at`

// ListContacts returns a page of the inbox's contacts, oldest first.
func (s *Service) ListContacts(ctx context.Context, orgID, inboxID, cursor string, limit int) ([]models.Contact, string, error) {
	q := s.db.DB.WithContext(ctx).Table("contacts").Select(contactColumns).Where("inbox_id = ? AND org_id = ?", inboxID, orgID)
	if cursor != "" {
		if !models.HasPrefix(cursor, models.PrefixContact) {
			return nil, "", models.Invalid("cursor", "cursor is not valid")
		}
		q = q.Where("id > ?", cursor)
	}
	var out []models.Contact
	if err := q.Order("id").Limit(limit + 1).Scan(&out).Error; err != nil {
		return nil, "", fmt.Errorf("list contacts: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// CreateContact adds a contact, or names an existing one; created reports
// which.
func (s *Service) CreateContact(ctx context.Context, orgID, inboxID string, req models.CreateContactRequest) (*models.Contact, bool, error) {
	addr := strings.ToLower(strings.TrimSpace(req.Address))
	if addr == "" {
		return nil, false, models.Invalid("address", "address is required, e.g. ada@example.com")
	}
	if err := CheckMailbox(addr); err != nil {
		return nil, false, models.Invalid("address", "%q is not a mailbox: %v", req.Address, err)
	}
	if !validMailbox(addr) {
		return nil, false, models.Invalid("address", "not an email address: %q", req.Address)
	}
	name := strings.TrimSpace(req.Name)
	if len(name) > 200 || strings.ContainsAny(name, "\r\n\x00") {
		return nil, false, models.Invalid("name", "name must be one line of at most 200 characters")
	}
	var rows []struct {
		models.Contact
		Inserted bool
	}
	err := s.db.DB.WithContext(ctx).Raw(`INSERT INTO contacts (id, org_id, inbox_id, address, name, source)
		VALUES (?, ?, ?, ?, ?, 'api')
		ON CONFLICT (inbox_id, address) DO UPDATE SET name = CASE WHEN EXCLUDED.name = '' THEN contacts.name ELSE EXCLUDED.name END
		RETURNING `+contactColumns+`, (xmax = 0) AS inserted`,
		models.NewID(models.PrefixContact), orgID, inboxID, addr, clean(name)).Scan(&rows).Error
	if err != nil {
		return nil, false, fmt.Errorf("create contact: %w", err)
	}
	if len(rows) == 0 {
		return nil, false, fmt.Errorf("create contact: no row returned")
	}
	c := rows[0].Contact
	return &c, rows[0].Inserted, nil
}

// DeleteContact removes a contact (mail from or to it later records it
// again).
func (s *Service) DeleteContact(ctx context.Context, orgID, inboxID, id string) error {
	res := s.db.DB.WithContext(ctx).Exec(`DELETE FROM contacts WHERE id = ? AND inbox_id = ? AND org_id = ?`, id, inboxID, orgID)
	if res.Error != nil {
		return fmt.Errorf("delete contact: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return models.NotFound("contact")
	}
	return nil
}
