// Package mail holds inboxes and their messages: creation and deletion of
// inboxes, the message store, threads and search.
package mail

import (
	"log/slog"
	"sync"

	"gent/daemon/events"
	"gent/daemon/jobs"
	"gent/daemon/store"
)

type Service struct {
	db     *store.Store
	events *events.Service
	jobs   *jobs.Jobs
	log    *slog.Logger

	purgers  []Purger
	limits   Limits
	hostname string // names this server in Received fields

	commitMu  sync.Mutex
	committer *Committer // group commit (StartCommitter)
}

func NewService(db *store.Store, ev *events.Service, log *slog.Logger) *Service {
	s := &Service{db: db, events: ev, log: log, limits: DefaultLimits}
	s.AddPurger(s.purgeMessages)
	s.AddPurger(s.purgeThreads)
	return s
}

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

// SetJobs gives the service the job client (built after the workers are
// registered).
func (s *Service) SetJobs(j *jobs.Jobs) { s.jobs = j }
