package delivery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"gent/daemon/domains"
	"gent/daemon/events"
	"gent/daemon/policy"
	"gent/daemon/store"
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
	// soleDomain: every recipient of the send is on the attempt's
	// domain, so no other job records into the send (recordTx then needs
	// no lock on it to count its recipients).
	soleDomain bool
	// dkim, when set, is the sending domain's key material as read with
	// the send (sign opens the keys from it instead of reading them).
	dkim *domains.DKIMMaterial
}

type rcptRow struct {
	Address  string
	Attempts int
}

// attempt is what a delivery attempt reads before it starts, in one round
// trip: the send, its waiting recipients on the domain, a delivery pause
// on the domain, the sending pause of its inbox or organization, where
// its mail for the domain goes (captured, hosted here, or out) and the
// sending domain's DKIM keys.
type attempt struct {
	o             sendRow
	rcpts         []rcptRow
	paused        bool // a delivery pause on the domain
	pausedUntil   *time.Time
	now           time.Time
	sendingPaused bool
	wasPaused     bool // a pause held the recipients before (paused_since set)
	captured      bool
	hosted        bool
	dkim          domains.DKIMMaterial
}

// attemptSQL reads an attempt ($1: the send, $2: the recipient domain).
// Mail for a domain of this installation (verified or degraded, as for
// mail.Hosted) is delivered locally, unless the sending domain is a
// sandbox and the domain is not its organization's: then it is captured.
var attemptSQL = `SELECT o.id, o.org_id, o.inbox_id, o.domain_id, o.message_id_header, o.envelope_from, o.raw, o.status, o.created_at,
		r.addrs, r.attempts, r.was_paused,
		NOT EXISTS (SELECT 1 FROM delivery_recipients x WHERE x.outbound_id = o.id AND x.domain <> $2),
		coalesce(p.found, false), p.until, now(),
		` + policy.PausedSQL("o.org_id", "o.inbox_id") + `,
		coalesce(d.domain_use = 'sandbox', false) AND NOT EXISTS (SELECT 1 FROM domains own WHERE own.name = $2
			AND own.org_id = d.org_id AND own.status IN ('verified', 'degraded')),
		EXISTS (SELECT 1 FROM domains h WHERE h.name = $2 AND h.status IN ('verified', 'degraded')),
		coalesce(d.id, ''), coalesce(d.dkim_selector, ''), d.dkim_rsa_private, coalesce(d.dkim_ed25519_selector, ''),
		d.dkim_ed25519_private, d.records
	FROM outbound_messages o
	LEFT JOIN domains d ON d.id = o.domain_id
	CROSS JOIN LATERAL (SELECT coalesce(array_agg(address ORDER BY address), '{}') AS addrs,
			coalesce(array_agg(attempts ORDER BY address), '{}') AS attempts,
			coalesce(bool_or(paused_since IS NOT NULL), false) AS was_paused
		FROM delivery_recipients WHERE outbound_id = o.id AND domain = $2 AND status IN ('queued', 'deferred')) r
	LEFT JOIN LATERAL (SELECT true AS found, until FROM delivery_pauses
		WHERE org_id = o.org_id AND domain = $2 AND (until IS NULL OR until > now()) LIMIT 1) p ON true
	WHERE o.id = $1`

// loadAttempt reads an attempt; nil when the send is gone.
func (s *Service) loadAttempt(ctx context.Context, args DeliverArgs) (*attempt, error) {
	var (
		a        attempt
		addrs    []string
		attempts []int32
	)
	err := s.db.Pool.QueryRow(ctx, attemptSQL, args.OutboundID, args.Domain).Scan(&a.o.ID, &a.o.OrgID, &a.o.InboxID, &a.o.DomainID,
		&a.o.MessageIDHeader, &a.o.EnvelopeFrom, &a.o.Raw, &a.o.Status, &a.o.CreatedAt, &addrs, &attempts, &a.wasPaused, &a.o.soleDomain,
		&a.paused, &a.pausedUntil, &a.now, &a.sendingPaused, &a.captured, &a.hosted,
		&a.dkim.ID, &a.dkim.DKIMSelector, &a.dkim.DKIMRSAPrivate, &a.dkim.DKIMEd25519Selector, &a.dkim.DKIMEd25519Private, &a.dkim.Records)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load send: %w", err)
	}
	if len(addrs) != len(attempts) {
		return nil, fmt.Errorf("load send: %d recipients, %d attempt counts", len(addrs), len(attempts))
	}
	a.rcpts = make([]rcptRow, len(addrs))
	for i := range addrs {
		a.rcpts[i] = rcptRow{Address: addrs[i], Attempts: int(attempts[i])}
	}
	a.o.dkim = &a.dkim
	return &a, nil
}

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	s := w.s
	a, err := s.loadAttempt(ctx, job.Args)
	if err != nil {
		return err
	}
	if a == nil {
		return nil // the inbox was deleted
	}
	o, rcpts := &a.o, a.rcpts
	switch o.Status {
	case StatusPendingApproval, StatusRejected, StatusExpired:
		// Never: held sends are not queued. Refuse loudly if one is.
		s.log.Error("delivery job for a send that is not released", "id", o.ID, "status", o.Status)
		return nil
	}
	if len(rcpts) == 0 {
		return nil
	}
	// A delivery pause on the domain: sleep without an attempt (the
	// recipients' attempts and River's are not counted).
	if a.paused {
		wait := PauseRecheck
		if a.pausedUntil != nil {
			wait = min(wait, a.pausedUntil.Sub(a.now))
		}
		wait = max(wait, time.Millisecond)
		if err := s.holdPaused(ctx, o, job.Args.Domain, wait); err != nil {
			return err
		}
		return river.JobSnooze(wait)
	}
	if a.wasPaused {
		if err := s.settlePaused(ctx, o, job.Args.Domain); err != nil {
			return err
		}
	}
	// Sending paused for the inbox or organization holds back a delivery
	// not yet attempted; deliveries already under way (retries) finish.
	if s.policy != nil && a.sendingPaused && !attempted(rcpts) {
		return river.JobSnooze(PausedRecheck)
	}
	if a.captured {
		return s.capture(ctx, o, job.Args.Domain, rcpts)
	}
	if a.hosted {
		for _, r := range rcpts {
			if err := s.deliverLocal(ctx, o, r); err != nil {
				return err
			}
		}
	} else {
		addrs := make([]string, len(rcpts))
		for i, r := range rcpts {
			addrs[i] = r.Address
		}
		results, mx := s.deliverRemote(ctx, o, job.Args.Domain, addrs)
		if err := s.record(ctx, o, results, mx); err != nil {
			return err
		}
		if !anyDeferred(results) {
			return nil // every recipient has its final status
		}
	}
	return s.reschedule(ctx, o, job.Args.Domain)
}

