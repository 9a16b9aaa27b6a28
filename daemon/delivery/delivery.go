// Package delivery sends mail: it records each send and its recipients,
// enqueues River jobs in the sending transaction, delivers hosted
// recipients locally and others by MX (or a relay) with opportunistic
// STARTTLS and a DKIM signature, retries 4xx with backoff up to a give-up
// window, and turns permanent failures into bounces: a DSN in the sending
// inbox, a message.bounced event and a suppression.
package delivery

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"gent/daemon/audit"
	"gent/daemon/config"
	"gent/daemon/domains"
	"gent/daemon/events"
	"gent/daemon/jobs"
	"gent/daemon/mail"
	"gent/daemon/metrics"
	"gent/daemon/policy"
	"gent/daemon/ratelimit"
	"gent/daemon/store"
	"gent/models"
)

// Resolver looks up MX hosts and addresses through dns.resolver.
type Resolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// Keys gives the DKIM keys of a sending domain (domains.Service): the RSA
// key always, then the Ed25519 key when its record is published.
type Keys interface {
	DKIMKeys(ctx context.Context, domainID string) ([]domains.DKIMKey, error)
	// DKIMKeysOf opens the keys of a domain row read with
	// domains.DKIMColumns.
	DKIMKeysOf(m domains.DKIMMaterial) ([]domains.DKIMKey, error)
}

// Local stores mail for hosted recipients and notices for senders.
type Local interface {
	// DeliverLocal stores raw for rcpt inside tx. A *models.Error refusal
	// with code not_found, forbidden (blocked) or storage_cap_exceeded is
	// permanent; other errors are temporary.
	DeliverLocal(ctx context.Context, tx *gorm.DB, rcpt, from string, raw []byte) error
	// StoreNotice stores a notice (a DSN) in the inbox inside tx and
	// returns its message id.
	StoreNotice(ctx context.Context, tx *gorm.DB, orgID, inboxID string, raw []byte) (string, error)
}

// Statuses of a send.
const (
	StatusPendingApproval    = "pending_approval"
	StatusQueued             = "queued"
	StatusDeferred           = "deferred"
	StatusDelivered          = "delivered"
	StatusPartiallyDelivered = "partially_delivered"
	StatusBounced            = "bounced"
	StatusRejected           = "rejected"
	StatusExpired            = "expired"
)

// Statuses of one recipient (delivery_recipients.status). A held send's
// recipients are held, then queued on approval, or rejected/expired with
// it. Only queued and deferred recipients are in the queue; cancelled is
// an admin's POST /v1/deliveries/{id}/cancel.
const (
	RcptHeld      = "held"
	RcptQueued    = "queued"
	RcptDeferred  = "deferred"
	RcptDelivered = "delivered"
	RcptBounced   = "bounced"
	RcptCancelled = "cancelled"
)

type Service struct {
	// limiter holds the per-inbox send limits (outbound.rate_per_minute,
	// outbound.recipients_per_day), shared by every replica.
	limiter  *ratelimit.Limiter
	db       *store.Store
	events   *events.Service
	jobs     *jobs.Jobs
	cfg      config.Outbound
	retries  []time.Duration
	hostname string
	resolver Resolver
	keys     Keys
	local    Local
	mail     *mail.Service
	holder   Holder
	audit    *audit.Service
	policy   *policy.Service
	metrics  *metrics.Metrics
	// conns keeps SMTP sessions open between deliveries to a host.
	conns *connPool
	// sandboxOff: sandbox.domain is empty, so sandbox inboxes refuse sends.
	sandboxOff bool
	log        *slog.Logger
	now        func() time.Time
}

func NewService(db *store.Store, ev *events.Service, cfg config.Config, resolver Resolver, keys Keys, local Local, log *slog.Logger) (*Service, error) {
	retries, err := cfg.Outbound.Retries()
	if err != nil {
		return nil, err
	}
	return &Service{db: db, events: ev, cfg: cfg.Outbound, retries: retries, hostname: cfg.Hostname,
		resolver: resolver, keys: keys, local: local, log: log, now: time.Now, sandboxOff: cfg.Sandbox.Domain == "",
		limiter: ratelimit.New(db), conns: newConnPool()}, nil
}

// SetMetrics makes the service count send decisions and delivery
// attempts.
func (s *Service) SetMetrics(m *metrics.Metrics) { s.metrics = m }

