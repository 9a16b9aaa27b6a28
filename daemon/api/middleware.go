package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"gent/daemon/audit"
	"gent/daemon/auth"
	"gent/daemon/ratelimit"
	"gent/daemon/store"
	"gent/models"
)

// wrap builds one route's chain: authenticate, authorize, rate-limit,
// idempotency, run, audit.
func (a *API) wrap(r Route) fiber.Handler {
	mutates := r.Method != fiber.MethodGet && r.Method != fiber.MethodHead
	return func(c *fiber.Ctx) error {
		if r.Policy.Public {
			err := r.Handler(c)
			if err != nil {
				writeError(c, a.Log, err)
			}
			if mutates && !r.Policy.SelfAudited {
				a.auditRequest(c, r, err)
			}
			return nil
		}
		tok := bearer(c)
		if tok == "" {
			return a.deny(c, r, models.Errorf(models.CodeUnauthorized, "missing credential: send Authorization: Bearer <session or token>"))
		}
		// The limit is per credential and shared by every replica (a row
		// on the database; nothing when http.rate_limit_per_minute is 0).
		// An agent token's is spent by the statement that finds the token
		// (one round trip for both, so a request the policy then refuses
		// has spent it too); a session's, after authorization, by one
		// statement of its own.
		lim := ratelimit.Spend{Limit: ratelimit.Limit{N: a.Config.HTTP.RateLimitPerMinute, Per: time.Minute}, Cost: 1}
		p, wait, limited, err := a.Auth.AuthenticateLimited(c.UserContext(), tok, lim)
		if err != nil {
			return a.deny(c, r, err)
		}
		c.Locals("principal", p)
		if err := r.Policy.authorize(c, p); err != nil {
			return a.deny(c, r, err)
		}
		if !limited {
			if wait, err = a.limiter.Take(c.UserContext(), p.OrgID, "http:"+p.ID(), lim, ratelimit.Spend{}); err != nil {
				return err
			}
		}
		if wait > 0 {
			return &models.Error{Code: models.CodeRateLimited, Message: "too many requests for this credential", RetryAfter: wait}
		}
		var herr error
		// A dry run (?dry_run=true on the send routes) changes nothing:
		// no idempotency record, no audit entry.
		dry := isDryRun(c)
		audited := mutates && !r.Policy.SelfAudited && !dry
		if audited {
			c.Locals(auditActionKey, r.Name)
		}
		if r.Method == fiber.MethodPost && c.Get("Idempotency-Key") != "" && !dry {
			herr = a.idempotent(c, p, r.Handler)
		} else {
			herr = r.Handler(c)
		}
		if _, written := herr.(errWritten); herr != nil && !written {
			writeError(c, a.Log, herr)
		}
		if done, _ := c.Locals(auditedKey).(bool); audited && !done {
			a.auditRequest(c, r, herr)
		}
		return nil
	}
}

// Locals of a request's audit entry: the action to record (set for the
// routes the middleware audits), and whether the handler recorded the
// entry itself, in the transaction of its effect (a send).
const (
	auditActionKey = "audit_action"
	auditedKey     = "audited"
)

// auditInTx returns the entry the middleware would record for a success
// answered with status, for a handler that records it in the transaction
// of its effect, and marks the request audited once done is called; nil
// when the route is not audited by the middleware.
func (a *API) auditInTx(c *fiber.Ctx, status int) (e *audit.Entry, done func()) {
	action, _ := c.Locals(auditActionKey).(string)
	if action == "" {
		return nil, func() {}
	}
	entry := a.auditEntry(c, action, status, nil)
	if entry.OrgID == "" {
		return nil, func() {}
	}
	return &entry, func() { c.Locals(auditedKey, true) }
}

// deny records failed authentication and authorization, then returns err.
func (a *API) deny(c *fiber.Ctx, r Route, err error) error {
	writeError(c, a.Log, err)
	p := principal(c)
	e := audit.Entry{ActorType: "anonymous", Action: r.Name, Outcome: audit.Denied,
		Status: c.Response().StatusCode(), RemoteAddr: clientIP(c), RequestID: requestID(c),
		Detail: map[string]any{"code": models.ErrorCode(err)}}
	if p != nil {
		e.OrgID, e.ActorType, e.ActorID = p.OrgID, p.Kind, p.ID()
	}
	if err := a.Audit.Record(context.WithoutCancel(c.UserContext()), nil, e); err != nil {
		a.Log.Error("audit denied request", "err", err)
	}
	return nil
}

// auditRequest records a mutation with its outcome.
func (a *API) auditRequest(c *fiber.Ctx, r Route, herr error) {
	e := a.auditEntry(c, r.Name, c.Response().StatusCode(), herr)
	if e.OrgID == "" {
		return // nothing to attach it to
	}
	if err := a.Audit.Record(context.WithoutCancel(c.UserContext()), nil, e); err != nil {
		a.Log.Error("audit request", "err", err)
	}
}

