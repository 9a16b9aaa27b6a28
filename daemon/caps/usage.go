package caps

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"gent/daemon/jobs"
	"gent/models"
)

// Usage records. A periodic job (every caps.sample_interval) samples every
// inbox's usage counter. The values a sample sees are held until the next
// sample: the interval between two samples is charged at the first one's
// used bytes and billable overage (bytes above the limit under
// allow_and_bill), split at hour boundaries into hourly rows of
// usage_hours (byte-seconds, exact numeric). An hour's max_used_bytes is
// the largest value sampled in or held over it. Each instant is charged
// once: intervals start where the last sample ended, under one advisory
// lock, so repeated or concurrent runs (replicas) never count time twice.
// A cap change closes the running interval at the old terms first.

// sampleLock is the advisory lock key serializing samplers and cap
// changes.
const sampleLock = 0x67656e74_75736167 // "gentusag"

// sampleBatch is how many inboxes one sampling transaction reads.
const sampleBatch = 500

// MaxReportRange is the longest range GET /v1/billing/usage/ reports.
const MaxReportRange = 31 * 24 * time.Hour

func lockSampler(ctx context.Context, tx *gorm.DB) error {
	if err := tx.WithContext(ctx).Exec(`SELECT pg_advisory_xact_lock(?)`, int64(sampleLock)).Error; err != nil {
		return fmt.Errorf("lock usage sampler: %w", err)
	}
	return nil
}

// SampleArgs is the periodic usage sampling job.
type SampleArgs struct{}

func (SampleArgs) Kind() string { return "caps.sample_usage" }

type sampleWorker struct {
	river.WorkerDefaults[SampleArgs]
	s *Service
}

func (w *sampleWorker) Work(ctx context.Context, _ *river.Job[SampleArgs]) error {
	_, err := w.s.Sample(ctx, w.s.Now())
	return err
}

// RegisterJobs adds the sampler, run every caps.sample_interval.
func RegisterJobs(reg *jobs.Registry, s *Service) {
	river.AddWorker(reg.Workers, &sampleWorker{s: s})
	reg.Every(s.interval, func() river.JobArgs { return SampleArgs{} })
}

// Sample takes one sample of every inbox at time at, in batches, and
// returns how many inboxes it sampled (an inbox already sampled at or
// after at is skipped).
func (s *Service) Sample(ctx context.Context, at time.Time) (int, error) {
	total, after := 0, ""
	for {
		var res sampled
		err := s.db.Tx(ctx, func(tx *gorm.DB) error {
			if err := lockSampler(ctx, tx); err != nil {
				return err
			}
			var err error
			res, err = s.sample(ctx, tx, at, after, nil, false)
			return err
		})
		if err != nil {
			return total, err
		}
		total += res.sampled
		if res.read < sampleBatch {
			return total, nil
		}
		after = res.last
	}
}

type sampled struct {
	read, sampled int
	last          string
}

// sampleRow is an inbox with its last sample.
type sampleRow struct {
	ID            string
	OrgID         string
	Address       string
	UsedBytes     int64
	CapLimitBytes *int64
	CapMode       *string
	SampledAt     *time.Time
	PrevUsed      int64
	PrevOverage   int64
	PrevLimit     *int64
	PrevMode      string
}

// hourRow is what one sample adds to one hourly record.
type hourRow struct {
	Org      string    `json:"org"`
	Inbox    string    `json:"inbox"`
	Hour     time.Time `json:"hour"`
	Address  string    `json:"address"`
	HeldUsed int64     `json:"held_used"`
	HeldOver int64     `json:"held_over"`
	Micros   int64     `json:"micros"`
	MaxUsed  int64     `json:"max_used"`
	MaxOver  int64     `json:"max_over"`
	Samples  int       `json:"samples"`
	Limit    *int64    `json:"limit_bytes"`
	Mode     string    `json:"mode"`
}

// stateRow is an inbox's new last sample.
type stateRow struct {
	Org   string    `json:"org"`
	Inbox string    `json:"inbox"`
	At    time.Time `json:"at"`
	Used  int64     `json:"used"`
	Over  int64     `json:"over"`
	Limit *int64    `json:"limit_bytes"`
	Mode  string    `json:"mode"`
}

// billable is the overage a sample records: bytes above the limit under
// allow_and_bill, else 0.
func billable(used int64, limit *int64, mode *string) int64 {
	if limit == nil || mode == nil || *mode != models.CapAllowAndBill || used <= *limit {
		return 0
	}
	return used - *limit
}

