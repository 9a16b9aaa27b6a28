package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"gent/daemon/audit"
	"gent/daemon/auth"
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
		p, err := a.Auth.Authenticate(c.UserContext(), tok)
		if err != nil {
			return a.deny(c, r, err)
		}
		c.Locals("principal", p)
		if err := r.Policy.authorize(c, p); err != nil {
			return a.deny(c, r, err)
		}
		if wait := a.limiter.take(p.ID()); wait > 0 {
			return &models.Error{Code: models.CodeRateLimited, Message: "too many requests for this credential", RetryAfter: wait}
		}
		var herr error
		// A dry run (?dry_run=true on the send routes) changes nothing:
		// no idempotency record, no audit entry.
		dry := isDryRun(c)
		if r.Method == fiber.MethodPost && c.Get("Idempotency-Key") != "" && !dry {
			herr = a.idempotent(c, p, r.Handler)
		} else {
			herr = r.Handler(c)
		}
		if _, written := herr.(errWritten); herr != nil && !written {
			writeError(c, a.Log, herr)
		}
		if mutates && !r.Policy.SelfAudited && !dry {
			a.auditRequest(c, r, herr)
		}
		return nil
	}
}

// deny records failed authentication and authorization, then returns err.
func (a *API) deny(c *fiber.Ctx, r Route, err error) error {
	writeError(c, a.Log, err)
	p := principal(c)
	e := audit.Entry{ActorType: "anonymous", Action: r.Name, Outcome: audit.Denied,
		Status: c.Response().StatusCode(), RemoteAddr: c.IP(), RequestID: requestID(c),
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
	status := c.Response().StatusCode()
	outcome := audit.Success
	switch {
	case status == 401 || status == 403:
		outcome = audit.Denied
	case status >= 400:
		outcome = audit.Failure
	}
	e := audit.Entry{ActorType: "anonymous", Action: r.Name, Outcome: outcome, Status: status,
		RemoteAddr: c.IP(), RequestID: requestID(c)}
	if p := principal(c); p != nil {
		e.OrgID, e.ActorType, e.ActorID = p.OrgID, p.Kind, p.ID()
	}
	e.TargetID = targetID(c)
	if herr != nil {
		e.Detail = map[string]any{"code": models.ErrorCode(herr)}
	}
	if e.OrgID == "" {
		return // nothing to attach it to
	}
	if err := a.Audit.Record(context.WithoutCancel(c.UserContext()), nil, e); err != nil {
		a.Log.Error("audit request", "err", err)
	}
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

// idempotent replays the stored response for a repeated Idempotency-Key
// with the same body, refuses it with another body, and stores the first
// response otherwise. Keys are scoped to the credential and kept 24 hours.
func (a *API) idempotent(c *fiber.Ctx, p *auth.Principal, h fiber.Handler) error {
	key := c.Get("Idempotency-Key")
	if len(key) > 255 {
		return models.Invalid("Idempotency-Key", "Idempotency-Key must be at most 255 characters")
	}
	sum := sha256.Sum256(append([]byte(c.Method()+" "+c.Path()+"\n"), c.Body()...))
	db := a.Store.DB.WithContext(c.UserContext())
	for attempt := 0; attempt < 2; attempt++ {
		res := db.Exec(`INSERT INTO idempotency_keys (credential_id, key, org_id, method, path, body_hash)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, p.ID(), key, p.OrgID, c.Method(), c.Path(), sum[:])
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 1 {
			herr := h(c)
			if herr != nil {
				writeError(c, a.Log, herr)
				herr = errWritten{herr}
			}
			status := c.Response().StatusCode()
			bg := context.WithoutCancel(c.UserContext())
			if status >= 500 {
				_ = a.Store.DB.WithContext(bg).Exec(`DELETE FROM idempotency_keys WHERE credential_id = ? AND key = ?`, p.ID(), key).Error
				return herr
			}
			body := bytes.Clone(c.Response().Body())
			if err := a.Store.DB.WithContext(bg).Exec(`UPDATE idempotency_keys SET status = ?, content_type = ?, response = ?
				WHERE credential_id = ? AND key = ?`, status, string(c.Response().Header.ContentType()), body, p.ID(), key).Error; err != nil {
				a.Log.Error("store idempotent response", "err", err)
			}
			return herr
		}
		var row struct {
			BodyHash    []byte
			Status      int
			ContentType string
			Response    []byte
			CreatedAt   time.Time
		}
		if err := db.Raw(`SELECT body_hash, status, content_type, response, created_at FROM idempotency_keys
			WHERE credential_id = ? AND key = ?`, p.ID(), key).Scan(&row).Error; err != nil {
			return err
		}
		if row.CreatedAt.IsZero() {
			continue // deleted meanwhile: try again
		}
		if time.Since(row.CreatedAt) > 24*time.Hour {
			_ = db.Exec(`DELETE FROM idempotency_keys WHERE credential_id = ? AND key = ?`, p.ID(), key).Error
			continue
		}
		if !bytes.Equal(row.BodyHash, sum[:]) {
			return &models.Error{Code: models.CodeIdempotencyReused, Field: "Idempotency-Key",
				Message: "this Idempotency-Key was already used with a different request body"}
		}
		if row.Status == 0 {
			return models.Errorf(models.CodeConflict, "a request with this Idempotency-Key is still in progress")
		}
		c.Set("Idempotent-Replayed", "true")
		c.Set(fiber.HeaderContentType, row.ContentType)
		return c.Status(row.Status).Send(row.Response)
	}
	return models.Errorf(models.CodeConflict, "a request with this Idempotency-Key is still in progress")
}

// rateLimiter is a per-credential token bucket (per replica).
type rateLimiter struct {
	perMinute int
	mu        sync.Mutex
	buckets   map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(perMinute int) *rateLimiter {
	return &rateLimiter{perMinute: perMinute, buckets: map[string]*bucket{}}
}

// take spends one request; it returns how long to wait when none is left.
func (l *rateLimiter) take(id string) time.Duration {
	if l.perMinute <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	rate := float64(l.perMinute) / 60
	b, ok := l.buckets[id]
	if !ok {
		if len(l.buckets) > 100000 {
			l.buckets = map[string]*bucket{}
		}
		b = &bucket{tokens: float64(l.perMinute), last: now}
		l.buckets[id] = b
	}
	b.tokens += now.Sub(b.last).Seconds() * rate
	if b.tokens > float64(l.perMinute) {
		b.tokens = float64(l.perMinute)
	}
	b.last = now
	if b.tokens < 1 {
		return time.Duration((1 - b.tokens) / rate * float64(time.Second))
	}
	b.tokens--
	return 0
}

// errWritten wraps a handler error whose response is already written; it
// keeps the code for the audit trail.
type errWritten struct{ error }

func (e errWritten) Unwrap() error { return e.error }
