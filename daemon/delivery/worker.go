package delivery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"gent/models"
)

// DeliverArgs delivers one send's recipients on one domain.
type DeliverArgs struct {
	OutboundID string `json:"outbound_id"`
	Domain     string `json:"domain"`
}

func (DeliverArgs) Kind() string { return "delivery.send" }

type deliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	s *Service
}

// Timeout bounds one attempt (connections and the SMTP transaction); it is
// shorter than jobs.rescue_after, so an attempt is only run again after a
// crash.
func (w *deliverWorker) Timeout(*river.Job[DeliverArgs]) time.Duration {
	return w.s.cfg.ConnectTimeout.D()*2 + w.s.cfg.CommandTimeout.D()*3
}

type sendRow struct {
	ID              string
	OrgID           string
	InboxID         string
	DomainID        string
	MessageIDHeader string
	EnvelopeFrom    string
	Raw             []byte
	Status          string
	CreatedAt       time.Time
}

type rcptRow struct {
	Address  string
	Attempts int
}

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	s := w.s
	var o sendRow
	res := s.db.DB.WithContext(ctx).Raw(`SELECT id, org_id, inbox_id, domain_id, message_id_header, envelope_from, raw, status, created_at
		FROM outbound_messages WHERE id = ?`, job.Args.OutboundID).Scan(&o)
	if res.Error != nil {
		return fmt.Errorf("load send: %w", res.Error)
	}
	switch {
	case res.RowsAffected == 0:
		return nil // the inbox was deleted
	case o.Status == StatusPendingApproval || o.Status == StatusRejected || o.Status == StatusExpired:
		// Never: held sends are not queued. Refuse loudly if one is.
		s.log.Error("delivery job for a send that is not released", "id", o.ID, "status", o.Status)
		return nil
	}
	var rcpts []rcptRow
	if err := s.db.DB.WithContext(ctx).Raw(`SELECT address, attempts FROM delivery_recipients
		WHERE outbound_id = ? AND domain = ? AND status IN ('queued', 'deferred') ORDER BY address`,
		o.ID, job.Args.Domain).Scan(&rcpts).Error; err != nil {
		return fmt.Errorf("load recipients: %w", err)
	}
	if len(rcpts) == 0 {
		return nil
	}
	// A delivery pause on the domain: sleep without an attempt (the
	// recipients' attempts and River's are not counted).
	if wait, err := s.pauseWait(ctx, o.OrgID, job.Args.Domain); err != nil {
		return err
	} else if wait > 0 {
		if err := s.holdPaused(ctx, &o, job.Args.Domain, wait); err != nil {
			return err
		}
		return river.JobSnooze(wait)
	}
	if wait, err := s.pausedWait(ctx, &o, rcpts); err != nil || wait > 0 {
		if err != nil {
			return err
		}
		return river.JobSnooze(wait)
	}
	if capture, err := s.captures(ctx, &o, job.Args.Domain); err != nil {
		return err
	} else if capture {
		return s.capture(ctx, &o, job.Args.Domain, rcpts)
	}
	hosted, err := s.local.Hosted(ctx, job.Args.Domain)
	if err != nil {
		return fmt.Errorf("check hosted domain: %w", err)
	}
	if hosted {
		for _, r := range rcpts {
			if err := s.deliverLocal(ctx, &o, r); err != nil {
				return err
			}
		}
	} else {
		addrs := make([]string, len(rcpts))
		for i, r := range rcpts {
			addrs[i] = r.Address
		}
		results, mx := s.deliverRemote(ctx, &o, job.Args.Domain, addrs)
		if err := s.record(ctx, &o, results, mx); err != nil {
			return err
		}
	}
	return s.reschedule(ctx, &o, job.Args.Domain)
}