// charge splits the interval from the previous sample to at into hourly
// rows charged at the previous sample's values, and adds the new sample
// to the row of at's hour.
func charge(r sampleRow, at time.Time) []hourRow {
	mode := ""
	if r.CapMode != nil {
		mode = *r.CapMode
	}
	over := billable(r.UsedBytes, r.CapLimitBytes, r.CapMode)
	last := hourRow{Org: r.OrgID, Inbox: r.ID, Hour: at.Truncate(time.Hour), Address: r.Address,
		MaxUsed: r.UsedBytes, MaxOver: over, Samples: 1, Limit: r.CapLimitBytes, Mode: mode}
	var out []hourRow
	if r.SampledAt != nil {
		for h := r.SampledAt.UTC().Truncate(time.Hour); h.Before(at); h = h.Add(time.Hour) {
			start, end := h, h.Add(time.Hour)
			if start.Before(*r.SampledAt) {
				start = *r.SampledAt
			}
			if end.After(at) {
				end = at
			}
			if !end.After(start) {
				continue
			}
			us := end.Sub(start).Microseconds()
			if h.Equal(last.Hour) {
				last.HeldUsed, last.HeldOver, last.Micros = r.PrevUsed, r.PrevOverage, us
				last.MaxUsed, last.MaxOver = max(last.MaxUsed, r.PrevUsed), max(last.MaxOver, r.PrevOverage)
				continue
			}
			out = append(out, hourRow{Org: r.OrgID, Inbox: r.ID, Hour: h, Address: r.Address,
				HeldUsed: r.PrevUsed, HeldOver: r.PrevOverage, Micros: us, MaxUsed: r.PrevUsed, MaxOver: r.PrevOverage,
				Limit: r.PrevLimit, Mode: r.PrevMode})
		}
	}
	return append(out, last)
}

// sample samples one batch of inboxes (ids after `after`, or the inboxes
// only) at time at, inside tx, which holds the sampler lock. restate
// samples again inboxes sampled at exactly at, after a cap change in the
// same transaction: no time is charged, but the values held from at on
// (and the hour's cap) become the new terms.
func (s *Service) sample(ctx context.Context, tx *gorm.DB, at time.Time, after string, only []string, restate bool) (sampled, error) {
	at = at.UTC()
	db := tx.WithContext(ctx)
	// FOR KEY SHARE keeps a purged inbox from vanishing under the batch
	// without blocking the message store's usage updates.
	q := `SELECT i.id, i.org_id, i.address, i.used_bytes, i.cap_limit_bytes, i.cap_mode,
			s.sampled_at, coalesce(s.used_bytes, 0) AS prev_used, coalesce(s.overage_bytes, 0) AS prev_overage,
			s.limit_bytes AS prev_limit, coalesce(s.mode, '') AS prev_mode
		FROM inboxes i LEFT JOIN usage_samples s ON s.inbox_id = i.id `
	var rows []sampleRow
	var err error
	if only != nil {
		err = db.Raw(q+`WHERE i.id = ANY(?::text[]) ORDER BY i.id FOR KEY SHARE OF i`, models.StringArray(only)).Scan(&rows).Error
	} else {
		err = db.Raw(q+`WHERE i.id > ? ORDER BY i.id LIMIT ? FOR KEY SHARE OF i`, after, sampleBatch).Scan(&rows).Error
	}
	if err != nil {
		return sampled{}, fmt.Errorf("sample usage: %w", err)
	}
	res := sampled{read: len(rows)}
	if len(rows) > 0 {
		res.last = rows[len(rows)-1].ID
	}
	var hours []hourRow
	var states []stateRow
	for _, r := range rows {
		if r.SampledAt != nil && (at.Before(*r.SampledAt) || at.Equal(*r.SampledAt) && !restate) {
			continue // sampled at or after at already
		}
		rows := charge(r, at)
		if restate {
			rows[len(rows)-1].Samples = 0
		}
		hours = append(hours, rows...)
		mode := ""
		if r.CapMode != nil {
			mode = *r.CapMode
		}
		states = append(states, stateRow{Org: r.OrgID, Inbox: r.ID, At: at, Used: r.UsedBytes,
			Over: billable(r.UsedBytes, r.CapLimitBytes, r.CapMode), Limit: r.CapLimitBytes, Mode: mode})
	}
	res.sampled = len(states)
	if len(states) == 0 {
		return res, nil
	}
	hj, err := json.Marshal(hours)
	if err != nil {
		return res, err
	}
	sj, err := json.Marshal(states)
	if err != nil {
		return res, err
	}
	err = db.Exec(`INSERT INTO usage_hours AS h (org_id, inbox_id, hour, address, byte_seconds, overage_byte_seconds,
			covered_seconds, max_used_bytes, max_overage_bytes, samples, limit_bytes, mode, updated_at)
		SELECT r.org, r.inbox, r.hour, r.address, r.held_used::numeric * (r.micros * 0.000001),
			r.held_over::numeric * (r.micros * 0.000001), r.micros * 0.000001, r.max_used, r.max_over, r.samples,
			r.limit_bytes, r.mode, now()
		FROM jsonb_to_recordset(?::jsonb) AS r(org text, inbox text, hour timestamptz, address text, held_used bigint,
			held_over bigint, micros bigint, max_used bigint, max_over bigint, samples int, limit_bytes bigint, mode text)
		ON CONFLICT (org_id, inbox_id, hour) DO UPDATE SET
			byte_seconds = h.byte_seconds + excluded.byte_seconds,
			overage_byte_seconds = h.overage_byte_seconds + excluded.overage_byte_seconds,
			covered_seconds = h.covered_seconds + excluded.covered_seconds,
			max_used_bytes = greatest(h.max_used_bytes, excluded.max_used_bytes),
			max_overage_bytes = greatest(h.max_overage_bytes, excluded.max_overage_bytes),
			samples = h.samples + excluded.samples,
			limit_bytes = excluded.limit_bytes, mode = excluded.mode, address = excluded.address, updated_at = now()`,
		string(hj)).Error
	if err != nil {
		return res, fmt.Errorf("record usage hours: %w", err)
	}
	err = db.Exec(`INSERT INTO usage_samples AS s (inbox_id, org_id, sampled_at, used_bytes, overage_bytes, limit_bytes, mode)
		SELECT r.inbox, r.org, r.at, r.used, r.over, r.limit_bytes, r.mode
		FROM jsonb_to_recordset(?::jsonb) AS r(org text, inbox text, at timestamptz, used bigint, over bigint,
			limit_bytes bigint, mode text)
		ON CONFLICT (inbox_id) DO UPDATE SET sampled_at = excluded.sampled_at, used_bytes = excluded.used_bytes,
			overage_bytes = excluded.overage_bytes, limit_bytes = excluded.limit_bytes, mode = excluded.mode`,
		string(sj)).Error
	if err != nil {
		return res, fmt.Errorf("record usage samples: %w", err)
	}
	return res, nil
}

