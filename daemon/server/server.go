// Package server wires the daemon: it builds the services on a store, and
// runs HTTP, SMTP and the job client together, stopping them in reverse
// order on shutdown.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/sync/errgroup"
	"gorm.io/gorm"

	"gent/daemon/api"
	"gent/daemon/approvals"
	"gent/daemon/audit"
	"gent/daemon/auth"
	"gent/daemon/caps"
	"gent/daemon/config"
	"gent/daemon/delivery"
	"gent/daemon/domains"
	"gent/daemon/events"
	"gent/daemon/jobs"
	"gent/daemon/mail"
	"gent/daemon/metrics"
	"gent/daemon/policy"
	"gent/daemon/secrets"
	"gent/daemon/smtpin"
	"gent/daemon/store"
	"gent/models"
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

// Daemon is every service of gentd built on one store.
type Daemon struct {
	Config config.Config
	Log    *slog.Logger
	Store  *store.Store
	Audit  *audit.Service
	Auth   *auth.Service
	Events *events.Service
	Mail   *mail.Service
	Jobs   *jobs.Jobs
	App    *fiber.App

	Secrets   *secrets.Box
	Delivery  *delivery.Service
	Approvals *approvals.Service
	Policy    *policy.Service
	Domains   *domains.Service
	SMTP      *smtpin.Server

	// Webhooks deliver events to the organizations' endpoints.
	Webhooks *events.Webhooks

	// Caps keeps storage caps, their alerts and the usage records.
	Caps *caps.Service

	// Metrics are the daemon's Prometheus collectors, served on
	// metrics.addr by Serve.
	Metrics *metrics.Metrics

	metricsAddr chan string
}

