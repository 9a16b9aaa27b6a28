// Package jobs sets up River on the shared database: a working client on
// the pgx pool (LISTEN/NOTIFY wake-ups, SKIP LOCKED fetches, so any number
// of replicas share the work) and an inserting client on database/sql, so
// services enqueue jobs inside the GORM transaction that causes them.
package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"gorm.io/gorm"

	"gent/daemon/store"
)

type Jobs struct {
	worker   *river.Client[pgx.Tx]
	inserter *river.Client[*sql.Tx]
	log      *slog.Logger
}

// Registry collects workers and periodic jobs from the services before the
// clients are built.
type Registry struct {
	Workers  *river.Workers
	Periodic []*river.PeriodicJob
	Queues   map[string]river.QueueConfig
}

func NewRegistry() *Registry {
	return &Registry{Workers: river.NewWorkers(), Queues: map[string]river.QueueConfig{
		river.QueueDefault: {MaxWorkers: 20},
	}}
}

// AddQueue adds a queue worked by up to maxWorkers jobs at once, besides
// the default queue's 20.
func (r *Registry) AddQueue(name string, maxWorkers int) {
	r.Queues[name] = river.QueueConfig{MaxWorkers: maxWorkers}
}

// Every adds a periodic job run at the interval (and once at start).
func (r *Registry) Every(interval time.Duration, args func() river.JobArgs) {
	r.Periodic = append(r.Periodic, river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return args(), nil },
		&river.PeriodicJobOpts{RunOnStart: true}))
}

func New(st *store.Store, reg *Registry, rescueAfter time.Duration, log *slog.Logger) (*Jobs, error) {
	timeout := 10 * time.Minute
	if timeout >= rescueAfter {
		timeout = rescueAfter / 2
	}
	cfg := &river.Config{
		Workers:           reg.Workers,
		Queues:            reg.Queues,
		PeriodicJobs:      reg.Periodic,
		FetchPollInterval: 200 * time.Millisecond,
		// River's own info lines (producer counts every few seconds) are noise.
		Logger:     slog.New(warnOnly{log.Handler()}).With("component", "river"),
		JobTimeout: 10 * time.Minute,
	}
	worker, err := river.NewClient(riverpgxv5.New(st.Pool), cfg)
	if err != nil {
		return nil, fmt.Errorf("create job client: %w", err)
	}
	inserter, err := river.NewClient(riverdatabasesql.New(st.SQL), &river.Config{Workers: reg.Workers})
	if err != nil {
		return nil, fmt.Errorf("create job inserter: %w", err)
	}
	return &Jobs{worker: worker, inserter: inserter, log: log}, nil
}

// Start begins working jobs; it returns once the client is running.
func (j *Jobs) Start(ctx context.Context) error {
	if err := j.worker.Start(ctx); err != nil {
		return fmt.Errorf("start jobs: %w", err)
	}
	return nil
}

// Stop lets running jobs finish (up to ctx's deadline).
func (j *Jobs) Stop(ctx context.Context) error {
	return j.worker.Stop(ctx)
}

// InsertTx enqueues a job that commits (or not) with tx.
func (j *Jobs) InsertTx(ctx context.Context, tx *gorm.DB, args river.JobArgs, opts *river.InsertOpts) error {
	stx := store.SQLTx(tx)
	if stx == nil {
		return fmt.Errorf("insert job %s: not inside a transaction", args.Kind())
	}
	if _, err := j.inserter.InsertTx(ctx, stx, args, opts); err != nil {
		return fmt.Errorf("insert job %s: %w", args.Kind(), err)
	}
	return nil
}

// CleanupArgs is the periodic maintenance job: it removes expired
// idempotency keys, old sessions and stale login throttles.
type CleanupArgs struct{}

func (CleanupArgs) Kind() string { return "maintenance.cleanup" }

func (CleanupArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: time.Hour}}
}

type cleanupWorker struct {
	river.WorkerDefaults[CleanupArgs]
	db *store.Store
}

func (w *cleanupWorker) Work(ctx context.Context, _ *river.Job[CleanupArgs]) error {
	for _, q := range []string{
		`DELETE FROM idempotency_keys WHERE created_at < now() - interval '24 hours'`,
		`DELETE FROM sessions WHERE expires_at < now() - interval '30 days' OR revoked_at < now() - interval '30 days'`,
		`DELETE FROM auth_throttle WHERE first_failure_at < now() - interval '1 day' AND (locked_until IS NULL OR locked_until < now())`,
	} {
		if err := w.db.DB.WithContext(ctx).Exec(q).Error; err != nil {
			return fmt.Errorf("cleanup: %w", err)
		}
	}
	return nil
}

// RegisterMaintenance adds the hourly cleanup job.
func RegisterMaintenance(reg *Registry, db *store.Store) {
	river.AddWorker(reg.Workers, &cleanupWorker{db: db})
	reg.Every(time.Hour, func() river.JobArgs { return CleanupArgs{} })
}

// warnOnly passes only warnings and errors.
type warnOnly struct{ slog.Handler }

func (h warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

// RescueArgs is the periodic sweep for jobs orphaned by a crashed daemon:
// a job still "running" long after its attempt began (jobs.rescue_after,
// longer than any attempt may last) is made available again, so a delivery
// interrupted by a SIGKILL is retried after restart. River has a rescuer of
// its own, but with this configuration (River v0.51.2, pgx driver) it was
// seen to leave such jobs running indefinitely; this sweep does the same
// update River's rescuer would.
type RescueArgs struct{}

func (RescueArgs) Kind() string { return "maintenance.rescue" }

type rescueWorker struct {
	river.WorkerDefaults[RescueArgs]
	db    *store.Store
	after time.Duration
	log   *slog.Logger
}

func (w *rescueWorker) Work(ctx context.Context, _ *river.Job[RescueArgs]) error {
	res := w.db.DB.WithContext(ctx).Exec(`UPDATE river_job SET state = 'available', scheduled_at = now(),
		errors = array_append(errors, jsonb_build_object('at', now(), 'attempt', attempt,
			'error', 'orphaned by a stopped daemon; rescued', 'trace', '')),
		metadata = metadata || jsonb_build_object('gent:rescued_at', now())
		WHERE state = 'running' AND kind <> ? AND attempted_at < now() - make_interval(secs => ?)`,
		RescueArgs{}.Kind(), w.after.Seconds())
	if res.Error != nil {
		return fmt.Errorf("rescue orphaned jobs: %w", res.Error)
	}
	if res.RowsAffected > 0 {
		w.log.Warn("rescued jobs orphaned by a stopped daemon", "count", res.RowsAffected)
	}
	return nil
}

// RegisterRescue adds the orphan sweep, run every rescueAfter/2 (at most
// every 30 s).
func RegisterRescue(reg *Registry, db *store.Store, rescueAfter time.Duration, log *slog.Logger) {
	river.AddWorker(reg.Workers, &rescueWorker{db: db, after: rescueAfter, log: log})
	reg.Every(min(rescueAfter/2, 30*time.Second), func() river.JobArgs { return RescueArgs{} })
}
