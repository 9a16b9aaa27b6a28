package metrics

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultQueueTTL is how long one reading of the queue from the database
// serves scrapes: several Prometheus servers (or a fast scrape interval)
// cost one query per TTL.
const DefaultQueueTTL = 5 * time.Second

// queueQuery counts the outbound recipients waiting for an attempt, by
// state, and the sends held for a reviewer — the same reading as
// delivery.QueueDepth (a held, rejected or expired send's recipients have
// statuses of their own), served by delivery_recipients_status_idx; the
// held count by approvals_expiry_idx (partial, status = 'pending').
const queueQuery = `SELECT status, count(*) FROM delivery_recipients WHERE status IN ('queued', 'deferred') GROUP BY status
UNION ALL SELECT 'held', count(*) FROM approvals WHERE status = 'pending'`

// queueCollector reads the queue depth at scrape, at most once per TTL.
type queueCollector struct {
	db    *sql.DB
	ttl   *atomic.Int64 // Metrics.queueTTL
	depth *prometheus.Desc
	held  *prometheus.Desc
	up    *prometheus.Desc

	mu     sync.Mutex
	at     time.Time
	counts map[string]float64
	err    error
}

// AddQueue registers gent_queue_depth{state} and gent_held_sends, read
// from the database at scrape (cached for DefaultQueueTTL).
func (m *Metrics) AddQueue(db *sql.DB) {
	if m == nil || db == nil {
		return
	}
	m.Registry.MustRegister(newQueueCollector(db, &m.queueTTL))
}

// SetQueueTTL changes how long a reading of the queue serves scrapes
// (tests set 0: every scrape reads the database).
func (m *Metrics) SetQueueTTL(d time.Duration) { m.queueTTL.Store(int64(d)) }

func newQueueCollector(db *sql.DB, ttl *atomic.Int64) *queueCollector {
	return &queueCollector{db: db, ttl: ttl,
		depth: prometheus.NewDesc("gent_queue_depth", "Outbound recipients waiting for a delivery attempt, by state (queued, deferred).", []string{"state"}, nil),
		held:  prometheus.NewDesc("gent_held_sends", "Sends held for a reviewer (pending approvals).", nil, nil),
		up: prometheus.NewDesc("gent_queue_scrape_ok", "1 when the last reading of the queue from the database succeeded, else 0 (the queue gauges are then absent).",
			nil, nil)}
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.depth
	ch <- c.held
	ch <- c.up
}

func (c *queueCollector) read() (map[string]float64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && time.Since(c.at) < time.Duration(c.ttl.Load()) {
		return c.counts, c.err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts := map[string]float64{"queued": 0, "deferred": 0, "held": 0}
	err := func() error {
		rows, err := c.db.QueryContext(ctx, queueQuery)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var state string
			var n int64
			if err := rows.Scan(&state, &n); err != nil {
				return err
			}
			counts[state] = float64(n)
		}
		return rows.Err()
	}()
	c.at, c.counts, c.err = time.Now(), counts, err
	return counts, err
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	counts, err := c.read()
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	for _, s := range []string{"queued", "deferred"} {
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, counts[s], s)
	}
	ch <- prometheus.MustNewConstMetric(c.held, prometheus.GaugeValue, counts["held"])
}