// auditEntry is the audit entry of a request answered with status.
func (a *API) auditEntry(c *fiber.Ctx, action string, status int, herr error) audit.Entry {
	e := audit.Entry{ActorType: "anonymous", Action: action, Outcome: outcomeOf(status), Status: status,
		RemoteAddr: clientIP(c), RequestID: requestID(c)}
	if p := principal(c); p != nil {
		e.OrgID, e.ActorType, e.ActorID = p.OrgID, p.Kind, p.ID()
	}
	e.TargetID = targetID(c)
	if herr != nil {
		e.Detail = map[string]any{"code": models.ErrorCode(herr)}
	}
	return e
}

// outcomeOf is the audit outcome of a request answered with status.
func outcomeOf(status int) string {
	switch {
	case status == 401 || status == 403:
		return audit.Denied
	case status >= 400:
		return audit.Failure
	}
	return audit.Success
}

// targetID is the object acted on: the last path id, or the id of a
// created object.
func targetID(c *fiber.Ctx) string {
	for _, k := range []string{"id", "inbox_id"} {
		if v := c.Params(k); v != "" {
			return v
		}
	}
	var body struct {
		ID string `json:"id"`
	}
	if c.Response().StatusCode() < 300 && json.Unmarshal(c.Response().Body(), &body) == nil {
		return body.ID
	}
	return ""
}

// idempotencyLease is how long an Idempotency-Key in progress stays held
// without its request renewing it (every third of it while it runs). A
// key whose lease expired belongs to a request that is no longer running
// (its daemon died): a retry resolves it.
const idempotencyLease = 30 * time.Second

// idempotent replays the stored response for a repeated Idempotency-Key
// with the same body, refuses it with another body, and stores the first
// response otherwise. Keys are scoped to the credential and kept 24 hours.
//
// The running request holds the key under a lease and an owner (see
// store.Claim); its transactions mark the key when they commit its effect,
// and sends record their answer in the same transaction. A retry that
// finds the key in progress with its lease expired replays the recorded
// answer, or, when no effect committed, takes the key over (a new owner,
// which makes any late transaction of the old request roll back) and runs
// the request again.
func (a *API) idempotent(c *fiber.Ctx, p *auth.Principal, h fiber.Handler) error {
	key := c.Get("Idempotency-Key")
	if len(key) > 255 {
		return models.Invalid("Idempotency-Key", "Idempotency-Key must be at most 255 characters")
	}
	sum := sha256.Sum256(append([]byte(c.Method()+" "+c.Path()+"\n"), c.Body()...))
	db := a.Store.DB.WithContext(c.UserContext())
	lease := fmt.Sprintf("%d milliseconds", idempotencyLease.Milliseconds())
	cl := &store.Claim{CredentialID: p.ID(), Key: key, Owner: models.NewID("")}
	for attempt := 0; attempt < 3; attempt++ {
		res := db.Exec(`INSERT INTO idempotency_keys (credential_id, key, org_id, method, path, body_hash, owner, lease_until)
			VALUES (?, ?, ?, ?, ?, ?, ?, now() + ?::interval) ON CONFLICT DO NOTHING`,
			p.ID(), key, p.OrgID, c.Method(), c.Path(), sum[:], cl.Owner, lease)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 1 {
			return a.runClaimed(c, cl, h)
		}
		var row struct {
			BodyHash        []byte
			Status          int
			ContentType     string
			Response        []byte
			CreatedAt       time.Time
			Owner           string
			EffectCommitted bool
			LeaseLeftMs     int64
		}
		if err := db.Raw(`SELECT body_hash, status, content_type, response, created_at, owner, effect_committed,
				(extract(epoch FROM lease_until - now()) * 1000)::bigint AS lease_left_ms
			FROM idempotency_keys WHERE credential_id = ? AND key = ?`, p.ID(), key).Scan(&row).Error; err != nil {
			return err
		}
		if row.CreatedAt.IsZero() {
			continue // deleted meanwhile: try again
		}
		if time.Since(row.CreatedAt) > 24*time.Hour {
			_ = db.Exec(`DELETE FROM idempotency_keys WHERE credential_id = ? AND key = ? AND created_at = ?`, p.ID(), key, row.CreatedAt).Error
			continue
		}
		if !bytes.Equal(row.BodyHash, sum[:]) {
			return &models.Error{Code: models.CodeIdempotencyReused, Field: "Idempotency-Key",
				Message: "this Idempotency-Key was already used with a different request body"}
		}
		if row.Status != 0 {
			c.Set("Idempotent-Replayed", "true")
			c.Set(fiber.HeaderContentType, row.ContentType)
			return c.Status(row.Status).Send(row.Response)
		}
		if row.LeaseLeftMs > 0 {
			return &models.Error{Code: models.CodeConflict, Message: "a request with this Idempotency-Key is still in progress",
				RetryAfter: time.Duration(row.LeaseLeftMs) * time.Millisecond}
		}
		// The request that holds the key is no longer running.
		if row.EffectCommitted {
			return models.Errorf(models.CodeConflict, "a request with this Idempotency-Key was carried out, but the daemon stopped "+
				"before recording its response: look up its result instead of retrying it")
		}
		// Nothing of it committed: take the key over and run the request
		// again. Waits for (and then loses to) a transaction of the old
		// request that is committing right now.
		res = db.Exec(`UPDATE idempotency_keys SET owner = ?, lease_until = now() + ?::interval
			WHERE credential_id = ? AND key = ? AND owner = ? AND status = 0 AND NOT effect_committed AND lease_until <= now()`,
			cl.Owner, lease, p.ID(), key, row.Owner)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 1 {
			a.Log.Info("idempotency key abandoned by a stopped request; running it again", "credential", p.ID())
			return a.runClaimed(c, cl, h)
		}
	}
	return models.Errorf(models.CodeConflict, "a request with this Idempotency-Key is still in progress")
}

