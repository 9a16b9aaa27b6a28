// Package server wires the daemon: it opens the store, builds the services,
// and runs HTTP, SMTP and the job client together, stopping them in reverse
// order on shutdown.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"golang.org/x/sync/errgroup"

	"gent/daemon/api"
	"gent/daemon/audit"
	"gent/daemon/auth"
	"gent/daemon/config"
	"gent/daemon/jobs"
	"gent/daemon/store"
)

// NewLogger builds the daemon's structured logger.
func NewLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Run starts the daemon and blocks until ctx is cancelled or a part fails.
func Run(ctx context.Context, cfg config.Config, log *slog.Logger, out io.Writer) error {
	st, err := store.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("close store", "err", err)
		}
	}()

	auditSvc := audit.NewService(st, log)
	authSvc := auth.NewService(st, auditSvc, cfg.Auth, cfg.DataDir, log)

	reg := jobs.NewRegistry()
	jobs.RegisterMaintenance(reg, st)
	jb, err := jobs.New(st, reg, log)
	if err != nil {
		return err
	}

	app := api.New(api.Deps{Config: cfg, Store: st, Auth: authSvc, Audit: auditSvc, Log: log})

	httpLn, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen on http.addr %s: %w", cfg.HTTP.Addr, err)
	}

	code, err := authSvc.PrepareSetup(ctx)
	if err != nil {
		httpLn.Close()
		return err
	}

	g, gctx := errgroup.WithContext(ctx)
	if err := jb.Start(gctx); err != nil {
		httpLn.Close()
		return err
	}
	g.Go(func() error {
		if err := app.Listener(httpLn); err != nil {
			return fmt.Errorf("http: %w", err)
		}
		return nil
	})
	log.Info("gentd ready", "http", httpLn.Addr().String(), "data_dir", cfg.DataDir)
	if code != "" {
		fmt.Fprintf(out, "\n  First run: no organization yet.\n  Setup code: %s   (also written to %s/setup-code)\n"+
			"  Finish setup with the TUI (genttui) or POST /v1/auth/setup.\n\n", code, cfg.DataDir)
	}

	g.Go(func() error {
		<-gctx.Done()
		log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
		defer cancel()
		var errs []error
		if err := app.ShutdownWithContext(sctx); err != nil {
			errs = append(errs, fmt.Errorf("stop http: %w", err))
		}
		if err := jb.Stop(sctx); err != nil && !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("stop jobs: %w", err))
		}
		return errors.Join(errs...)
	})
	err = g.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}
