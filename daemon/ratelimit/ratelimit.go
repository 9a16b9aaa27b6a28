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

// gcra is the decision for both limits of a row: allowed when each
// limit's arrival time, advanced by this request's cost, stays within
// one period of now.
const cond = `(greatest(r.tat1, now()) + make_interval(secs => $3) <= now() + make_interval(secs => $4)
	AND greatest(r.tat2, now()) + make_interval(secs => $5) <= now() + make_interval(secs => $6))`

const takeSQL = `INSERT INTO rate_limits AS r (key, org_id, tat1, tat2, allowed)
VALUES ($1, $2, now() + make_interval(secs => $3), now() + make_interval(secs => $5), true)
ON CONFLICT (key) DO UPDATE SET
	allowed = ` + cond + `,
	tat1 = CASE WHEN ` + cond + ` THEN greatest(r.tat1, now()) + make_interval(secs => $3) ELSE r.tat1 END,
	tat2 = CASE WHEN ` + cond + ` THEN greatest(r.tat2, now()) + make_interval(secs => $5) ELSE r.tat2 END
RETURNING allowed, extract(epoch FROM r.tat1 - now())::float8, extract(epoch FROM r.tat2 - now())::float8`

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
	if ok {
		return 0, nil
	}
	// Refused: the wait until every limit's arrival time, plus this
	// cost, is within its period.
	wait := math.Max(math.Max(ahead1+inc1-per1, ahead2+inc2-per2), 0.001)
	return time.Duration(wait * float64(time.Second)), nil
}