// SetJobs gives the service the job client.
func (s *Service) SetJobs(j *jobs.Jobs) { s.jobs = j }

// RegisterWorkers adds the delivery job.
// Queue is the job queue of deliveries, worked by outbound.workers
// workers of its own: a delivery mostly waits on a remote server, and the
// daemon's other jobs must not wait behind a burst of them.
const Queue = "outbound"

func (s *Service) RegisterWorkers(w *river.Workers) {
	river.AddWorker(w, &deliverWorker{s: s})
}

// Recipient is one envelope recipient of a send.
type Recipient struct {
	Address string
	Kind    string // to, cc, bcc
}

// Outbound is a send to record.
type Outbound struct {
	ID              string // the id of the sent copy in the inbox
	OrgID           string
	InboxID         string
	DomainID        string
	MessageIDHeader string
	EnvelopeFrom    string
	Raw             []byte
	Recipients      []Recipient
	// Held sends are recorded as pending_approval and not queued.
	Held bool
}

// Digest is the SHA-256 of exactly what will be sent: the envelope and the
// message bytes.
func Digest(envelopeFrom string, rcpts []Recipient, raw []byte) []byte {
	h := sha256.New()
	fmt.Fprintf(h, "MAIL FROM:<%s>\n", envelopeFrom)
	addrs := make([]string, 0, len(rcpts))
	for _, r := range rcpts {
		addrs = append(addrs, r.Kind+":"+r.Address)
	}
	sort.Strings(addrs)
	for _, a := range addrs {
		fmt.Fprintf(h, "RCPT TO:<%s>\n", a)
	}
	fmt.Fprintf(h, "DATA %d\n", len(raw))
	h.Write(raw)
	return h.Sum(nil)
}

func domainOf(addr string) string {
	return strings.ToLower(addr[strings.LastIndexByte(addr, '@')+1:])
}

// Create records a send inside tx and, unless it is held, enqueues its
// delivery jobs (one per recipient domain) in the same transaction: the
// send and its recipients in one statement, the jobs in another.
func (s *Service) Create(ctx context.Context, tx *gorm.DB, o Outbound) error {
	if err := s.createAll(ctx, tx, []Outbound{o}); err != nil {
		return err
	}
	if o.Held {
		return nil
	}
	return s.jobs.InsertManyTx(ctx, tx, deliveryJobs(o))
}

// createAll records sends and their recipients inside tx, in one
// statement.
func (s *Service) createAll(ctx context.Context, tx *gorm.DB, os []Outbound) error {
	if len(os) == 0 {
		return nil
	}
	stx := store.SQLTx(tx)
	if stx == nil {
		return errors.New("record send: not inside a transaction")
	}
	n := len(os)
	ids, orgs, inboxes, doms, mids, froms, statuses := make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	raws, digests := make([][]byte, n), make([][]byte, n)
	counts := make([]int32, n)
	var rOut, rAddr, rDom, rKind, rStatus []string
	for i, o := range os {
		status, rstatus := StatusQueued, RcptQueued
		if o.Held {
			status, rstatus = StatusPendingApproval, RcptHeld
		}
		ids[i], orgs[i], inboxes[i], doms[i], mids[i], froms[i], statuses[i] = o.ID, o.OrgID, o.InboxID, o.DomainID,
			o.MessageIDHeader, o.EnvelopeFrom, status
		raws[i], digests[i], counts[i] = o.Raw, Digest(o.EnvelopeFrom, o.Recipients, o.Raw), int32(len(o.Recipients))
		for _, r := range o.Recipients {
			rOut, rAddr, rDom = append(rOut, o.ID), append(rAddr, r.Address), append(rDom, domainOf(r.Address))
			rKind, rStatus = append(rKind, r.Kind), append(rStatus, rstatus)
		}
	}
	if _, err := stx.ExecContext(ctx, createSQL, ids, orgs, inboxes, doms, mids, froms, raws, digests, statuses, counts,
		rOut, rAddr, rDom, rKind, rStatus); err != nil {
		if werr := store.WrapError(err, "recipient"); werr != err {
			return werr
		}
		return fmt.Errorf("record send: %w", err)
	}
	return nil
}

