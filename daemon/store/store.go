// Package store opens the database (an embedded cluster or database.url),
// applies the embedded migrations under an advisory lock, and offers the
// transaction and error-translation helpers every service uses. Nothing
// else knows how PostgreSQL is started.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"gent/daemon/config"
	"gent/models"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// migrationLock is the advisory lock key held while migrating, so that
// daemons starting together on one database migrate one after the other.
const migrationLock = 0x67656e74 // "gent"

type Store struct {
	DB   *gorm.DB
	SQL  *sql.DB
	Pool *pgxpool.Pool
	URL  string

	embedded *Embedded
	// stopSupervisor ends the embedded server's supervision; supervised
	// is closed when it has ended.
	stopSupervisor context.CancelFunc
	supervised     chan struct{}
	log            *slog.Logger
}

// Open connects to database.url, or starts the embedded cluster under
// data_dir when it is empty, and migrates the schema.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger) (*Store, error) {
	url := cfg.Database.URL
	var emb *Embedded
	if url == "" {
		var err error
		emb, err = StartEmbedded(cfg.DataDir, EmbeddedOptions{Settings: map[string]string{
			"shared_buffers": SharedBuffers(cfg.Database.SharedBuffers)}}, log)
		if err != nil {
			return nil, err
		}
		url = emb.URL("postgres")
		if err := ensureDatabase(ctx, url, "gent"); err != nil {
			_ = emb.Stop()
			return nil, err
		}
		url = emb.URL("gent")
	}
	s, err := Connect(ctx, url, cfg.Database.MaxConns, log)
	if err != nil {
		if emb != nil {
			_ = emb.Stop()
		}
		return nil, err
	}
	s.embedded = emb
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if emb != nil {
		// From here on, a server that dies is started again.
		sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		s.stopSupervisor, s.supervised = cancel, make(chan struct{})
		go func() {
			defer close(s.supervised)
			emb.Supervise(sctx)
		}()
	}
	return s, nil
}

func ensureDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgconn.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect to embedded PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	res := conn.ExecParams(ctx, "SELECT 1 FROM pg_database WHERE datname = $1", [][]byte{[]byte(name)}, nil, nil, nil).Read()
	if res.Err != nil {
		return fmt.Errorf("look up database: %w", res.Err)
	}
	if len(res.Rows) == 0 {
		if _, err := conn.Exec(ctx, `CREATE DATABASE "`+name+`"`).ReadAll(); err != nil {
			return fmt.Errorf("create database %s: %w", name, err)
		}
	}
	return nil
}

// Connect opens pools on an existing database without migrating it.
func Connect(ctx context.Context, url string, maxConns int, log *slog.Logger) (*Store, error) {
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", errors.New("invalid database URL"))
	}
	if maxConns > 0 {
		pcfg.MaxConns = int32(maxConns)
	}
	// Durability is part of the contract: 250 and 202 only after commit.
	pcfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	pcfg.ConnConfig.RuntimeParams["application_name"] = "gentd"
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	sqlDB := stdlib.OpenDBFromPool(pool)
	db, err := gorm.Open(quietDialector{postgres.New(postgres.Config{Conn: sqlDB}).(*postgres.Dialector)}, &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open gorm: %w", err)
	}
	return &Store{DB: db, SQL: sqlDB, Pool: pool, URL: url, log: log}, nil
}

// quietDialector is PostgreSQL's GORM dialector without Explain. GORM's
// Scan hands every statement to a trace recorder that interpolates the
// arguments into the SQL text (regular expressions over the statement,
// 1% of gentd's CPU under inbound load), whatever the logger; Gent
// discards GORM's log, so that text was never read.
type quietDialector struct{ *postgres.Dialector }

func (quietDialector) Explain(sql string, _ ...any) string { return sql }

// Migrate applies Gent's and River's migrations while holding an advisory
// lock, so concurrent start-ups on one database are safe.
func (s *Store) Migrate(ctx context.Context) error {
	conn, err := s.Pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: acquire connection: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return fmt.Errorf("migrate: take lock: %w", err)
	}
	defer func() { _, _ = conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", migrationLock) }()

	sub, err := fs.Sub(migrationsFS, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, s.SQL, sub)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := provider.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	migrator, err := rivermigrate.New(riverpgxv5.New(s.Pool), nil)
	if err != nil {
		return fmt.Errorf("migrate river: %w", err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate river: %w", err)
	}
	return nil
}

// Close closes the pools and stops the embedded cluster, if any (its
// supervision first, so that the stop is not taken for a crash).
func (s *Store) Close() error {
	if s.stopSupervisor != nil {
		s.stopSupervisor()
		<-s.supervised
	}
	s.Pool.Close()
	if s.embedded != nil {
		return s.embedded.Stop()
	}
	return nil
}

// Ping checks the database is reachable (for /readyz).
func (s *Store) Ping(ctx context.Context) error {
	return s.Pool.Ping(ctx)
}

// Tx runs fn in a transaction, committing if it returns nil. Under an
// idempotency claim (see Claim) the transaction also marks the claim's
// effect as committed, in the same commit.
func (s *Store) Tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	cl := ClaimOf(ctx)
	if cl == nil {
		return s.DB.WithContext(ctx).Transaction(fn)
	}
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := fn(tx); err != nil {
			return err
		}
		return cl.mark(tx)
	})
}

// SQLTx returns the *sql.Tx under a GORM transaction, so River can insert
// jobs that commit with it.
func SQLTx(tx *gorm.DB) *sql.Tx {
	t, _ := tx.Statement.ConnPool.(*sql.Tx)
	return t
}

// WrapError translates database errors into the error vocabulary: unique
// violations become conflicts, missing rows not_found.
func WrapError(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, gorm.ErrRecordNotFound) || errors.Is(err, sql.ErrNoRows) {
		return models.NotFound(what)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return models.Errorf(models.CodeConflict, "%s already exists", what)
		case "23503":
			return models.Errorf(models.CodeConflict, "%s is referenced by other objects", what)
		}
	}
	return err
}

// IsUniqueViolation reports a unique-constraint violation.
func IsUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// MigrationVersions returns the goose version the database is at (0 when
// it has none) and the newest migration embedded in this binary. It only
// reads (gentd doctor).
func (s *Store) MigrationVersions(ctx context.Context) (current, latest int64, err error) {
	sub, err := fs.Sub(migrationsFS, "migrations")
	if err != nil {
		return 0, 0, err
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, s.SQL, sub)
	if err != nil {
		return 0, 0, err
	}
	for _, src := range provider.ListSources() {
		latest = max(latest, src.Version)
	}
	var exists bool
	if err := s.SQL.QueryRowContext(ctx, `SELECT to_regclass('goose_db_version') IS NOT NULL`).Scan(&exists); err != nil {
		return 0, latest, fmt.Errorf("read migration version: %w", err)
	}
	if !exists {
		return 0, latest, nil
	}
	if err := s.SQL.QueryRowContext(ctx, `SELECT coalesce(max(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&current); err != nil {
		return 0, latest, fmt.Errorf("read migration version: %w", err)
	}
	return current, latest, nil
}