// runClaimed runs the handler under the claim, renewing its lease while it
// runs, then stores its response for replays.
func (a *API) runClaimed(c *fiber.Ctx, cl *store.Claim, h fiber.Handler) error {
	ctx := c.UserContext()
	bg := context.WithoutCancel(ctx)
	db := a.Store.DB.WithContext(bg)
	lease := fmt.Sprintf("%d milliseconds", idempotencyLease.Milliseconds())
	done := make(chan struct{})
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(idempotencyLease / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if err := db.Exec(`UPDATE idempotency_keys SET lease_until = now() + ?::interval
					WHERE credential_id = ? AND key = ? AND owner = ? AND status = 0`, lease, cl.CredentialID, cl.Key, cl.Owner).Error; err != nil {
					a.Log.Warn("renew idempotency key lease", "err", err)
				}
			}
		}
	}()
	c.SetUserContext(store.WithClaim(ctx, cl))
	herr := h(c)
	c.SetUserContext(ctx)
	close(done)
	<-renewed
	if herr != nil {
		writeError(c, a.Log, herr)
		herr = errWritten{herr}
	}
	status := c.Response().StatusCode()
	if status >= 500 {
		// Not an answer to replay. If nothing committed, free the key so
		// that a retry runs again; if something did, end the lease now so
		// that a retry learns it at once.
		_ = db.Exec(`DELETE FROM idempotency_keys WHERE credential_id = ? AND key = ? AND owner = ? AND status = 0 AND NOT effect_committed`,
			cl.CredentialID, cl.Key, cl.Owner).Error
		_ = db.Exec(`UPDATE idempotency_keys SET lease_until = now() WHERE credential_id = ? AND key = ? AND owner = ? AND status = 0`,
			cl.CredentialID, cl.Key, cl.Owner).Error
		return herr
	}
	body := bytes.Clone(c.Response().Body())
	if field, _ := c.Locals(secretFieldKey).(string); field != "" && status < 300 {
		body = withoutSecret(body, field)
	}
	if err := db.Exec(`UPDATE idempotency_keys SET status = ?, content_type = ?, response = ?
		WHERE credential_id = ? AND key = ? AND owner = ?`, status, string(c.Response().Header.ContentType()), body,
		cl.CredentialID, cl.Key, cl.Owner).Error; err != nil {
		a.Log.Error("store idempotent response", "err", err)
	}
	return herr
}

// secretFieldKey names, in a request's locals, the field of its response
// that holds a secret shown once (a token, a signing secret).
const secretFieldKey = "secret_field"

// shownOnce declares that the response's field holds a secret that is
// shown once: a replay of the request (Idempotency-Key) answers the object
// without it, and it is never stored.
func shownOnce(c *fiber.Ctx, field string) { c.Locals(secretFieldKey, field) }

// secretNote is the note a replay carries in place of a secret.
const secretNote = "the secret was shown once, in the first response to this request, and is not kept: it cannot be shown again"

// withoutSecret is the replay of a response holding a secret: the same
// object with field null, secret_shown_once true and a note (see
// docs/api.md). The migration 00015 rewrites older rows the same way.
func withoutSecret(body []byte, field string) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		m = map[string]json.RawMessage{}
	}
	note, _ := json.Marshal(secretNote)
	m[field] = json.RawMessage("null")
	m["secret_shown_once"] = json.RawMessage("true")
	m["note"] = note
	out, _ := json.Marshal(m)
	return out
}

// errWritten wraps a handler error whose response is already written; it
// keeps the code for the audit trail.
type errWritten struct{ error }

func (e errWritten) Unwrap() error { return e.error }
