package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"gent/daemon/config"
	"gent/daemon/server"
	"gent/daemon/store"
)

// usageCommand runs "gentd usage verify [--fix]": it recomputes every
// inbox's usage from its messages and prints the inboxes whose counters
// drifted. Drift is an error (exit status 1) unless --fix corrected it.
func usageCommand(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return errors.New("usage: gentd usage verify [--fix]")
	}
	fs := flag.NewFlagSet("gentd usage verify", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fix := fs.Bool("fix", false, "set drifted counters to the recomputed values")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// With the embedded cluster, store.Open takes the data directory's
	// lock, so this refuses to run beside a daemon (starting the cluster
	// would stop the daemon's server).
	st, err := store.Open(ctx, cfg, log)
	if errors.Is(err, store.ErrDataDirInUse) {
		return fmt.Errorf("%w (or ask the running daemon with GET /v1/billing/usage/verify)", err)
	}
	if err != nil {
		return err
	}
	defer st.Close()
	// The whole daemon's wiring (not started): a fix that moves usage
	// across an alert threshold emits its event with webhook deliveries.
	d, err := server.New(cfg, st, log)
	if err != nil {
		return err
	}
	res, err := d.Caps.Verify(ctx, "")
	if err != nil {
		return err
	}
	if len(res.Drift) == 0 {
		fmt.Fprintf(stdout, "usage OK: %d inboxes, counters match their messages\n", res.Inboxes)
		return nil
	}
	fmt.Fprintf(stdout, "%-30s %-32s %16s %16s %10s %10s\n", "INBOX", "ADDRESS", "USED_BYTES", "ACTUAL_BYTES", "COUNT", "ACTUAL")
	for _, r := range res.Drift {
		fmt.Fprintf(stdout, "%-30s %-32s %16d %16d %10d %10d\n", r.InboxID, r.Address, r.UsedBytes, r.ActualBytes, r.MessageCount, r.ActualCount)
	}
	if !*fix {
		return fmt.Errorf("usage drift in %d of %d inboxes (gentd usage verify --fix sets the counters to the recomputed values)",
			len(res.Drift), res.Inboxes)
	}
	for _, r := range res.Drift {
		f, err := d.Caps.Fix(ctx, r.InboxID)
		if err != nil {
			return fmt.Errorf("fix %s: %w", r.InboxID, err)
		}
		fmt.Fprintf(stdout, "fixed %s: used_bytes %d -> %d, message_count %d -> %d\n",
			f.InboxID, f.UsedBytes, f.ActualBytes, f.MessageCount, f.ActualCount)
	}
	return nil
}
