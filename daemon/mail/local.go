package mail

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"gent/models"
)

// Local delivery: mail sent from one hosted inbox to another never leaves
// the server. These methods let the delivery queue store it.

// Hosted reports whether mail for domain is received here.
func (s *Service) Hosted(ctx context.Context, domain string) (bool, error) {
	var n int64
	err := s.db.DB.WithContext(ctx).Raw(`SELECT count(*) FROM domains d WHERE d.name = ? AND `+acceptingDomain, domain).Scan(&n).Error
	if err != nil {
		return false, fmt.Errorf("check hosted domain: %w", err)
	}
	return n > 0, nil
}

// DeliverLocal stores raw, sent by from, in the inbox rcpt reaches, inside
// tx, subject to that inbox's sender rules and cap. Refusals are
// *models.Error: not_found (no such inbox), forbidden (sender blocked),
// storage_cap_exceeded.
func (s *Service) DeliverLocal(ctx context.Context, tx *gorm.DB, rcpt, from string, raw []byte) error {
	r, _, err := s.ResolveRecipient(ctx, rcpt, from)
	if err != nil {
		return err
	}
	if r == nil {
		return models.NotFound("mailbox " + rcpt)
	}
	if r.SenderBlocked {
		return models.Errorf(models.CodeForbidden, "the recipient does not accept mail from %s", from)
	}
	p, err := Parse(raw, s.limits)
	if err != nil {
		return &models.Error{Code: models.CodeValidation, Message: "the message cannot be stored: " + err.Error()}
	}
	if !strings.EqualFold(p.From.Address, from) {
		ok, err := s.SenderAllowed(ctx, tx, r.InboxID, p.From.Address)
		if err != nil {
			return err
		}
		if !ok {
			return models.Errorf(models.CodeForbidden, "the recipient does not accept mail from %s", p.From.Address)
		}
	}
	received := fmt.Sprintf("from %s by %s with local delivery; %s", domainOf(from), s.hostname, time.Now().UTC().Format(time.RFC1123Z))
	auth := models.AuthResults{SPF: "pass", DKIM: "none", DMARC: "pass",
		Summary: s.hostname + "; local delivery from an authenticated inbox of this server"}
	header := []byte("Received: " + received + "\r\nAuthentication-Results: " + auth.Summary + "\r\n")
	stored := *p
	stored.Headers = append([]models.HeaderField{{Name: "Received", Value: received},
		{Name: "Authentication-Results", Value: auth.Summary}}, p.Headers...)
	stored.Received++
	stored.HeaderBytes += len(header)
	_, err = s.Store(ctx, tx, StoreInput{OrgID: r.OrgID, InboxID: r.InboxID, Direction: models.DirectionInbound,
		Status: models.StatusReceived, Raw: append(header, raw...), Parsed: &stored, Auth: &auth, MailFrom: from, RcptTo: rcpt})
	return err
}

// StoreNotice stores a notice (a delivery status notification) in an inbox
// inside tx and returns its id.
func (s *Service) StoreNotice(ctx context.Context, tx *gorm.DB, orgID, inboxID string, raw []byte) (string, error) {
	st, err := s.Store(ctx, tx, StoreInput{OrgID: orgID, InboxID: inboxID, Direction: models.DirectionInbound,
		Status: models.StatusReceived, Raw: raw, Labels: []string{"bounce"}})
	if err != nil {
		return "", err
	}
	return st.ID, nil
}

func domainOf(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == '@' {
			return addr[i+1:]
		}
	}
	return addr
}
