package policy

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/fnv"
	"regexp"
	"strings"
	"time"

	"gorm.io/gorm"

	"gent/daemon/auth"
	"gent/daemon/mail"
	"gent/models"
)

// Recipient is one recipient of a send, with the request field that
// named it (to[0], cc[1], …).
type Recipient struct {
	Address string
	Field   string
}

// Input is a send to evaluate.
type Input struct {
	OrgID      string
	InboxID    string
	Recipients []Recipient
	// TokenHeld: the token's own requires_approval holds email:send.
	TokenHeld bool
	// Draft is the message's content (subject, bodies, attachments) and
	// threading headers.
	Draft mail.Draft
	// Reply: the send answers or forwards a message of this thread, whose
	// loop signals (Auto-Submitted, Precedence, …) are LoopSignal.
	ThreadID   string
	LoopSignal string
	// Policies, when set, are the inbox's and organization's policies as
	// the caller read them for this send (Row); otherwise Evaluate reads
	// them. Reserve uses them too: a policy is read once per send.
	Policies *Policies
}

// Decision is the outcome of an evaluation that did not refuse.
type Decision struct {
	Reasons []models.HoldReason
}

// Held reports whether the send is held for a reviewer.
func (d Decision) Held() bool { return len(d.Reasons) > 0 }

func (d *Decision) hold(code, format string, args ...any) {
	d.Reasons = append(d.Reasons, models.HoldReason{Code: code, Detail: fmt.Sprintf(format, args...)})
}

// Evaluate applies everything of the policy but the budget: a refusal is a
// *models.Error, a hold lists all the reasons that apply. Reserve (inside
// the sending transaction) applies the budget.
func (s *Service) Evaluate(ctx context.Context, in Input) (Decision, error) {
	var d Decision
	db := s.db.DB.WithContext(ctx)
	pols := in.Policies
	if pols == nil {
		var err error
		if pols, err = s.load(ctx, db, in.OrgID, in.InboxID); err != nil {
			return d, err
		}
	}
	p, org := pols.Inbox, pols.Org
	if org.SendingPaused {
		return d, models.Errorf(models.CodeSendingPaused, "sending is paused for the whole organization")
	}
	if p.SendingPaused {
		return d, models.Errorf(models.CodeSendingPaused, "sending is paused for this inbox")
	}
	for _, r := range in.Recipients {
		if matchesAny(r.Address, p.Recipients.Block) || matchesAny(r.Address, org.Block) {
			return d, &models.Error{Code: models.CodeRecipientBlocked, Field: r.Field,
				Message: fmt.Sprintf("%s (%s) is on a block list of this inbox or organization", r.Field, r.Address)}
		}
	}
	if p.LoopGuard && len(in.Draft.References) > maxReferences {
		return d, models.Errorf(models.CodeLoopGuard, "the thread has %d References (more than %d): a mail loop is likely", len(in.Draft.References), maxReferences)
	}
	if in.TokenHeld {
		d.hold(models.HoldTokenRequiresApproval, "the token requires approval for email:send")
	}
	if len(p.Recipients.Allow) > 0 {
		var outside []string
		for _, r := range in.Recipients {
			if !matchesAny(r.Address, p.Recipients.Allow) {
				outside = append(outside, r.Address)
			}
		}
		if len(outside) > 0 {
			if p.Recipients.OutsideAllow == "refuse" {
				for _, r := range in.Recipients {
					if !matchesAny(r.Address, p.Recipients.Allow) {
						return d, &models.Error{Code: models.CodeRecipientBlocked, Field: r.Field,
							Message: fmt.Sprintf("%s (%s) is not on this inbox's allow list", r.Field, r.Address)}
					}
				}
			}
			d.hold(models.HoldOutsideAllow, "not on the allow list: %s", strings.Join(outside, ", "))
		}
	}
	if p.FirstContact == "hold" {
		firsts, err := s.firstContacts(db, in)
		if err != nil {
			return d, err
		}
		if len(firsts) > 0 {
			d.hold(models.HoldFirstContact, "never exchanged mail with: %s", strings.Join(firsts, ", "))
		}
	}
	if p.LoopGuard {
		if in.LoopSignal != "" {
			d.hold(models.HoldLoopRisk, "the message answered is automatic mail (%s)", in.LoopSignal)
		}
		if in.ThreadID != "" {
			var n int64
			if err := db.Raw(`SELECT count(*) FROM messages WHERE thread_id = ? AND inbox_id = ? AND direction = 'outbound'
				AND created_at > now() - interval '1 hour'`, in.ThreadID, in.InboxID).Scan(&n).Error; err != nil {
				return d, fmt.Errorf("count thread sends: %w", err)
			}
			if n >= maxThreadSendsPerHour {
				d.hold(models.HoldLoopRisk, "this inbox already sent %d messages in this thread in the last hour", n)
			}
		}
	}
	if kinds := Secrets(in.Draft); len(kinds) > 0 {
		d.hold(models.HoldSecretDetected, "the message carries %s", strings.Join(kinds, ", "))
	}
	return d, nil
}

