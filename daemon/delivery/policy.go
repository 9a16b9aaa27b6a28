package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"gent/daemon/mail"
	"gent/daemon/policy"
	"gent/models"
)

// SetPolicy completes the wiring: every send is evaluated against the
// sending policy (daemon/policy).
func (s *Service) SetPolicy(p *policy.Service) { s.policy = p }

// policyInput describes a send for the policy evaluation.
func (s *Service) policyInput(ctx context.Context, in SendInput, d mail.Draft, c *mail.Composed) (policy.Input, error) {
	pin := policy.Input{OrgID: in.OrgID, InboxID: in.InboxID, TokenHeld: in.Held, Draft: d}
	idx := map[string]int{}
	for _, r := range c.Recipients {
		pin.Recipients = append(pin.Recipients, policy.Recipient{Address: r.Address, Field: fmt.Sprintf("%s[%d]", r.Kind, idx[r.Kind])})
		idx[r.Kind]++
	}
	if in.Mode == ModeReply || in.Mode == ModeReplyAll {
		orig, err := s.mail.GetMessage(ctx, in.OrgID, in.InboxID, in.Original)
		if err != nil {
			return pin, err
		}
		pin.ThreadID = orig.ThreadID
		if orig.Direction == models.DirectionInbound && orig.Automatic != nil {
			// Recorded on the message when it arrived.
			pin.LoopSignal = *orig.Automatic
		} else if orig.Direction == models.DirectionInbound {
			// Mail stored before the signal was recorded.
			raw, err := s.mail.RawMessage(ctx, in.OrgID, in.InboxID, in.Original)
			if err != nil {
				return pin, err
			}
			pin.LoopSignal = LoopSignal(raw)
			if pin.LoopSignal == "" {
				// A null return path (MAIL FROM:<>), for mail that came
				// over SMTP (it has an envelope recipient).
				var null bool
				if err := s.db.DB.WithContext(ctx).Raw(`SELECT mail_from = '' AND rcpt_to <> '' FROM messages WHERE id = ? AND org_id = ?`,
					orig.ID, in.OrgID).Scan(&null).Error; err != nil {
					return pin, fmt.Errorf("load original: %w", err)
				}
				if null {
					pin.LoopSignal = "null return path"
				}
			}
		}
	}
	return pin, nil
}

// LoopSignal names what marks a message as automatic mail, or ""
// (mail.LoopSignal).
func LoopSignal(raw []byte) string { return mail.LoopSignal(raw) }

// Simulate evaluates a send as Send would and changes nothing: the answer
// of ?dry_run=true.
func (s *Service) Simulate(ctx context.Context, in SendInput) (*models.DryRunResult, error) {
	out := &models.DryRunResult{HoldReasons: []models.HoldReason{}}
	dec, err := s.evaluate(ctx, in, true)
	if err == nil {
		out.Decision = models.DecisionSend
		if dec.Held() {
			out.Decision = models.DecisionHold
			out.HoldReasons = dec.Reasons
		}
		return out, nil
	}
	me, ok := err.(*models.Error)
	if !ok {
		return nil, err
	}
	out.Decision, out.Error = models.DecisionRefuse, me
	return out, nil
}

// autoSubmitted marks the inbox's outbound mail "Auto-Submitted:
// auto-generated" when its policy asks for it (docs/policy.md).
func autoSubmitted(p *models.InboxPolicy, d *mail.Draft) {
	if !p.AutoSubmitted {
		return
	}
	h := make(map[string]string, len(d.Headers)+1)
	for k, v := range d.Headers {
		if !strings.EqualFold(k, "Auto-Submitted") {
			h[k] = v
		}
	}
	h["Auto-Submitted"] = "auto-generated"
	d.Headers = h
}

// SimulateDraft is Simulate for a stored draft (POST …/drafts/{id}/send?dry_run=true).
func (s *Service) SimulateDraft(ctx context.Context, in SendInput, id string) (*models.DryRunResult, error) {
	row, err := s.draftRow(ctx, s.db.DB, in.OrgID, in.InboxID, id, false)
	if err != nil {
		return nil, err
	}
	var r models.SendRequest
	if err := json.Unmarshal(row.Request, &r); err != nil {
		return nil, fmt.Errorf("load draft: %w", err)
	}
	in.Mode, in.Original, in.Send, in.Reply = row.Mode, row.Original, r, replyOf(r)
	return s.Simulate(ctx, in)
}

// PausedRecheck is how long a delivery held back by sending_paused waits
// before it looks again.
var PausedRecheck = 10 * time.Second

// CheckEdit re-checks a held send after a reviewer's edit, inside the
// approving transaction: what the edit can change of the policy's outcome
// (recipients, budget, secrets; policy.Service.CheckEdit).
func (s *Service) CheckEdit(ctx context.Context, tx *gorm.DB, orgID, inboxID string, before, after mail.Draft, beforeCount int, rcpts []mail.Envelope, rcptsEdited bool) error {
	if s.policy == nil {
		return nil
	}
	idx := map[string]int{}
	in := make([]policy.Recipient, len(rcpts))
	for i, r := range rcpts {
		in[i] = policy.Recipient{Address: r.Address, Field: fmt.Sprintf("edits.%s[%d]", r.Kind, idx[r.Kind])}
		idx[r.Kind]++
	}
	return s.policy.CheckEdit(ctx, tx, policy.Edit{OrgID: orgID, InboxID: inboxID, Before: before, After: after,
		Recipients: in, RecipientsEdited: rcptsEdited, BeforeCount: beforeCount})
}