func attempted(rcpts []rcptRow) bool {
	for _, r := range rcpts {
		if r.Attempts > 0 {
			return true
		}
	}
	return false
}

func anyDeferred(results map[string]result) bool {
	for _, r := range results {
		if !r.ok && !r.perm {
			return true
		}
	}
	return false
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
	signed, err := s.sign(ctx, o, domainOf(o.EnvelopeFrom))
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
		relayPass: s.cfg.RelayPassword, relaySkipVerify: s.cfg.RelayInsecureSkipVerify, pool: s.conns}
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
// failures and updates the send's aggregate status: the recipients and
// the status in one statement, the events in another.
func (s *Service) recordTx(ctx context.Context, tx *gorm.DB, o *sendRow, results map[string]result, mx string) error {
	stx := store.SQLTx(tx)
	if stx == nil {
		return errors.New("record delivery: not inside a transaction")
	}
	if !o.soleDomain {
		// Jobs of one send (one per recipient domain) record
		// concurrently: the send's row lock orders them, and the count
		// below (a fresh snapshot under READ COMMITTED) then sees the
		// other jobs' committed recipients. Without it two jobs finishing
		// together each saw the other's recipient still queued, and the
		// send stayed "queued".
		if _, err := stx.ExecContext(ctx, `SELECT 1 FROM outbound_messages WHERE id = $1 FOR UPDATE`, o.ID); err != nil {
			return fmt.Errorf("lock send: %w", err)
		}
	}
	addrs := make([]string, 0, len(results))
	for addr := range results {
		addrs = append(addrs, addr)
	}
	sort.Strings(addrs)
	n := len(addrs)
	statuses, codes, responses, oks := make([]string, n), make([]int32, n), make([]string, n), make([]bool, n)
	for i, addr := range addrs {
		r := results[addr]
		statuses[i] = StatusDeferred
		switch {
		case r.ok:
			statuses[i] = StatusDelivered
		case r.perm:
			statuses[i] = StatusBounced
		}
		codes[i], responses[i], oks[i] = int32(r.code), r.response(), r.ok
	}
	rows, err := stx.QueryContext(ctx, recordSQL, o.ID, addrs, statuses, codes, responses, oks, mx)
	if err != nil {
		return fmt.Errorf("record delivery: %w", err)
	}
	// Only recipients still waiting were updated: one cancelled meanwhile
	// stays cancelled (its DSN has gone out).
	updated := map[string]string{}
	for rows.Next() {
		var addr, status string
		if err := rows.Scan(&addr, &status); err != nil {
			rows.Close()
			return fmt.Errorf("record delivery: %w", err)
		}
		updated[addr] = status
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("record delivery: %w", err)
	}
	var (
		evs     []events.Pending
		bounced []bounce
	)
	for _, addr := range addrs {
		status, ok := updated[addr]
		if !ok {
			continue
		}
		r := results[addr]
		s.metrics.DeliveryAttempt(status, attemptPath(mx))
		payload := map[string]any{"message_id": o.ID, "recipient": addr, "response": r.response()}
		switch status {
		case StatusDelivered:
			evs = append(evs, events.Pending{OrgID: o.OrgID, InboxID: o.InboxID, Type: models.EventMessageDelivered, Payload: payload})
		case StatusDeferred:
			evs = append(evs, events.Pending{OrgID: o.OrgID, InboxID: o.InboxID, Type: models.EventMessageDeferred, Payload: payload})
		case StatusBounced:
			bounced = append(bounced, bounce{addr: addr, r: r, mx: mx})
		}
	}
	if _, err := s.events.EmitAll(ctx, tx, evs...); err != nil {
		return err
	}
	if len(bounced) > 0 {
		return s.bounceTx(ctx, tx, o, bounced)
	}
	return nil
}

