// Package mail holds inboxes and their messages: creation and deletion of
// inboxes, the message store, threads and search.
package mail

import (
	"log/slog"

	"gent/daemon/events"
	"gent/daemon/jobs"
	"gent/daemon/store"
)

type Service struct {
	db     *store.Store
	events *events.Service
	jobs   *jobs.Jobs
	log    *slog.Logger

	purgers []Purger
}

func NewService(db *store.Store, ev *events.Service, log *slog.Logger) *Service {
	return &Service{db: db, events: ev, log: log}
}

// SetJobs gives the service the job client (built after the workers are
// registered).
func (s *Service) SetJobs(j *jobs.Jobs) { s.jobs = j }