// deliverLocal stores the message for a hosted recipient in the same
// transaction that records it delivered: exactly once.
func (s *Service) deliverLocal(ctx context.Context, o *sendRow, r rcptRow) error {
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := s.local.DeliverLocal(ctx, tx, r.Address, o.EnvelopeFrom, o.Raw); err != nil {
			return err
		}
		return s.recordTx(ctx, tx, o, map[string]result{r.Address: {code: 250, text: "stored in the hosted inbox", ok: true}}, "local")
	})
	if err == nil {
		return nil
	}
	var me *models.Error
	if !errors.As(err, &me) {
		// A database failure: try again later.
		return s.record(ctx, o, map[string]result{r.Address: {code: 451, enhanced: "4.3.0", text: "local delivery failed temporarily"}}, "local")
	}
	res := result{code: 550, enhanced: "5.1.1", text: "no such mailbox here", perm: true}
	switch me.Code {
	case models.CodeStorageCapExceeded:
		res = result{code: 552, enhanced: "5.2.2", text: "the recipient's mailbox is full", perm: true}
	case models.CodeForbidden:
		res = result{code: 550, enhanced: "5.7.1", text: "the recipient does not accept mail from this sender", perm: true}
	case models.CodeNotFound:
	case models.CodeValidation:
		res = result{code: 554, enhanced: "5.6.0", text: me.Message, perm: true}
	default:
		res = result{code: 451, enhanced: "4.3.0", text: me.Message}
	}
	return s.record(ctx, o, map[string]result{r.Address: res}, "local")
}

// deliverRemote tries the domain's MX hosts (or the relay) in order. An
// address that is not a mailbox (stored before addresses were checked)
// fails permanently here and is never written into a command.
func (s *Service) deliverRemote(ctx context.Context, o *sendRow, domain string, rcpts []string) (map[string]result, string) {
	rcpts, bad := checkPaths(o.EnvelopeFrom, rcpts)
	if len(rcpts) == 0 {
		return bad, ""
	}
	results, mx := s.tryHosts(ctx, o, domain, rcpts)
	for rc, r := range bad {
		results[rc] = r
	}
	return results, mx
}

func (s *Service) tryHosts(ctx context.Context, o *sendRow, domain string, rcpts []string) (map[string]result, string) {
	signed, err := s.sign(ctx, o.DomainID, domainOf(o.EnvelopeFrom), o.Raw)
	if err != nil {
		s.log.Error("sign message", "id", o.ID, "err", err)
		return all(rcpts, result{code: 451, enhanced: "4.7.0", text: "could not sign the message: " + err.Error()}), ""
	}
	hosts, res := s.targets(ctx, domain)
	if res != nil {
		return all(rcpts, *res), ""
	}
	sess := &session{hostname: s.hostname, dialTimeout: s.cfg.ConnectTimeout.D(), cmdTimeout: s.cfg.CommandTimeout.D(),
		dataTimeout: s.cfg.CommandTimeout.D() * 2, relay: s.cfg.Mode == "relay", relayUser: s.cfg.RelayUsername,
		relayPass: s.cfg.RelayPassword, relaySkipVerify: s.cfg.RelayInsecureSkipVerify}
	var lastErr error
	for _, h := range hosts {
		results, _, err := sess.deliver(ctx, h, o.EnvelopeFrom, rcpts, signed)
		if errors.Is(err, errNoTLS) {
			plain := *sess
			plain.forcePlain = true
			results, _, err = plain.deliver(ctx, h, o.EnvelopeFrom, rcpts, signed)
		}
		if err == nil {
			return results, h.name
		}
		s.log.Info("delivery attempt failed", "id", o.ID, "host", h.name, "addr", h.addr, "err", err)
		lastErr = err
	}
	msg := "no mail host could be reached"
	if lastErr != nil {
		msg = lastErr.Error()
	}
	return all(rcpts, result{text: msg}), ""
}