// recordSQL records an attempt's results for the send $1 — recipients
// $2 with their new status $3, reply code $4 and text $5, accepted $6, via
// the host $7 — on those still waiting, and derives the send's status
// from all its recipients (aggregateSQL), the updated ones with their new
// status; it answers the recipients it updated.
const recordSQL = `WITH res AS (
		SELECT * FROM unnest($2::text[], $3::text[], $4::int[], $5::text[], $6::bool[]) AS r(address, status, code, response, ok)),
	upd AS (
		UPDATE delivery_recipients d SET status = res.status, attempts = d.attempts + 1, last_code = res.code,
			last_response = res.response, mx = $7, delivered_at = CASE WHEN res.ok THEN now() ELSE d.delivered_at END,
			next_attempt_at = NULL, updated_at = now()
		FROM res WHERE d.outbound_id = $1 AND d.address = res.address AND d.status IN ('queued', 'deferred')
		RETURNING d.address, d.status),
	rcpts AS (
		SELECT coalesce(u.status, d.status) AS status FROM delivery_recipients d LEFT JOIN upd u ON u.address = d.address
		WHERE d.outbound_id = $1),` + aggregateCTEs + `
	SELECT address, status FROM upd`

// aggregateCTEs derive a send's status from its recipients (the CTE
// rcpts, their statuses; the send is $1) and set it on the send, which is
// the status its sent copy shows (mail.summaryColumns); a finished send
// drops the queue's copy of the bytes (the sent copy stays in the inbox).
// Every recipient delivered: delivered; every one bounced or cancelled:
// bounced; all finished: partially_delivered; otherwise deferred if one
// is, else queued.
const aggregateCTEs = `
	counts AS (
		SELECT count(*) AS total, count(*) FILTER (WHERE status = 'delivered') AS delivered,
			count(*) FILTER (WHERE status IN ('bounced', 'cancelled')) AS bounced,
			count(*) FILTER (WHERE status = 'deferred') AS deferred
		FROM rcpts),
	agg AS (
		SELECT CASE WHEN delivered = total THEN 'delivered' WHEN bounced = total THEN 'bounced'
			WHEN delivered + bounced = total THEN 'partially_delivered' WHEN deferred > 0 THEN 'deferred' ELSE 'queued' END AS status,
			delivered + bounced = total AS done
		FROM counts),
	send AS (
		UPDATE outbound_messages o SET status = agg.status, raw = CASE WHEN agg.done THEN NULL ELSE o.raw END, updated_at = now(),
			completed_at = CASE WHEN agg.done THEN now() ELSE o.completed_at END
		FROM agg WHERE o.id = $1 RETURNING o.id)`

// aggregate derives the send's status from its recipients.
func (s *Service) aggregate(tx *gorm.DB, id string) error {
	// Jobs of one send record concurrently, and an admin's cancel with
	// them: the send's row lock orders them, and the count (a fresh
	// snapshot under READ COMMITTED) then sees the others' committed
	// recipients.
	if err := tx.Exec(`SELECT 1 FROM outbound_messages WHERE id = ? FOR UPDATE`, id).Error; err != nil {
		return fmt.Errorf("lock send: %w", err)
	}
	stx := store.SQLTx(tx)
	if stx == nil {
		return errors.New("aggregate status: not inside a transaction")
	}
	if _, err := stx.ExecContext(tx.Statement.Context, `WITH rcpts AS (SELECT status FROM delivery_recipients WHERE outbound_id = $1),`+aggregateCTEs+`
		SELECT 1`, id); err != nil {
		return fmt.Errorf("aggregate status: %w", err)
	}
	return nil
}

// reschedule snoozes the job until the next attempt for deferred
// recipients, or gives up on them once give_up_after has passed.
func (s *Service) reschedule(ctx context.Context, o *sendRow, domain string) error {
	var deferred []struct {
		Address  string
		Attempts int
		PausedMS int64
	}
	if err := s.db.DB.WithContext(ctx).Raw(`SELECT address, attempts, paused_ms FROM delivery_recipients
		WHERE outbound_id = ? AND domain = ? AND status IN ('queued', 'deferred')`, o.ID, domain).Scan(&deferred).Error; err != nil {
		return fmt.Errorf("load deferred recipients: %w", err)
	}
	if len(deferred) == 0 {
		return nil
	}
	// Time held by a delivery pause does not count (docs/queue.md).
	var paused int64
	for _, r := range deferred {
		paused = max(paused, r.PausedMS)
	}
	giveUpAt := o.CreatedAt.Add(s.cfg.GiveUpAfter.D() + time.Duration(paused)*time.Millisecond)
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
