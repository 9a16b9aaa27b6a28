package domains

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"gent/daemon/jobs"
)

// SweepArgs is the periodic job (every domains.reverify_interval) that
// enqueues a VerifyArgs job for every domain due for a check.
type SweepArgs struct{}

func (SweepArgs) Kind() string { return "domains.reverify_sweep" }

// VerifyArgs re-verifies one domain. At most one such job per domain is
// waiting or running at a time.
type VerifyArgs struct {
	DomainID string `json:"domain_id"`
}

func (VerifyArgs) Kind() string { return "domains.verify" }

func (VerifyArgs) InsertOpts() river.InsertOpts {
	// Unique among waiting and running jobs only: River's default also
	// counts completed jobs, which would stop a domain being checked again.
	return river.InsertOpts{MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
		rivertype.JobStateRunning, rivertype.JobStateScheduled,
	}}}
}

// sweepBatch bounds the domains one sweep enqueues; the rest wait for the
// next sweep, oldest check first.
const sweepBatch = 1000

type sweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	s *Service
}

// Work enqueues a check for each domain not checked within half the
// interval, so that each domain is checked about once per interval.
func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[SweepArgs]) error {
	cutoff := time.Now().Add(-w.s.interval / 2)
	var ids []string
	if err := w.s.db.DB.WithContext(ctx).Raw(`SELECT id FROM domains WHERE (last_checked_at IS NULL OR last_checked_at < ?) AND domain_use <> 'sandbox'
		ORDER BY last_checked_at NULLS FIRST LIMIT ?`, cutoff, sweepBatch).Scan(&ids).Error; err != nil {
		return fmt.Errorf("select domains to re-verify: %w", err)
	}
	if len(ids) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(ids))
	for i, id := range ids {
		params[i] = river.InsertManyParams{Args: VerifyArgs{DomainID: id}}
	}
	client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return fmt.Errorf("enqueue domain checks: %w", err)
	}
	if _, err := client.InsertMany(ctx, params); err != nil {
		return fmt.Errorf("enqueue domain checks: %w", err)
	}
	return nil
}

type verifyWorker struct {
	river.WorkerDefaults[VerifyArgs]
	s *Service
}

func (w *verifyWorker) Work(ctx context.Context, job *river.Job[VerifyArgs]) error {
	_, err := w.s.Reverify(ctx, job.Args.DomainID)
	return err
}

// RegisterJobs adds the re-verification workers and the periodic sweep.
func RegisterJobs(reg *jobs.Registry, s *Service) {
	river.AddWorker(reg.Workers, &sweepWorker{s: s})
	river.AddWorker(reg.Workers, &verifyWorker{s: s})
	reg.Every(s.interval, func() river.JobArgs { return SweepArgs{} })
}
