// Package ratelimit enforces rate limits shared by every replica on one
// database: the state is a row per limited subject in PostgreSQL, read
// and advanced by one atomic statement per request (GCRA, the generic
// cell rate algorithm: a "theoretical arrival time" per limit).
//
// A limit of N per period lets a burst of N through at once and then one
// every period/N; a request costing c spends c of them. A refused request
// spends nothing and learns how long to wait.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"gent/daemon/store"
)

// Limit is N events per Per. N <= 0 is no limit.
type Limit struct {
	N   int
	Per time.Duration
}

// Spend is a limit and what this request costs against it.
type Spend struct {
	Limit
	Cost int
}

// Limiter takes from the shared limits.
type Limiter struct {
	db *store.Store
}

// New returns a limiter on db (table rate_limits).
func New(db *store.Store) *Limiter { return &Limiter{db: db} }

// takeFrom is the statement that spends on the row of the subject that
// source yields (one row with columns key and org_id, or none): allowed
// when each limit's arrival time, advanced by this request's cost, stays
// within one period of now. $p…$p+3 are the two limits' increments and
// periods in seconds.
func takeFrom(source string, p int) string {
	i1, p1, i2, p2 := fmt.Sprintf("$%d", p), fmt.Sprintf("$%d", p+1), fmt.Sprintf("$%d", p+2), fmt.Sprintf("$%d", p+3)
	cond := `(greatest(r.tat1, now()) + make_interval(secs => ` + i1 + `) <= now() + make_interval(secs => ` + p1 + `)
	AND greatest(r.tat2, now()) + make_interval(secs => ` + i2 + `) <= now() + make_interval(secs => ` + p2 + `))`
	return `INSERT INTO rate_limits AS r (key, org_id, tat1, tat2, allowed)
SELECT s.key, s.org_id, now() + make_interval(secs => ` + i1 + `), now() + make_interval(secs => ` + i2 + `), true FROM (` + source + `) s
ON CONFLICT (key) DO UPDATE SET
	allowed = ` + cond + `,
	tat1 = CASE WHEN ` + cond + ` THEN greatest(r.tat1, now()) + make_interval(secs => ` + i1 + `) ELSE r.tat1 END,
	tat2 = CASE WHEN ` + cond + ` THEN greatest(r.tat2, now()) + make_interval(secs => ` + i2 + `) ELSE r.tat2 END
RETURNING allowed, extract(epoch FROM r.tat1 - now())::float8 AS ahead1, extract(epoch FROM r.tat2 - now())::float8 AS ahead2`
}

// cond is the decision of takeFrom(…, 3) without spending (Peek).
const cond = `(greatest(r.tat1, now()) + make_interval(secs => $3) <= now() + make_interval(secs => $4)
	AND greatest(r.tat2, now()) + make_interval(secs => $5) <= now() + make_interval(secs => $6))`

var takeSQL = takeFrom(`SELECT $1::text AS key, $2::text AS org_id`, 3)

const peekSQL = `SELECT ` + cond + `, extract(epoch FROM r.tat1 - now())::float8, extract(epoch FROM r.tat2 - now())::float8
FROM rate_limits r WHERE r.key = $1 AND $2::text IS NOT NULL`

// params turns a spend into (increment, period) in seconds; a spend
// without a limit costs nothing within any period.
func params(s Spend) (inc, per float64) {
	if s.N <= 0 || s.Per <= 0 {
		return 0, 1
	}
	return float64(s.Cost) * s.Per.Seconds() / float64(s.N), s.Per.Seconds()
}

// Take spends a and b (b may be zero) on key in one statement: both or
// neither. It returns 0 when the request may go on, or how long to wait
// before it could. A cost above its limit's N can never pass: the wait
// is the whole period.
func (l *Limiter) Take(ctx context.Context, orgID, key string, a, b Spend) (time.Duration, error) {
	return l.run(ctx, takeSQL, orgID, key, a, b)
}

// Peek answers as Take would, spending nothing (dry runs).
func (l *Limiter) Peek(ctx context.Context, orgID, key string, a, b Spend) (time.Duration, error) {
	return l.run(ctx, peekSQL, orgID, key, a, b)
}

func (l *Limiter) run(ctx context.Context, q, orgID, key string, a, b Spend) (time.Duration, error) {
	for _, s := range []Spend{a, b} {
		if s.N > 0 && s.Cost > s.N {
			return s.Per, nil
		}
	}
	if a.N <= 0 && b.N <= 0 {
		return 0, nil
	}
	inc1, per1 := params(a)
	inc2, per2 := params(b)
	var ok bool
	var ahead1, ahead2 float64
	err := l.db.Pool.QueryRow(ctx, q, key, orgID, inc1, per1, inc2, per2).Scan(&ok, &ahead1, &ahead2)
	if err != nil {
		if q == peekSQL && errors.Is(err, pgx.ErrNoRows) {
			return 0, nil
		}
		return 0, fmt.Errorf("rate limit %s: %w", key, err)
	}
	return Wait(ok, ahead1, ahead2, a, b), nil
}

// Embedded is a Take written into another statement, so that a request
// pays one round trip for, say, its credential lookup and its limit.
type Embedded struct {
	// SQL is a data-modifying statement for a WITH clause: it spends on
	// the row of the subject its source yields and returns allowed,
	// ahead1 and ahead2 (nothing when the source yields no row).
	SQL string
	// Args are its parameters, numbered from the first one given.
	Args []any
}

// Embed returns Take(a, b) as a statement on the subject that source
// yields (an SQL query with columns key and org_id), with parameters
// numbered from first. ok is false when no statement is needed or can
// decide: no limit is set, or a cost is above its limit (call Take).
func Embed(source string, first int, a, b Spend) (e Embedded, ok bool) {
	for _, s := range []Spend{a, b} {
		if s.N > 0 && s.Cost > s.N {
			return e, false
		}
	}
	if a.N <= 0 && b.N <= 0 {
		return e, false
	}
	inc1, per1 := params(a)
	inc2, per2 := params(b)
	return Embedded{SQL: takeFrom(source, first), Args: []any{inc1, per1, inc2, per2}}, true
}

// Wait turns what an embedded Take returned into Take's answer: 0 when
// allowed, else how long to wait.
func Wait(allowed bool, ahead1, ahead2 float64, a, b Spend) time.Duration {
	if allowed {
		return 0
	}
	inc1, per1 := params(a)
	inc2, per2 := params(b)
	// Refused: the wait until every limit's arrival time, plus this
	// cost, is within its period.
	wait := math.Max(math.Max(ahead1+inc1-per1, ahead2+inc2-per2), 0.001)
	return time.Duration(wait * float64(time.Second))
}