// New builds the services and the HTTP app; nothing listens yet.
func New(cfg config.Config, st *store.Store, log *slog.Logger) (*Daemon, error) {
	d := &Daemon{Config: cfg, Log: log, Store: st, Metrics: metrics.New(), metricsAddr: make(chan string, 1)}
	d.Metrics.AddDB(st.SQL)
	d.Metrics.AddQueue(st.SQL)
	if st.Pool != nil {
		pool := st.Pool
		// The pgx pool under both GORM (database/sql, go_sql_*) and River.
		d.Metrics.AddGaugeFunc("gent_db_pool_connections", "Connections open in the database pool (GORM and the job client).",
			func() float64 { return float64(pool.Stat().TotalConns()) })
		d.Metrics.AddGaugeFunc("gent_db_pool_connections_in_use", "Connections of the database pool in use.",
			func() float64 { return float64(pool.Stat().AcquiredConns()) })
		d.Metrics.AddGaugeFunc("gent_db_pool_connections_max", "The database pool's size (database.max_conns).",
			func() float64 { return float64(pool.Stat().MaxConns()) })
		d.Metrics.AddCounterFunc("gent_db_pool_acquire_wait_seconds_total", "Time spent waiting for a database connection.",
			func() float64 { return pool.Stat().AcquireDuration().Seconds() })
	}
	d.Audit = audit.NewService(st, log)
	d.Auth = auth.NewService(st, d.Audit, cfg.Auth, cfg.DataDir, log)
	d.Events = events.NewService(st, log)
	d.Mail = mail.NewService(st, d.Events, log)
	d.Mail.SetMetrics(d.Metrics)
	d.Mail.SetLimits(mail.Limits{MaxHeaderBytes: cfg.SMTP.MaxHeaderBytes, MaxParts: cfg.SMTP.MaxMIMEParts, MaxDepth: cfg.SMTP.MaxMIMEDepth})

	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	box, err := secrets.Open(sctx, cfg, st, log)
	if err != nil {
		return nil, err
	}
	d.Secrets = box
	if d.Domains, err = domains.NewService(st, box, d.Events, d.Audit, cfg, log); err != nil {
		return nil, err
	}

	// Setup gives the new organization its sandbox domain (when
	// sandbox.domain is set), in the same transaction.
	d.Auth.OnSetup(func(ctx context.Context, tx *gorm.DB, org models.Org) error {
		_, err := d.Domains.CreateSandbox(ctx, tx, org)
		return err
	})

	d.Webhooks = events.NewWebhooks(st, d.Events, d.Audit, box, cfg, log)
	d.Webhooks.SetMetrics(d.Metrics)
	d.Caps = caps.NewService(st, d.Events, d.Audit, cfg, log)
	d.Mail.SetUsageHook(d.Caps.UsageHook)

	d.Mail.SetHostname(cfg.Hostname)
	// Mail's lookups (MX; SPF, DKIM, DMARC) go through a cache; domain
	// verification asks afresh.
	mailDNS := d.Domains.Resolver().Cached(cfg.DNS.CacheEntries, cfg.DNS.CacheMaxTTL.D())
	if d.Delivery, err = delivery.NewService(st, d.Events, cfg, mailDNS, d.Domains, d.Mail, log); err != nil {
		return nil, err
	}
	d.Delivery.SetMail(d.Mail)
	d.Delivery.SetAudit(d.Audit)
	d.Delivery.SetMetrics(d.Metrics)
	d.Approvals = approvals.NewService(st, d.Events, d.Audit, d.Delivery, d.Mail, cfg.Approvals, log)
	d.Delivery.SetHolder(d.Approvals)
	d.Policy = policy.NewService(st, d.Audit, d.Events)
	d.Delivery.SetPolicy(d.Policy)

	reg := jobs.NewRegistry()
	jobs.RegisterMaintenance(reg, st)
	d.Mail.RegisterWorkers(reg.Workers)
	domains.RegisterJobs(reg, d.Domains)
	d.Webhooks.Register(reg)
	d.Delivery.RegisterWorkers(reg.Workers)
	reg.AddQueue(delivery.Queue, cfg.Outbound.Workers)
	approvals.RegisterJobs(reg, reg.Workers, d.Approvals, cfg.Approvals.CheckInterval.D())
	caps.RegisterJobs(reg, d.Caps)
	jb, err := jobs.New(st, reg, cfg.RescueAfter(), log)
	if err != nil {
		return nil, err
	}
	d.Jobs = jb
	d.Mail.SetJobs(jb)
	d.Delivery.SetJobs(jb)
	d.Webhooks.Attach(jb)

	smtpSrv, err := smtpin.New(cfg, d.Mail, mailDNS, log)
	if err != nil {
		return nil, err
	}
	d.SMTP = smtpSrv
	smtpSrv.SetMetrics(d.Metrics)
	d.Metrics.AddGaugeFunc("gent_smtp_sessions_open", "Inbound SMTP connections open now.", func() float64 { return float64(smtpSrv.Active()) })

	d.App = api.New(api.Deps{Config: cfg, Store: st, Auth: d.Auth, Audit: d.Audit, Events: d.Events, Mail: d.Mail,
		Domains: d.Domains, Log: log, Webhooks: d.Webhooks, Delivery: d.Delivery, Approvals: d.Approvals, Caps: d.Caps, Policy: d.Policy,
		Metrics: d.Metrics})
	return d, nil
}

// Run opens the store, starts the daemon and blocks until ctx is cancelled
// or a part fails.
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
	d, err := New(cfg, st, log)
	if err != nil {
		return err
	}
	return d.Serve(ctx, out)
}

// Reload is what SIGHUP does: it reads the STARTTLS certificate from disk
// again. A failure is logged and the certificate in use stays.
func (d *Daemon) Reload() {
	if err := d.SMTP.ReloadTLS(); err != nil {
		d.Log.Error("reload: keeping the current TLS certificate", "err", err)
		return
	}
	d.Log.Info("reload: TLS certificate read again")
}

