package domains

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"gent/daemon/audit"
	"gent/models"
)

// Verify checks the domain's records in DNS now and stores the result.
func (s *Service) Verify(ctx context.Context, orgID, id string, actor Actor) (*models.Domain, error) {
	row, err := s.get(ctx, s.db.DB, orgID, id)
	if err != nil {
		return nil, err
	}
	return s.verify(ctx, row, actor)
}

// Reverify checks a domain of any organization (the periodic job).
// A domain deleted meanwhile is not an error: it returns nil, nil.
func (s *Service) Reverify(ctx context.Context, id string) (*models.Domain, error) {
	row, err := s.get(ctx, s.db.DB, "", id)
	if models.ErrorCode(err) == models.CodeNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	d, err := s.verify(ctx, row, System)
	if models.ErrorCode(err) == models.CodeNotFound {
		return nil, nil
	}
	return d, err
}

// nextStatus decides the domain's status from a check:
//   - verified when every required record is valid;
//   - a verified domain with a required record definitively missing or
//     wrong becomes degraded;
//   - lookup failures (timeout, SERVFAIL) prove nothing: they never make a
//     domain verified, and never by themselves degrade a verified one.
func nextStatus(prev string, recs []models.DNSRecord) string {
	allValid, definitive := true, false
	for _, r := range recs {
		if !r.Required || r.Status == models.RecordValid {
			continue
		}
		allValid = false
		if r.LookupError == "" {
			definitive = true
		}
	}
	switch {
	case allValid:
		return models.DomainVerified
	case prev == models.DomainVerified && definitive:
		return models.DomainDegraded
	default:
		return prev
	}
}

func failing(recs []models.DNSRecord) []map[string]any {
	out := []map[string]any{}
	for _, r := range recs {
		if r.Required && r.Status != models.RecordValid {
			f := map[string]any{"purpose": r.Purpose, "type": r.Type, "name": r.Name, "status": r.Status, "detail": r.Detail}
			if r.LookupError != "" {
				f["lookup_error"] = r.LookupError
			}
			out = append(out, f)
		}
	}
	return out
}

func (s *Service) verify(ctx context.Context, row *domainRow, actor Actor) (*models.Domain, error) {
	if row.DomainUse == models.DomainUseSandbox {
		// No DNS to check: the sandbox is verified by construction.
		return render(row), nil
	}
	recs := s.check(ctx, row)
	var out *models.Domain
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var cur domainRow
		err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", row.ID).Take(&cur).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return models.NotFound("domain") // deleted while we were checking DNS
		}
		if err != nil {
			return fmt.Errorf("lock domain: %w", err)
		}
		if cur.DMARCPolicy != row.DMARCPolicy || cur.DomainUse != row.DomainUse {
			// Changed while we were checking DNS; judge it again next time.
			recs = expectedRecords(&cur, s.hostname)
		}
		now := time.Now().UTC().Truncate(time.Microsecond) // as stored
		prev := cur.Status
		next := nextStatus(prev, recs)
		cur.Records, cur.Status, cur.LastCheckedAt, cur.UpdatedAt = recs, next, &now, now
		if next == models.DomainVerified && prev != models.DomainVerified {
			cur.VerifiedAt = &now
		}
		if err := tx.Model(&cur).Select("records", "status", "last_checked_at", "verified_at", "updated_at").
			Updates(&cur).Error; err != nil {
			return fmt.Errorf("store check result: %w", err)
		}
		if next != prev {
			if err := s.statusChanged(ctx, tx, &cur, prev, actor); err != nil {
				return err
			}
		}
		out = render(&cur)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// statusChanged emits the events of a status change and audits it:
// domain.verified whenever the domain becomes verified, and
// domain.verification_changed when a verified domain degrades or a
// degraded one recovers.
func (s *Service) statusChanged(ctx context.Context, tx *gorm.DB, r *domainRow, prev string, actor Actor) error {
	payload := map[string]any{"domain_id": r.ID, "name": r.Name, "status": r.Status, "previous_status": prev,
		"failing": failing(r.Records)}
	if prev != models.DomainPending {
		if _, err := s.events.Emit(ctx, tx, r.OrgID, "", models.EventDomainChanged, payload); err != nil {
			return err
		}
	}
	if r.Status == models.DomainVerified {
		if _, err := s.events.Emit(ctx, tx, r.OrgID, "", models.EventDomainVerified, payload); err != nil {
			return err
		}
	}
	outcome := audit.Success
	if r.Status == models.DomainDegraded {
		outcome = audit.Failure
	}
	return s.audit.Record(ctx, tx, audit.Entry{
		OrgID: r.OrgID, ActorType: actor.Type, ActorID: actor.ID, Action: "domains.status_changed",
		TargetType: "domain", TargetID: r.ID, Outcome: outcome, Detail: payload,
	})
}