// createSQL records sends ($1–$10, one element each) and their recipients
// ($11–$15: the send, address, domain, kind and status of each).
const createSQL = `WITH o AS (
		INSERT INTO outbound_messages (id, org_id, inbox_id, domain_id, message_id_header, envelope_from, raw, digest, status, recipient_count)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bytea[], $8::bytea[],
			$9::text[], $10::int[])
		RETURNING id, org_id, inbox_id)
	INSERT INTO delivery_recipients (outbound_id, address, org_id, inbox_id, domain, kind, status)
	SELECT o.id, r.address, o.org_id, o.inbox_id, r.domain, r.kind, r.status
	FROM unnest($11::text[], $12::text[], $13::text[], $14::text[], $15::text[]) WITH ORDINALITY AS r(outbound_id, address, domain, kind, status, n)
	JOIN o ON o.id = r.outbound_id ORDER BY r.n`

// deliveryJobs are a send's delivery jobs, one per recipient domain (in
// domain order).
func deliveryJobs(o Outbound) []river.InsertManyParams {
	seen := map[string]bool{}
	var doms []string
	for _, r := range o.Recipients {
		if d := domainOf(r.Address); !seen[d] {
			seen[d] = true
			doms = append(doms, d)
		}
	}
	sort.Strings(doms)
	return jobsFor(o.ID, doms)
}

func jobsFor(id string, doms []string) []river.InsertManyParams {
	args := make([]river.InsertManyParams, len(doms))
	for i, d := range doms {
		args[i] = river.InsertManyParams{Args: DeliverArgs{OutboundID: id, Domain: d}, InsertOpts: &river.InsertOpts{Queue: Queue, MaxAttempts: 1000}}
	}
	return args
}

// Release queues a held send (after approval) inside tx. raw and rcpts,
// when not nil, replace the held message (a reviewer's edit).
func (s *Service) Release(ctx context.Context, tx *gorm.DB, id string, raw []byte, rcpts []Recipient) error {
	var o struct {
		OrgID        string
		InboxID      string
		EnvelopeFrom string
		Status       string
	}
	if err := tx.Raw(`SELECT org_id, inbox_id, envelope_from, status FROM outbound_messages WHERE id = ? FOR UPDATE`, id).Scan(&o).Error; err != nil {
		return fmt.Errorf("load send: %w", err)
	}
	if o.Status != StatusPendingApproval {
		return models.Errorf(models.CodeConflict, "the send is %s, not pending approval", o.Status)
	}
	if raw != nil {
		if err := tx.Exec(`DELETE FROM delivery_recipients WHERE outbound_id = ?`, id).Error; err != nil {
			return fmt.Errorf("replace recipients: %w", err)
		}
		for _, r := range rcpts {
			if err := tx.Exec(`INSERT INTO delivery_recipients (outbound_id, address, org_id, inbox_id, domain, kind) VALUES (?, ?, ?, ?, ?, ?)`,
				id, r.Address, o.OrgID, o.InboxID, domainOf(r.Address), r.Kind).Error; err != nil {
				return store.WrapError(err, "recipient")
			}
		}
		if err := tx.Exec(`UPDATE outbound_messages SET raw = ?, digest = ?, recipient_count = ? WHERE id = ?`,
			raw, Digest(o.EnvelopeFrom, rcpts, raw), len(rcpts), id).Error; err != nil {
			return fmt.Errorf("replace held message: %w", err)
		}
	}
	if err := tx.Exec(`UPDATE delivery_recipients SET status = ?, updated_at = now() WHERE outbound_id = ? AND status = ?`,
		RcptQueued, id, RcptHeld).Error; err != nil {
		return fmt.Errorf("queue held recipients: %w", err)
	}
	if err := setStatus(tx, id, StatusQueued, false); err != nil {
		return err
	}
	return s.enqueue(ctx, tx, id)
}