// targets resolves where mail for domain goes: the relay, the MX hosts by
// preference, or the domain's own address when it has no MX (RFC 5321
// section 5.1). A null MX or a domain that does not exist is a permanent
// failure; DNS trouble is temporary.
func (s *Service) targets(ctx context.Context, domain string) ([]hostTarget, *result) {
	if s.cfg.Mode == "relay" {
		host, _, _ := net.SplitHostPort(s.cfg.RelayAddr)
		return []hostTarget{{name: host, addr: s.cfg.RelayAddr}}, nil
	}
	var names []string
	mxs, err := s.resolver.LookupMX(ctx, domain)
	var dnsErr *net.DNSError
	switch {
	case err == nil:
		if len(mxs) == 1 && (mxs[0].Host == "." || mxs[0].Host == "") {
			return nil, &result{code: 556, enhanced: "5.1.10", text: domain + " does not accept mail (null MX)", perm: true}
		}
		for _, mx := range mxs {
			names = append(names, strings.TrimSuffix(mx.Host, "."))
		}
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		names = []string{domain}
	default:
		return nil, &result{enhanced: "4.4.3", text: "MX lookup for " + domain + " failed: " + err.Error()}
	}
	var out []hostTarget
	var lookupErr error
	for _, n := range names {
		ips, err := s.resolver.LookupIPAddr(ctx, n)
		if err != nil {
			lookupErr = err
			continue
		}
		for _, ip := range ips {
			out = append(out, hostTarget{name: n, addr: joinHostPort(ip.IP, s.cfg.Port)})
		}
	}
	if len(out) == 0 {
		if errors.As(lookupErr, &dnsErr) && dnsErr.IsNotFound && len(mxs) == 0 {
			return nil, &result{code: 550, enhanced: "5.1.2", text: domain + " has no MX or address records", perm: true}
		}
		msg := "no address for the mail hosts of " + domain
		if lookupErr != nil {
			msg += ": " + lookupErr.Error()
		}
		return nil, &result{enhanced: "4.4.3", text: msg}
	}
	return out, nil
}

// record stores an attempt's results in a transaction of its own.
func (s *Service) record(ctx context.Context, o *sendRow, results map[string]result, mx string) error {
	return s.db.Tx(ctx, func(tx *gorm.DB) error { return s.recordTx(ctx, tx, o, results, mx) })
}

