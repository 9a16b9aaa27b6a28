// Package jobs sets up River on the shared database: a working client on
// the pgx pool (LISTEN/NOTIFY wake-ups, SKIP LOCKED fetches, so any number
// of replicas share the work) and an inserting client on database/sql, so
// services enqueue jobs inside the GORM transaction that causes them.
package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
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

// New builds the clients. rescueAfter (config.Config.RescueAfter) is how
// long after its attempt began a job still "running" is taken to be
// orphaned by a daemon that died: River's rescuer, run every 30 s by the
// elected leader, then schedules it again. A kind with a Timeout of its own
// (a delivery attempt: 2 × connect + 3 × command timeout, less than
// rescueAfter) is rescued only once that has passed too, so a live attempt
// is not run twice; the other kinds are cancelled after half of
// rescueAfter (at most 10 minutes), as River requires a job timeout no
// longer than the rescue time.
func New(st *store.Store, reg *Registry, rescueAfter time.Duration, log *slog.Logger) (*Jobs, error) {
	cfg := &river.Config{
		Workers:           reg.Workers,
		Queues:            reg.Queues,
		PeriodicJobs:      reg.Periodic,
		FetchPollInterval: 200 * time.Millisecond,
		// River's own info lines (producer counts every few seconds) are noise.
		Logger:               slog.New(warnOnly{log.Handler()}).With("component", "river"),
		JobTimeout:           min(10*time.Minute, rescueAfter/2),
		RescueStuckJobsAfter: rescueAfter,
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

// InsertManyTx enqueues jobs that commit (or not) with tx, in one
// statement that returns nothing (River's fast insert: the job rows are
// not read back).
func (j *Jobs) InsertManyTx(ctx context.Context, tx *gorm.DB, params []river.InsertManyParams) error {
	if len(params) == 0 {
		return nil
	}
	kind := params[0].Args.Kind()
	stx := store.SQLTx(tx)
	if stx == nil {
		return fmt.Errorf("insert jobs %s: not inside a transaction", kind)
	}
	if _, err := j.inserter.InsertManyFastTx(ctx, stx, params); err != nil {
		return fmt.Errorf("insert jobs %s: %w", kind, err)
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
		// A limit whose arrival times have passed is the same as no row.
		`DELETE FROM rate_limits WHERE greatest(tat1, tat2) < now()`,
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

// FindTx returns the ids of the jobs of kind whose args contain args (a
// JSON containment match, served by River's GIN index on args) in one of
// states.
func (j *Jobs) FindTx(ctx context.Context, tx *gorm.DB, kind string, args map[string]string, states ...string) ([]JobRef, error) {
	b, err := json.Marshal(args)
	if err != nil {
		return nil, fmt.Errorf("find jobs %s: %w", kind, err)
	}
	var out []JobRef
	if err := tx.WithContext(ctx).Raw(`SELECT id, state FROM river_job WHERE kind = ? AND args @> ?::jsonb AND state IN ?`,
		kind, string(b), states).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("find jobs %s: %w", kind, err)
	}
	return out, nil
}

// JobRef is a job's id and state (River's: available, scheduled, running…).
type JobRef struct {
	ID    int64
	State string
}

// RetryTx makes a job that is not running available at once (a scheduled
// or snoozed job runs now instead of at its time), committing with tx.
func (j *Jobs) RetryTx(ctx context.Context, tx *gorm.DB, id int64) error {
	stx := store.SQLTx(tx)
	if stx == nil {
		return fmt.Errorf("retry job %d: not inside a transaction", id)
	}
	if _, err := j.inserter.JobRetryTx(ctx, stx, id); err != nil {
		return fmt.Errorf("retry job %d: %w", id, err)
	}
	return nil
}