// Close marks a held send rejected or expired: it will never be queued.
func (s *Service) Close(ctx context.Context, tx *gorm.DB, id, status string) error {
	res := tx.Exec(`UPDATE outbound_messages SET status = ?, raw = NULL, updated_at = now(), completed_at = now()
		WHERE id = ? AND status = ?`, status, id, StatusPendingApproval)
	if res.Error != nil {
		return fmt.Errorf("close send: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return models.Errorf(models.CodeConflict, "the send is no longer pending approval")
	}
	// It was never sent: its label says what became of it instead.
	if err := tx.Exec(`UPDATE messages SET status = ?, labels = array_append(array_remove(array_remove(labels, 'sent'), ?), ?)
		WHERE id = ?`, status, status, status, id).Error; err != nil {
		return fmt.Errorf("update message status: %w", err)
	}
	// Its recipients were never queued: they take the send's status.
	if err := tx.Exec(`UPDATE delivery_recipients SET status = ?, updated_at = now() WHERE outbound_id = ? AND status = ?`,
		status, id, RcptHeld).Error; err != nil {
		return fmt.Errorf("close held recipients: %w", err)
	}
	return nil
}

func (s *Service) enqueue(ctx context.Context, tx *gorm.DB, id string) error {
	var doms []string
	if err := tx.Raw(`SELECT DISTINCT domain FROM delivery_recipients WHERE outbound_id = ? ORDER BY domain`, id).Scan(&doms).Error; err != nil {
		return fmt.Errorf("list recipient domains: %w", err)
	}
	return s.jobs.InsertManyTx(ctx, tx, jobsFor(id, doms))
}

// Suppressed returns those of addrs on the inbox's suppression list.
func (s *Service) Suppressed(ctx context.Context, tx *gorm.DB, inboxID string, addrs []string) ([]string, error) {
	if len(addrs) == 0 {
		return nil, nil
	}
	var out []string
	if err := tx.WithContext(ctx).Raw(`SELECT address FROM suppressions WHERE inbox_id = ? AND address IN ?`, inboxID, addrs).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("check suppressions: %w", err)
	}
	return out, nil
}

// Status returns a send's aggregate status and per-recipient results.
func (s *Service) Status(ctx context.Context, orgID, id string) (*models.SendStatus, error) {
	var st models.SendStatus
	res := s.db.DB.WithContext(ctx).Raw(`SELECT id, status, created_at, completed_at FROM outbound_messages WHERE id = ? AND org_id = ?`, id, orgID).Scan(&st)
	if res.Error != nil {
		return nil, fmt.Errorf("load send: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, nil
	}
	if err := s.db.DB.WithContext(ctx).Raw(`SELECT address, kind, status, attempts, last_code, last_response, mx, delivered_at, next_attempt_at
		FROM delivery_recipients WHERE outbound_id = ? ORDER BY address`, id).Scan(&st.Recipients).Error; err != nil {
		return nil, fmt.Errorf("load recipients: %w", err)
	}
	return &st, nil
}

// setStatus sets the send's status (the sent copy's, as the mail read
// path shows it: mail.summaryColumns); done sends drop the queue's copy of
// the bytes (the sent copy stays in the inbox).
func setStatus(tx *gorm.DB, id, status string, done bool) error {
	q := `UPDATE outbound_messages SET status = ?, updated_at = now() WHERE id = ?`
	if done {
		q = `UPDATE outbound_messages SET status = ?, raw = NULL, updated_at = now(), completed_at = now() WHERE id = ?`
	}
	if err := tx.Exec(q, status, id).Error; err != nil {
		return fmt.Errorf("update send status: %w", err)
	}
	return nil
}

// ListSuppressions returns a page of the inbox's suppressed addresses.
func (s *Service) ListSuppressions(ctx context.Context, orgID, inboxID, cursor string, limit int) ([]models.Suppression, string, error) {
	q := s.db.DB.WithContext(ctx).Table("suppressions").Where("org_id = ? AND inbox_id = ?", orgID, inboxID)
	if cursor != "" {
		q = q.Where("address > ?", cursor)
	}
	var rows []models.Suppression
	if err := q.Select("address, reason, message_id, created_at").Order("address").Limit(limit + 1).Scan(&rows).Error; err != nil {
		return nil, "", fmt.Errorf("list suppressions: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[limit-1].Address
	}
	return rows, next, nil
}

// DeleteSuppression lets the inbox send to the address again.
func (s *Service) DeleteSuppression(ctx context.Context, orgID, inboxID, address string) error {
	res := s.db.DB.WithContext(ctx).Exec(`DELETE FROM suppressions WHERE org_id = ? AND inbox_id = ? AND address = lower(?)`, orgID, inboxID, address)
	if res.Error != nil {
		return fmt.Errorf("delete suppression: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return models.NotFound("suppression")
	}
	return nil
}
