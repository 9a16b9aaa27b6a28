package delivery

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"gent/daemon/audit"
	"gent/daemon/events"
	"gent/daemon/mail"
	"gent/daemon/policy"
	"gent/daemon/ratelimit"
	"gent/daemon/store"
	"gent/models"
)

// Holder records a held send for a reviewer (approvals.Service).
type Holder interface {
	Hold(ctx context.Context, tx *gorm.DB, h HoldRequest) (approvalID string, err error)
}

// HoldRequest describes a send held for approval.
type HoldRequest struct {
	OrgID      string
	InboxID    string
	MessageID  string
	TokenID    string
	TokenLabel string
	Digest     []byte
	Draft      mail.Draft
	// HoldReasons are why the send is held (the sending policy's and the
	// token's own).
	HoldReasons []models.HoldReason
}

// SetMail and SetHolder complete the wiring (mail stores sent copies;
// approvals hold supervised sends).
func (s *Service) SetMail(m *mail.Service) { s.mail = m }
func (s *Service) SetHolder(h Holder)      { s.holder = h }

// SetAudit completes the wiring: a send records its request's audit entry
// (SendInput.Audit) in its own transaction.
func (s *Service) SetAudit(a *audit.Service) { s.audit = a }

// Send modes.
const (
	ModeSend     = "send"
	ModeReply    = "reply"
	ModeReplyAll = "reply_all"
	ModeForward  = "forward"
)

// SendInput is one send by an agent or an admin.
type SendInput struct {
	OrgID   string
	InboxID string
	Mode    string
	// Original is the message answered or forwarded (reply modes).
	Original string
	Send     models.SendRequest
	Reply    models.ReplyRequest
	// Held sends wait for a reviewer (the token's requires_approval holds
	// email:send).
	Held       bool
	TokenID    string
	TokenLabel string
	// DraftID is the draft this send replaces (deleted in the same
	// transaction).
	DraftID string
	// Audit, when set, is the request's audit entry, recorded in the
	// transaction that records the send (when the send is accepted).
	Audit *audit.Entry
}

type inboxRow struct {
	Address      string
	DisplayName  string
	DomainID     string
	DomainName   string
	DomainStatus string
	DomainUse    string
	Disabled     bool
}

// sendInbox is what a send reads about its inbox, in one round trip: the
// inbox and its domain, its usage and cap (the group commit's early cap
// check), its and its organization's sending policies, and whether it has
// any suppressed address at all.
type sendInbox struct {
	inboxRow
	UsedBytes       int64
	CapMode         *string
	CapLimitBytes   *int64
	HasSuppressions bool
	policy.Row
}

const sendInboxSQL = `SELECT i.address, i.display_name, i.domain_id, d.name, d.status, d.domain_use, d.disabled,
	i.used_bytes, i.cap_mode, i.cap_limit_bytes, EXISTS (SELECT 1 FROM suppressions x WHERE x.inbox_id = i.id),
	` + policy.Columns + `
	FROM inboxes i JOIN domains d ON d.id = i.domain_id ` + policy.Joins + `
	WHERE i.id = $1 AND i.org_id = $2 AND i.status = 'active'`

func (s *Service) loadSendInbox(ctx context.Context, orgID, inboxID string) (*sendInbox, error) {
	var r sendInbox
	err := s.db.Pool.QueryRow(ctx, sendInboxSQL, inboxID, orgID).Scan(&r.Address, &r.DisplayName, &r.DomainID, &r.DomainName,
		&r.DomainStatus, &r.DomainUse, &r.Disabled, &r.UsedBytes, &r.CapMode, &r.CapLimitBytes, &r.HasSuppressions,
		&r.PolicyJSON, &r.PolicyUpdatedAt, &r.OrgPolicyFound, &r.OrgSendingPaused, &r.OrgBlock, &r.OrgPolicyUpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, models.NotFound("inbox")
	}
	if err != nil {
		return nil, fmt.Errorf("load inbox: %w", err)
	}
	return &r, nil
}

// prepared is a send validated, built and evaluated, not yet stored.
type prepared struct {
	ib    *sendInbox
	d     mail.Draft
	c     *mail.Composed
	rcpts []Recipient
	pin   policy.Input
	dec   policy.Decision
}