// Report returns a page of the organization's inboxes that have usage
// records in [from, to) (hours starting at or after from's hour and before
// to), with their sums and hourly rows. inboxID "" means every inbox,
// deleted ones included.
func (s *Service) Report(ctx context.Context, orgID string, from, to time.Time, inboxID, cursor string, limit int) (*models.UsageReport, error) {
	if !from.Before(to) {
		return nil, models.Invalid("from", "from must be before to")
	}
	if to.Sub(from) > MaxReportRange {
		return nil, models.Invalid("to", "a report spans at most %d days; ask for several ranges", int(MaxReportRange/(24*time.Hour)))
	}
	if cursor != "" && !models.HasPrefix(cursor, models.PrefixInbox) {
		return nil, models.Invalid("cursor", "cursor is not valid")
	}
	fromHour := from.UTC().Truncate(time.Hour)
	db := s.db.DB.WithContext(ctx)
	q := db.Table("usage_hours").Select(`inbox_id, max(address) AS address,
			(sum(byte_seconds) / 3600e9)::float8 AS usage_gb_hours,
			(sum(overage_byte_seconds) / 3600e9)::float8 AS overage_gb_hours,
			max(max_used_bytes) AS peak_bytes`).
		Where("org_id = ? AND hour >= ? AND hour < ?", orgID, fromHour, to)
	if inboxID != "" {
		q = q.Where("inbox_id = ?", inboxID)
	}
	if cursor != "" {
		q = q.Where("inbox_id > ?", cursor)
	}
	var rows []struct {
		InboxID        string
		Address        string
		UsageGBHours   float64
		OverageGBHours float64
		PeakBytes      int64
	}
	if err := q.Group("inbox_id").Order("inbox_id").Limit(limit + 1).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("usage report: %w", err)
	}
	sums := make([]models.InboxUsage, len(rows))
	for i, r := range rows {
		sums[i] = models.InboxUsage{InboxID: r.InboxID, Address: r.Address, UsageGBHours: r.UsageGBHours,
			OverageGBHours: r.OverageGBHours, PeakBytes: r.PeakBytes}
	}
	rep := &models.UsageReport{From: from.UTC(), To: to.UTC(), Data: []models.InboxUsage{}}
	if len(sums) > limit {
		sums = sums[:limit]
		rep.NextCursor = sums[limit-1].InboxID
	}
	if len(sums) == 0 {
		return rep, nil
	}
	ids := make([]string, len(sums))
	index := map[string]int{}
	for i, u := range sums {
		ids[i] = u.InboxID
		index[u.InboxID] = i
		sums[i].Hours = []models.UsageHour{}
	}
	var hours []struct {
		InboxID string
		models.UsageHour
	}
	if err := db.Raw(`SELECT inbox_id, hour, (byte_seconds / 3600e9)::float8 AS usage_gb_hours,
			(overage_byte_seconds / 3600e9)::float8 AS overage_gb_hours, max_used_bytes, max_overage_bytes,
			covered_seconds::float8 AS covered_seconds, samples, limit_bytes, mode
		FROM usage_hours WHERE org_id = ? AND inbox_id = ANY(?::text[]) AND hour >= ? AND hour < ?
		ORDER BY inbox_id, hour`, orgID, models.StringArray(ids), fromHour, to).Scan(&hours).Error; err != nil {
		return nil, fmt.Errorf("usage report: hours: %w", err)
	}
	for _, h := range hours {
		i := index[h.InboxID]
		h.UsageHour.Hour = h.UsageHour.Hour.UTC()
		sums[i].Hours = append(sums[i].Hours, h.UsageHour)
	}
	rep.Data = sums
	return rep, nil
}