// recordTx updates each recipient, emits events, bounces permanent
// failures and updates the send's aggregate status.
func (s *Service) recordTx(ctx context.Context, tx *gorm.DB, o *sendRow, results map[string]result, mx string) error {
	var bounced []bounce
	for addr, r := range results {
		status := StatusDeferred
		switch {
		case r.ok:
			status = StatusDelivered
		case r.perm:
			status = StatusBounced
		}
		// Only a recipient still waiting: one cancelled meanwhile stays
		// cancelled (its DSN has gone out).
		res := tx.Exec(`UPDATE delivery_recipients SET status = ?, attempts = attempts + 1, last_code = ?, last_response = ?, mx = ?,
			delivered_at = CASE WHEN ? THEN now() ELSE delivered_at END, next_attempt_at = NULL, updated_at = now()
			WHERE outbound_id = ? AND address = ? AND status IN ('queued', 'deferred')`, status, r.code, r.response(), mx, r.ok, o.ID, addr)
		if res.Error != nil {
			return fmt.Errorf("record delivery: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			continue
		}
		var err error
		s.metrics.DeliveryAttempt(status, attemptPath(mx))
		payload := map[string]any{"message_id": o.ID, "recipient": addr, "response": r.response()}
		switch status {
		case StatusDelivered:
			_, err = s.events.Emit(ctx, tx, o.OrgID, o.InboxID, models.EventMessageDelivered, payload)
		case StatusDeferred:
			_, err = s.events.Emit(ctx, tx, o.OrgID, o.InboxID, models.EventMessageDeferred, payload)
		case StatusBounced:
			bounced = append(bounced, bounce{addr: addr, r: r, mx: mx})
		}
		if err != nil {
			return err
		}
	}
	if len(bounced) > 0 {
		if err := s.bounceTx(ctx, tx, o, bounced); err != nil {
			return err
		}
	}
	return s.aggregate(tx, o.ID)
}

// aggregate derives the send's status from its recipients.
func (s *Service) aggregate(tx *gorm.DB, id string) error {
	// Jobs of one send (one per recipient domain) record concurrently:
	// the send's row lock orders them, and the count below (a fresh
	// snapshot under READ COMMITTED) then sees the other jobs' committed
	// recipients. Without it two jobs finishing together each saw the
	// other's recipient still queued, and the send stayed "queued".
	if err := tx.Exec(`SELECT 1 FROM outbound_messages WHERE id = ? FOR UPDATE`, id).Error; err != nil {
		return fmt.Errorf("lock send: %w", err)
	}
	var c struct{ Total, Delivered, Bounced, Deferred int }
	if err := tx.Raw(`SELECT count(*) AS total,
		count(*) FILTER (WHERE status = 'delivered') AS delivered,
		count(*) FILTER (WHERE status IN ('bounced', 'cancelled')) AS bounced,
		count(*) FILTER (WHERE status = 'deferred') AS deferred
		FROM delivery_recipients WHERE outbound_id = ?`, id).Scan(&c).Error; err != nil {
		return fmt.Errorf("aggregate status: %w", err)
	}
	status, done := StatusQueued, false
	switch {
	case c.Delivered == c.Total:
		status, done = StatusDelivered, true
	case c.Bounced == c.Total:
		status, done = StatusBounced, true
	case c.Delivered+c.Bounced == c.Total:
		status, done = StatusPartiallyDelivered, true
	case c.Deferred > 0:
		status = StatusDeferred
	}
	return setStatus(tx, id, status, done)
}

// reschedule snoozes the job until the next attempt for deferred
// recipients, or gives up on them once give_up_after has passed.
func (s *Service) reschedule(ctx context.Context, o *sendRow, domain string) error {
	var deferred []rcptRow
	if err := s.db.DB.WithContext(ctx).Raw(`SELECT address, attempts FROM delivery_recipients
		WHERE outbound_id = ? AND domain = ? AND status IN ('queued', 'deferred')`, o.ID, domain).Scan(&deferred).Error; err != nil {
		return fmt.Errorf("load deferred recipients: %w", err)
	}
	if len(deferred) == 0 {
		return nil
	}
	giveUpAt := o.CreatedAt.Add(s.cfg.GiveUpAfter.D())
	now := s.now()
	if !now.Before(giveUpAt) {
		results := map[string]result{}
		for _, r := range deferred {
			var last string
			_ = s.db.DB.WithContext(ctx).Raw(`SELECT last_response FROM delivery_recipients WHERE outbound_id = ? AND address = ?`, o.ID, r.Address).Scan(&last).Error
			results[r.Address] = result{enhanced: "4.4.7", perm: true,
				text: fmt.Sprintf("gave up after %s of retries; last error: %s", s.cfg.GiveUpAfter.D(), last)}
		}
		return s.record(ctx, o, results, "")
	}
	attempts := deferred[0].Attempts
	if attempts < 1 {
		attempts = 1
	}
	wait := s.retries[min(attempts-1, len(s.retries)-1)]
	if next := now.Add(wait); next.After(giveUpAt) {
		wait = giveUpAt.Sub(now) // one last attempt at the give-up time
	}
	if err := s.db.DB.WithContext(ctx).Exec(`UPDATE delivery_recipients SET next_attempt_at = ? WHERE outbound_id = ? AND domain = ? AND status = 'deferred'`,
		now.Add(wait), o.ID, domain).Error; err != nil {
		return fmt.Errorf("schedule retry: %w", err)
	}
	return river.JobSnooze(wait)
}
