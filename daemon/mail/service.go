// Package mail holds inboxes and their messages: creation and deletion of
// inboxes, the message store, threads and search.
package mail

import (
	"context"
	"log/slog"
	"sync"

	"gorm.io/gorm"

	"gent/daemon/events"
	"gent/daemon/jobs"
	"gent/daemon/metrics"
	"gent/daemon/store"
)

type Service struct {
	db     *store.Store
	events *events.Service
	jobs   *jobs.Jobs
	log    *slog.Logger

	purgers   []Purger
	limits    Limits
	hostname  string // names this server in Received fields
	usageHook UsageHook

	metrics *metrics.Metrics

	commitMu  sync.Mutex
	committer *Committer // group commit (StartCommitter)
	hooks     commitHooks
}

func NewService(db *store.Store, ev *events.Service, log *slog.Logger) *Service {
	s := &Service{db: db, events: ev, log: log, limits: DefaultLimits}
	s.AddPurger(s.purgeMessages)
	s.AddPurger(s.purgeThreads)
	return s
}

// SetMetrics makes the service count the messages it stores.
func (s *Service) SetMetrics(m *metrics.Metrics) { s.metrics = m }

// SetHostname sets the name this server gives itself in trace fields.
func (s *Service) SetHostname(h string) { s.hostname = h }

// SetLimits sets the MIME parsing limits (smtp.max_header_bytes,
// smtp.max_mime_parts, smtp.max_mime_depth).
func (s *Service) SetLimits(l Limits) { s.limits = l.withDefaults() }

// Limits returns the MIME parsing limits.
func (s *Service) Limits() Limits { return s.limits }

// DB returns the store the service works on (for callers that open
// transactions around Store).
func (s *Service) DB() *store.Store { return s.db }

// SetUsageHook sets the function that runs inside the transaction of a
// usage change that crosses an alert boundary (the caps service's; set at
// wiring time, so that mail does not import caps).
func (s *Service) SetUsageHook(h UsageHook) { s.usageHook = h }

// SetJobs gives the service the job client (built after the workers are
// registered).
func (s *Service) SetJobs(j *jobs.Jobs) { s.jobs = j }

// UsageHook runs inside the transaction that changed an inbox's usage, with
// the inbox row locked, when the change crossed one of the alert bounds the
// caps service keeps on the inbox (alertCheck); usedBytes is the new usage.
// An error rolls the change back.
type UsageHook func(ctx context.Context, tx *gorm.DB, orgID, inboxID string, usedBytes int64) error

// alertCheck is the SQL condition, evaluated in RETURNING on the updated
// inbox row, that says a usage change has alert work to do: an armed
// threshold is reached, or a fired one is left below. Otherwise a change
// costs the caps service nothing.
const alertCheck = `((cap_alert_at IS NOT NULL AND used_bytes >= cap_alert_at)
	OR (cap_rearm_below IS NOT NULL AND used_bytes < cap_rearm_below)) AS alert_check`

// usageChanged runs the usage hook when alertCheck said so.
func (s *Service) usageChanged(ctx context.Context, tx *gorm.DB, check bool, orgID, inboxID string, used int64) error {
	if !check || s.usageHook == nil {
		return nil
	}
	return s.usageHook(ctx, tx, orgID, inboxID, used)
}