// MetricsAddr waits until Serve listens on metrics.addr and returns the
// address (for metrics.addr with port 0); "" when ctx ends first.
func (d *Daemon) MetricsAddr(ctx context.Context) string {
	select {
	case a := <-d.metricsAddr:
		d.metricsAddr <- a
		return a
	case <-ctx.Done():
		return ""
	}
}

// Serve listens and works until ctx is cancelled.
func (d *Daemon) Serve(ctx context.Context, out io.Writer) error {
	cfg, log := d.Config, d.Log
	httpLn, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen on http.addr %s: %w", cfg.HTTP.Addr, err)
	}
	smtpLn, err := d.SMTP.Listen()
	if err != nil {
		httpLn.Close()
		return err
	}
	code, err := d.Auth.PrepareSetup(ctx)
	if err != nil {
		httpLn.Close()
		smtpLn.Close()
		return err
	}

	var pprofLn net.Listener
	if cfg.Debug.PprofAddr != "" {
		if pprofLn, err = net.Listen("tcp", cfg.Debug.PprofAddr); err != nil {
			httpLn.Close()
			smtpLn.Close()
			return fmt.Errorf("listen on debug.pprof_addr %s: %w", cfg.Debug.PprofAddr, err)
		}
	}
	var metricsLn net.Listener
	if cfg.Metrics.Addr != "" {
		if metricsLn, err = net.Listen("tcp", cfg.Metrics.Addr); err != nil {
			httpLn.Close()
			smtpLn.Close()
			if pprofLn != nil {
				pprofLn.Close()
			}
			return fmt.Errorf("listen on metrics.addr %s (set GENT_METRICS_ADDR to another address, or to \"off\"): %w", cfg.Metrics.Addr, err)
		}
		d.metricsAddr <- metricsLn.Addr().String()
	}

	g, gctx := errgroup.WithContext(ctx)
	if err := d.Jobs.Start(gctx); err != nil {
		httpLn.Close()
		smtpLn.Close()
		if pprofLn != nil {
			pprofLn.Close()
		}
		if metricsLn != nil {
			metricsLn.Close()
		}
		return err
	}
	if pprofLn != nil {
		servePprof(gctx, g, pprofLn, log)
	}
	if metricsLn != nil {
		g.Go(func() error {
			if err := d.Metrics.Serve(gctx, metricsLn, log); err != nil {
				return fmt.Errorf("metrics: %w", err)
			}
			return nil
		})
	}
	// Inbound mail and sends share transactions (group commit).
	d.Mail.StartCommitter(mail.CommitOptions{})
	// The event listener wakes SSE streams; when gctx ends it also ends
	// them, so the HTTP shutdown below is not held up by open streams.
	g.Go(func() error { return d.Events.Run(gctx) })
	g.Go(func() error {
		if err := d.SMTP.Serve(smtpLn); err != nil {
			return fmt.Errorf("smtp: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		if err := d.App.Listener(httpLn); err != nil {
			return fmt.Errorf("http: %w", err)
		}
		return nil
	})
	// SIGHUP reloads the certificates; open sessions are not touched.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	g.Go(func() error {
		for {
			select {
			case <-gctx.Done():
				return nil
			case <-hup:
				d.Reload()
			}
		}
	})
	log.Info("gentd ready", "http", httpLn.Addr().String(), "smtp", smtpLn.Addr().String(), "data_dir", cfg.DataDir)
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
		// SMTP first: sessions in DATA finish storing their message.
		if err := d.SMTP.Shutdown(sctx); err != nil {
			errs = append(errs, fmt.Errorf("stop smtp: %w", err))
		}
		if err := d.App.ShutdownWithContext(sctx); err != nil {
			errs = append(errs, fmt.Errorf("stop http: %w", err))
		}
		// After SMTP and HTTP: their last messages commit through it.
		d.Mail.StopCommitter()
		if err := d.Jobs.Stop(sctx); err != nil && !errors.Is(err, context.Canceled) {
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