// prepare validates and builds a send and evaluates it against the
// sending policy (all but the budget, which Send applies inside its
// transaction).
func (s *Service) prepare(ctx context.Context, in SendInput, dry bool) (*prepared, error) {
	ib, err := s.loadSendInbox(ctx, in.OrgID, in.InboxID)
	if err != nil {
		return nil, err
	}
	pols, err := ib.Policies()
	if err != nil {
		return nil, err
	}
	if ib.DomainStatus != "verified" {
		return nil, models.Errorf(models.CodeConflict, "the domain %s is %s, not verified: mail is not sent (or signed) for it until its DNS records verify again", ib.DomainName, ib.DomainStatus)
	}
	if err := s.sandboxRefusal(ib.DomainID, ib.DomainName, ib.DomainUse, ib.Disabled); err != nil {
		return nil, err
	}
	d, err := s.draft(ctx, in, ib.inboxRow, false)
	if err != nil {
		return nil, err
	}
	if s.policy != nil {
		autoSubmitted(pols.Inbox, &d)
	}
	c, err := mail.Compose(d)
	if err != nil {
		return nil, err
	}
	addrs := make([]string, len(c.Recipients))
	rcpts := make([]Recipient, len(c.Recipients))
	for i, r := range c.Recipients {
		addrs[i] = r.Address
		rcpts[i] = Recipient{Address: r.Address, Kind: r.Kind}
	}
	if !ib.HasSuppressions {
		// Nothing to look up.
	} else if sup, err := s.Suppressed(ctx, s.db.DB, in.InboxID, addrs); err != nil {
		return nil, err
	} else if len(sup) > 0 {
		return nil, models.Invalid("to", "%s is on this inbox's suppression list (an earlier hard bounce); remove it with DELETE /v1/inboxes/%s/suppressions/%s to send again",
			strings.Join(sup, ", "), in.InboxID, sup[0])
	}
	pr := &prepared{ib: ib, d: d, c: c, rcpts: rcpts}
	if s.policy != nil {
		if pr.pin, err = s.policyInput(ctx, in, d, c); err != nil {
			return nil, err
		}
		pr.pin.Policies = pols
		if pr.dec, err = s.policy.Evaluate(ctx, pr.pin); err != nil {
			return nil, err
		}
	}
	// Last, so that a send refused above spends none of the limits.
	if err := s.checkRate(ctx, in.OrgID, in.InboxID, len(c.Recipients), dry); err != nil {
		return nil, err
	}
	return pr, nil
}

// evaluate is prepare plus the budget, read without reserving (dry runs).
func (s *Service) evaluate(ctx context.Context, in SendInput, dry bool) (policy.Decision, error) {
	pr, err := s.prepare(ctx, in, dry)
	if err != nil {
		return policy.Decision{}, err
	}
	if s.policy == nil {
		if in.Held {
			return policy.Decision{Reasons: []models.HoldReason{{Code: models.HoldTokenRequiresApproval}}}, nil
		}
		return pr.dec, nil
	}
	err = s.policy.CheckBudget(ctx, pr.pin, &pr.dec)
	return pr.dec, err
}

// Send validates, builds and stores a message, and queues it (or holds it
// for approval), all in one transaction: the 202 is sent after the commit.
func (s *Service) Send(ctx context.Context, in SendInput) (*models.SendResponse, error) {
	out, err := s.send(ctx, in)
	s.countDecision(out, err)
	return out, err
}