const (
	maxReferences         = 100
	maxThreadSendsPerHour = 10
)

// firstContactSQL finds which of the (lower-cased) addresses the inbox
// has exchanged mail with: a contact it received mail from (contacts keeps
// addresses lower-cased, unique per inbox), or a delivered recipient of
// one of its sends (indexed per inbox on lower(address), delivered rows
// only). Each address is an index probe on each table, whatever the
// number of contacts or sends.
const firstContactSQL = `SELECT address FROM contacts WHERE inbox_id = ? AND address IN ? AND received_count > 0
		UNION SELECT lower(address) FROM delivery_recipients
		WHERE inbox_id = ? AND status = 'delivered' AND lower(address) IN ?`

// firstContacts lists the recipients the inbox has never exchanged mail
// with: no message received from them, nothing delivered to them.
func (s *Service) firstContacts(db *gorm.DB, in Input) ([]string, error) {
	if len(in.Recipients) == 0 {
		return nil, nil
	}
	addrs := make([]string, len(in.Recipients))
	for i, r := range in.Recipients {
		addrs[i] = strings.ToLower(r.Address)
	}
	var known []string
	if err := db.Raw(firstContactSQL, in.InboxID, addrs, in.InboxID, addrs).Scan(&known).Error; err != nil {
		return nil, fmt.Errorf("look up contacts: %w", err)
	}
	seen := map[string]bool{}
	for _, k := range known {
		seen[k] = true
	}
	var out []string
	for _, a := range addrs {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out, nil
}

// Reserve applies the budget inside the sending transaction: it takes the
// inbox's policy lock (so concurrent sends, on any replica, count one
// after the other) and counts the recipients of the sends accepted in the
// last hour and day. Over the budget it refuses (429 with Retry-After) or
// adds a budget hold to d. Without a budget it takes no lock.
func (s *Service) Reserve(ctx context.Context, tx *gorm.DB, in Input, d *Decision) error {
	var p *models.InboxPolicy
	if in.Policies != nil {
		p = in.Policies.Inbox
	} else {
		var err error
		if p, err = s.get(ctx, tx, in.OrgID, in.InboxID); err != nil {
			return err
		}
	}
	if p.Budget.PerHour == nil && p.Budget.PerDay == nil {
		return nil
	}
	if err := tx.Exec(`SELECT pg_advisory_xact_lock(?)`, lockKey(in.InboxID)).Error; err != nil {
		return fmt.Errorf("lock send budget: %w", err)
	}
	return s.checkBudget(tx, p, in, d)
}

// CheckBudget is Reserve without the lock, for dry runs: it reads the
// counts and changes nothing.
func (s *Service) CheckBudget(ctx context.Context, in Input, d *Decision) error {
	db := s.db.DB.WithContext(ctx)
	p, err := s.get(ctx, db, in.OrgID, in.InboxID)
	if err != nil {
		return err
	}
	return s.checkBudget(db, p, in, d)
}

func (s *Service) checkBudget(db *gorm.DB, p *models.InboxPolicy, in Input, d *Decision) error {
	if p.Budget.PerHour == nil && p.Budget.PerDay == nil {
		return nil
	}
	for _, w := range []struct {
		limit  *int
		window time.Duration
		name   string
	}{{p.Budget.PerHour, time.Hour, "hour"}, {p.Budget.PerDay, 24 * time.Hour, "day"}} {
		if w.limit == nil {
			continue
		}
		var c struct {
			Used   int
			Oldest *time.Time
			Now    time.Time
		}
		if err := db.Raw(`SELECT coalesce(sum(recipient_count), 0) AS used, min(created_at) AS oldest, clock_timestamp() AS now
			FROM outbound_messages WHERE inbox_id = ? AND created_at > clock_timestamp() - make_interval(secs => ?)
			AND status NOT IN ('rejected', 'expired')`,
			in.InboxID, w.window.Seconds()).Scan(&c).Error; err != nil {
			return fmt.Errorf("count send budget: %w", err)
		}
		if c.Used+len(in.Recipients) <= *w.limit {
			continue
		}
		if p.Budget.OnExceed == "hold" {
			d.hold(models.HoldBudget, "%d recipients in the last %s with this send; the budget is %d", c.Used+len(in.Recipients), w.name, *w.limit)
			continue
		}
		wait := w.window
		if c.Oldest != nil {
			wait = c.Oldest.Add(w.window).Sub(c.Now)
		}
		return &models.Error{Code: models.CodeSendBudgetExceeded, RetryAfter: max(wait, time.Second),
			Message: fmt.Sprintf("this inbox may send to %d recipients per %s; %d so far, this send has %d", *w.limit, w.name, c.Used, len(in.Recipients))}
	}
	return nil
}

func lockKey(inboxID string) int64 {
	h := fnv.New64a()
	h.Write([]byte("gent.policy.budget:" + inboxID))
	return int64(h.Sum64())
}

var (
	reGentToken = regexp.MustCompile(`gent_[0-9A-Za-z]{36}`)
	// Each kind has the literal strings every match contains (any of
	// them): a text without one is not scanned with the expression, which
	// is most texts, and most of the cost of scanning every send.
	secretKinds = []struct {
		kind    string
		literal []string
		re      *regexp.Regexp
	}{
		{"a PEM private key", []string{"PRIVATE KEY"}, regexp.MustCompile(`-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----`)},
		{"an AWS access key id", []string{"AKIA", "ASIA"}, regexp.MustCompile(`\b(AKIA|ASIA)[0-9A-Z]{16}\b`)},
		{"a Google API key", []string{"AIza"}, regexp.MustCompile(`\bAIza[0-9A-Za-z_\-]{35}\b`)},
		{"an Azure storage account key", []string{"AccountKey="}, regexp.MustCompile(`AccountKey=[A-Za-z0-9+/]{40,}={0,2}`)},
		{"a JWT", []string{"eyJ"}, regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}`)},
		{"a webhook signing secret", []string{"whsec_"}, regexp.MustCompile(`\bwhsec_[A-Za-z0-9+/=_-]{16,}`)},
		{"a Gent session value", []string{"gses_"}, regexp.MustCompile(`\bgses_[A-Za-z0-9_-]{16,}`)},
	}
)

func containsAny(s string, literals []string) bool {
	for _, l := range literals {
		if strings.Contains(s, l) {
			return true
		}
	}
	return false
}

// Secrets names the kinds of secret found in a message's subject, bodies
// and text attachments (never the secrets themselves).
func Secrets(d mail.Draft) []string {
	texts := []string{d.Subject, d.Text, d.HTML}
	for _, a := range d.Attachments {
		ct := strings.ToLower(a.ContentType)
		if strings.HasPrefix(ct, "text/") || strings.Contains(ct, "json") || strings.Contains(ct, "xml") ||
			strings.Contains(ct, "x-pem") || ct == "" || ct == "application/octet-stream" {
			if b, err := base64.StdEncoding.DecodeString(a.ContentBase64); err == nil {
				texts = append(texts, string(b))
			}
		}
	}
	var kinds []string
	add := func(k string) {
		for _, x := range kinds {
			if x == k {
				return
			}
		}
		kinds = append(kinds, k)
	}
	for _, t := range texts {
		if strings.Contains(t, "gent_") {
			for _, m := range reGentToken.FindAllString(t, -1) {
				if auth.ValidTokenFormat(m) {
					add("a Gent agent token")
					break
				}
			}
		}
		for _, k := range secretKinds {
			if containsAny(t, k.literal) && k.re.MatchString(t) {
				add(k.kind)
			}
		}
	}
	return kinds
}

// Edit is a reviewer's edit of a held send, for CheckEdit: the message
// before and after the edit, the recipients after it (with the request
// fields that named them, edits.to[0] …) and how many it had before.
type Edit struct {
	OrgID, InboxID string
	Before, After  mail.Draft
	// Recipients are the edited send's recipients; RecipientsEdited says
	// whether the edit named any (to, cc or bcc).
	Recipients       []Recipient
	RecipientsEdited bool
	// BeforeCount is how many recipients the held send had (and its
	// budget counts).
	BeforeCount int
}

// CheckEdit re-checks the parts of the policy that a reviewer's edit of a
// held send can change, inside the approving transaction tx. A reviewer
// approving is the decision on every hold, so only what would refuse
// counts:
//   - recipients: the block lists and an allow list that refuses
//     (422 recipient_blocked, field edits.to[i]);
//   - budget: recipients the edit adds are counted against a budget that
//     refuses, under the inbox's budget lock, as a new send's would be
//     (429 send_budget_exceeded with Retry-After); the held send's own
//     recipients were counted when it was accepted;
//   - secrets: the edit may not add a kind of secret the held message did
//     not carry (422 validation_failed, field edits.subject|text|html): a
//     secret the agent wrote was a hold the reviewer now decides, one the
//     reviewer pastes in was never reviewed.
//
// Paused sending needs no check here: a paused inbox's released send waits
// in the queue until sending resumes.
func (s *Service) CheckEdit(ctx context.Context, tx *gorm.DB, e Edit) error {
	p, err := s.get(ctx, tx, e.OrgID, e.InboxID)
	if err != nil {
		return err
	}
	if e.RecipientsEdited {
		org, err := s.getOrg(tx, e.OrgID)
		if err != nil {
			return err
		}
		if err := checkRecipients(p, org, e.Recipients); err != nil {
			return err
		}
	}
	if err := checkEditSecrets(e); err != nil {
		return err
	}
	added := len(e.Recipients) - e.BeforeCount
	if added <= 0 || (p.Budget.PerHour == nil && p.Budget.PerDay == nil) || p.Budget.OnExceed != "refuse" {
		return nil
	}
	if err := tx.Exec(`SELECT pg_advisory_xact_lock(?)`, lockKey(e.InboxID)).Error; err != nil {
		return fmt.Errorf("lock send budget: %w", err)
	}
	in := Input{OrgID: e.OrgID, InboxID: e.InboxID, Recipients: e.Recipients[:added]}
	var d Decision
	if err := s.checkBudget(tx, p, in, &d); err != nil {
		var me *models.Error
		if errors.As(err, &me) {
			c := *me
			c.Field = "edits"
			c.Message = fmt.Sprintf("the edit adds %d recipients: %s", added, me.Message)
			return &c
		}
		return err
	}
	return nil
}

// checkEditSecrets refuses an edit that adds a kind of secret the held
// message did not carry, naming the edited field that carries it.
func checkEditSecrets(e Edit) error {
	had := map[string]bool{}
	for _, k := range Secrets(e.Before) {
		had[k] = true
	}
	for _, f := range []struct {
		field         string
		before, after string
	}{{"subject", e.Before.Subject, e.After.Subject}, {"text", e.Before.Text, e.After.Text}, {"html", e.Before.HTML, e.After.HTML}} {
		if f.before == f.after {
			continue
		}
		for _, k := range Secrets(mail.Draft{Text: f.after}) {
			if !had[k] {
				return &models.Error{Code: models.CodeValidation, Field: "edits." + f.field,
					Message: fmt.Sprintf("the edited %s carries %s, which the held message did not: a reviewer's edit cannot add a secret (remove it, or reject the send)", f.field, k)}
			}
		}
	}
	return nil
}

// checkRecipients applies the block lists and a refusing allow list.
func checkRecipients(p *models.InboxPolicy, org *models.OrgPolicy, rcpts []Recipient) error {
	for _, r := range rcpts {
		if matchesAny(r.Address, p.Recipients.Block) || matchesAny(r.Address, org.Block) {
			return &models.Error{Code: models.CodeRecipientBlocked, Field: r.Field,
				Message: fmt.Sprintf("%s (%s) is on a block list of this inbox or organization", r.Field, r.Address)}
		}
		if len(p.Recipients.Allow) > 0 && p.Recipients.OutsideAllow == "refuse" && !matchesAny(r.Address, p.Recipients.Allow) {
			return &models.Error{Code: models.CodeRecipientBlocked, Field: r.Field,
				Message: fmt.Sprintf("%s (%s) is not on this inbox's allow list", r.Field, r.Address)}
		}
	}
	return nil
}