func (s *Service) send(ctx context.Context, in SendInput) (*models.SendResponse, error) {
	pr, err := s.prepare(ctx, in, false)
	if err != nil {
		return nil, err
	}
	ib, d, c, rcpts := pr.ib, pr.d, pr.c, pr.rcpts
	p, err := mail.ParseComposed(c.Raw, s.mail.Limits())
	if err != nil {
		return nil, err
	}
	for _, r := range c.Recipients {
		if r.Kind == "bcc" {
			p.Bcc = append(p.Bcc, models.Address{Address: r.Address})
		}
	}
	labels := append([]string{"sent"}, in.labels()...)
	out := &models.SendResponse{}
	// record stores the sent copy and records (or holds) the send inside
	// one transaction; run adds the request's idempotent answer.
	seen := &mail.Recipient{OrgID: in.OrgID, InboxID: in.InboxID, Address: ib.Address, UsedBytes: ib.UsedBytes,
		CapMode: ib.CapMode, CapLimitBytes: ib.CapLimitBytes}
	record := func(b *mail.Batch, store func(mail.StoreInput) (*mail.Stored, error)) error {
		tx := b.Tx()
		// The budget is counted under the inbox's policy lock, in the
		// transaction that records the send.
		held, reasons := in.Held, []models.HoldReason(nil)
		if s.policy != nil {
			dec := policy.Decision{Reasons: append([]models.HoldReason(nil), pr.dec.Reasons...)}
			if err := s.policy.Reserve(ctx, tx, pr.pin, &dec); err != nil {
				return err
			}
			held, reasons = dec.Held(), dec.Reasons
		}
		status := StatusQueued
		if held {
			status = StatusPendingApproval
		}
		out.Status, out.HoldReasons = status, reasons
		if out.HoldReasons == nil {
			out.HoldReasons = []models.HoldReason{}
		}
		// The inbox as read moments ago stands in for the group commit's
		// early cap check (its locked counter update stays the
		// authoritative one).
		st, err := store(mail.StoreInput{OrgID: in.OrgID, InboxID: in.InboxID, Direction: models.DirectionOutbound,
			Status: status, Raw: c.Raw, Parsed: p, MailFrom: ib.Address, Labels: labels, Read: true, Seen: seen})
		if err != nil {
			return err
		}
		out.ID, out.ThreadID = st.ID, st.ThreadID
		decision := models.DecisionSend
		if held {
			decision = models.DecisionHold
		}
		policyStep := events.Step{Kind: events.StepPolicy, Detail: map[string]any{"decision": decision, "hold_reasons": out.HoldReasons}}
		o := Outbound{ID: st.ID, OrgID: in.OrgID, InboxID: in.InboxID, DomainID: ib.DomainID, MessageIDHeader: c.MessageID,
			EnvelopeFrom: ib.Address, Raw: c.Raw, Recipients: rcpts, Held: held}
		if held {
			if err := events.RecordStep(ctx, tx, in.OrgID, in.InboxID, st.ID, policyStep.Kind, policyStep.Detail); err != nil {
				return err
			}
			if err := s.Create(ctx, tx, o); err != nil {
				return err
			}
			id, err := s.holder.Hold(ctx, tx, HoldRequest{OrgID: in.OrgID, InboxID: in.InboxID, MessageID: st.ID,
				TokenID: in.TokenID, TokenLabel: in.TokenLabel, Digest: Digest(o.EnvelopeFrom, rcpts, c.Raw), Draft: d,
				HoldReasons: reasons})
			if err != nil {
				return err
			}
			out.ApprovalID = id
			return nil
		}
		// The send, its recipients, its jobs and message.sent (with the
		// policy decision as the step before its own, queued) are written
		// with the other sends of the transaction, one statement each.
		w := batchWrites(s, b)
		if pr.pin.Policies.Budgeted() {
			// The budget counts the sends recorded (Reserve, under its
			// lock): a later send of this transaction must see this one.
			if err := s.Create(ctx, tx, o); err != nil {
				return err
			}
		} else {
			w.outbounds = append(w.outbounds, o)
			w.jobs = append(w.jobs, deliveryJobs(o)...)
		}
		w.events = append(w.events, events.Pending{OrgID: in.OrgID, InboxID: in.InboxID, Type: models.EventMessageSent,
			Payload: map[string]any{"message_id": st.ID, "thread_id": st.ThreadID, "recipients": len(rcpts), "subject": d.Subject},
			Before:  []events.Step{policyStep}})
		return nil
	}
	run := func(b *mail.Batch, storeFn func(mail.StoreInput) (*mail.Stored, error)) error {
		tx := b.Tx()
		if err := record(b, storeFn); err != nil {
			return err
		}
		if in.Audit != nil {
			if s.audit == nil {
				return errors.New("record send: no audit trail wired")
			}
			w := batchWrites(s, b)
			w.audits = append(w.audits, *in.Audit)
		}
		// Under an Idempotency-Key, the answer commits with the send, so
		// a retry after a crash replays it instead of sending again.
		return store.RecordResult(ctx, tx, out)
	}
	if in.DraftID != "" {
		// A draft send replaces the draft in the same (unbatched)
		// transaction; mail.Alone looks up the outcome of a failed COMMIT.
		err = s.mail.Alone(ctx, func(b *mail.Batch) error {
			tx := b.Tx()
			if err := s.mail.DeleteMessageTx(ctx, tx, in.OrgID, in.InboxID, in.DraftID); err != nil {
				return err
			}
			return run(b, func(si mail.StoreInput) (*mail.Stored, error) { return s.mail.Store(ctx, tx, si) })
		})
	} else {
		// Group commit: concurrent sends (and inbound mail) share
		// transactions; the 202 still follows the commit holding this send
		// (or, when COMMIT failed, the finding that it committed).
		err = s.mail.Commit(ctx, func(b *mail.Batch) error {
			return run(b, func(si mail.StoreInput) (*mail.Stored, error) { return b.Store(ctx, si) })
		})
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// sendWrites are the rows of a transaction's sends written at its end, one
// statement per table for all of them (mail.Batch.Writes): the sends and
// their recipients, their delivery jobs, their message.sent events (with
// their lifecycle steps) and the requests' audit entries.
type sendWrites struct {
	s         *Service
	outbounds []Outbound
	jobs      []river.InsertManyParams
	events    []events.Pending
	audits    []audit.Entry
}

func batchWrites(s *Service, b *mail.Batch) *sendWrites {
	return b.Writes("delivery.sends", func() mail.BatchWriter { return &sendWrites{s: s} }).(*sendWrites)
}

func (w *sendWrites) Flush(ctx context.Context, tx *gorm.DB) error {
	if err := w.s.createAll(ctx, tx, w.outbounds); err != nil {
		return err
	}
	if err := w.s.jobs.InsertManyTx(ctx, tx, w.jobs); err != nil {
		return err
	}
	if _, err := w.s.events.EmitAll(ctx, tx, w.events...); err != nil {
		return err
	}
	return w.s.audit.RecordAll(ctx, tx, w.audits...)
}

func (in SendInput) labels() []string {
	if in.Mode == ModeSend {
		return in.Send.Labels
	}
	return in.Reply.Labels
}

// draft turns the request into a mail.Draft, filling the recipients,
// subject and thread headers of replies and forwards from the original.
func (s *Service) draft(ctx context.Context, in SendInput, ib inboxRow, incomplete bool) (mail.Draft, error) {
	d := mail.Draft{FromName: ib.DisplayName, FromAddress: ib.Address, Date: time.Now(),
		MaxRcpts: s.cfg.MaxRecipients, MaxBytes: s.cfg.MaxMessageBytes, Limits: s.mail.Limits(), Incomplete: incomplete}
	if in.Mode == ModeSend {
		r := in.Send
		d.To, d.Cc, d.Bcc, d.ReplyTo = r.To, r.Cc, r.Bcc, r.ReplyTo
		d.Subject, d.Text, d.HTML, d.Attachments, d.Headers = r.Subject, r.Text, r.HTML, r.Attachments, r.Headers
		return d, nil
	}
	orig, err := s.mail.GetMessage(ctx, in.OrgID, in.InboxID, in.Original)
	if err != nil {
		return d, err
	}
	r := in.Reply
	// The request's own addresses first, so that a bad one is named by its
	// index in the request (the original's addresses come before them in
	// the message).
	for _, l := range []struct {
		field string
		list  []string
	}{{"to", r.To}, {"cc", r.Cc}, {"bcc", r.Bcc}} {
		if err := mail.CheckAddressList(l.field, l.list); err != nil {
			return d, err
		}
	}
	d.Text, d.HTML, d.Attachments, d.Headers = r.Text, r.HTML, r.Attachments, r.Headers
	d.To, d.Cc, d.Bcc = r.To, r.Cc, r.Bcc
	switch in.Mode {
	case ModeForward:
		if len(r.To)+len(r.Cc)+len(r.Bcc) == 0 && !incomplete {
			return d, models.Invalid("to", "a forward needs at least one recipient")
		}
		d.Subject = prefixSubject("Fwd: ", orig.Subject)
		raw, err := s.mail.RawMessage(ctx, in.OrgID, in.InboxID, in.Original)
		if err != nil {
			return d, err
		}
		d.Attachments = append(d.Attachments, models.SendAttachment{Filename: "forwarded-message.eml",
			ContentType: "message/rfc822", ContentBase64: base64.StdEncoding.EncodeToString(raw)})
	default:
		d.Subject = prefixSubject("Re: ", orig.Subject)
		// Answer the Reply-To if there is one, else the sender; a reply to
		// our own sent message goes to its recipients.
		own := strings.EqualFold(orig.From.Address, ib.Address)
		var primary []string
		switch {
		case own:
			for _, a := range orig.To {
				primary = append(primary, format(a))
			}
		case len(orig.ReplyTo) > 0:
			for _, a := range orig.ReplyTo {
				primary = append(primary, format(a))
			}
		case orig.From.Address != "":
			primary = []string{format(orig.From)}
		}
		for i, a := range primary {
			if _, err := mail.ParseMailbox(fmt.Sprintf("to[%d]", i), a); err != nil {
				var me *models.Error
				if errors.As(err, &me) {
					me.Message = "the original message's address to reply to: " + me.Message
				}
				return d, err
			}
		}
		d.To = append(primary, d.To...)
		if in.Mode == ModeReplyAll {
			for _, list := range [][]models.Address{orig.To, orig.Cc} {
				for _, a := range list {
					if !strings.EqualFold(a.Address, ib.Address) && !contains(d.To, a.Address) {
						d.Cc = append(d.Cc, format(a))
					}
				}
			}
		}
		if len(d.To)+len(d.Cc)+len(d.Bcc) == 0 && !incomplete {
			return d, models.Invalid("to", "the original message has no address to reply to; give to")
		}
	}
	if orig.MessageID != "" {
		id := "<" + strings.Trim(orig.MessageID, "<>") + ">"
		d.InReplyTo = id
		for _, ref := range orig.References {
			d.References = append(d.References, "<"+strings.Trim(ref, "<>")+">")
		}
		d.References = append(d.References, id)
	}
	return d, nil
}

func format(a models.Address) string {
	if a.Name == "" {
		return a.Address
	}
	return fmt.Sprintf("%q <%s>", a.Name, a.Address)
}

func contains(list []string, addr string) bool {
	for _, l := range list {
		if strings.Contains(strings.ToLower(l), strings.ToLower(addr)) {
			return true
		}
	}
	return false
}

func prefixSubject(prefix, subject string) string {
	if strings.HasPrefix(strings.ToLower(subject), strings.ToLower(prefix)) {
		return subject
	}
	return prefix + subject
}

// checkRate applies the per-inbox limits, messages a minute and
// recipients a day, shared by every replica: one statement spends both
// or neither (ratelimit). A dry run reads them without spending.
func (s *Service) checkRate(ctx context.Context, orgID, inboxID string, rcpts int, dry bool) error {
	if s.cfg.RatePerMinute <= 0 && s.cfg.RecipientsPerDay <= 0 {
		return nil
	}
	if s.cfg.RecipientsPerDay > 0 && rcpts > s.cfg.RecipientsPerDay {
		return &models.Error{Code: models.CodeRateLimited, RetryAfter: 24 * time.Hour,
			Message: fmt.Sprintf("this inbox may send to %d recipients a day; this send has %d", s.cfg.RecipientsPerDay, rcpts)}
	}
	perMinute := ratelimit.Spend{Limit: ratelimit.Limit{N: s.cfg.RatePerMinute, Per: time.Minute}, Cost: 1}
	perDay := ratelimit.Spend{Limit: ratelimit.Limit{N: s.cfg.RecipientsPerDay, Per: 24 * time.Hour}, Cost: rcpts}
	take := s.limiter.Take
	if dry {
		take = s.limiter.Peek
	}
	wait, err := take(ctx, orgID, "send:"+inboxID, perMinute, perDay)
	if err != nil {
		return fmt.Errorf("check send rate: %w", err)
	}
	if wait > 0 {
		return &models.Error{Code: models.CodeRateLimited, RetryAfter: max(wait, time.Second),
			Message: fmt.Sprintf("this inbox may send %d messages a minute and to %d recipients a day (0: no limit)", s.cfg.RatePerMinute, s.cfg.RecipientsPerDay)}
	}
	return nil
}
