package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"gent/daemon/config"
)

// DumpInfo describes a database dump.
type DumpInfo struct {
	// ServerVersion is the server's version ("17.5"), ServerMajor its
	// major version.
	ServerVersion string
	ServerMajor   int
	// GooseVersion is the last applied Gent migration.
	GooseVersion int64
	// Source is "embedded" or "database.url".
	Source string
	// Tool is the pg_dump binary used.
	Tool string
}

// Dump writes a pg_dump custom-format archive of Gent's database to dst:
// of database.url when set, otherwise of the embedded cluster under
// data_dir — the running daemon's when one runs (reached on the port in
// its postmaster.pid), or else the cluster started here for the dump,
// read-only, and stopped again. pg_dump takes one consistent snapshot.
// The pg_dump used has the server's major version.
func Dump(ctx context.Context, cfg config.Config, dst string, log *slog.Logger) (DumpInfo, error) {
	info := DumpInfo{Source: "database.url"}
	dbURL := cfg.Database.URL
	if dbURL == "" {
		info.Source = "embedded"
		u, stop, err := embeddedForDump(cfg.DataDir, log)
		if err != nil {
			return info, err
		}
		defer stop()
		dbURL = u
	}
	if err := serverInfo(ctx, dbURL, &info); err != nil {
		return info, err
	}
	tool, err := FindClientTool("pg_dump", info.ServerMajor)
	if err != nil {
		return info, err
	}
	info.Tool = tool
	conn, env := pgConnArgs(dbURL)
	if out, err := runTool(ctx, tool, env, "--format=custom", "--no-password", "--file="+dst, "--dbname="+conn); err != nil {
		return info, fmt.Errorf("pg_dump: %v: %s", err, lastLines(out, 8))
	}
	return info, nil
}

// embeddedForDump returns a URL of the embedded cluster's gent database
// and a function to call when done.
func embeddedForDump(dataDir string, log *slog.Logger) (string, func(), error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return "", nil, fmt.Errorf("resolve data_dir: %w", err)
	}
	pgdata := filepath.Join(abs, "postgres", "data")
	if _, err := os.Stat(filepath.Join(pgdata, "PG_VERSION")); err != nil {
		return "", nil, fmt.Errorf("no embedded database under data_dir %s (set database.url to back up an external database)", abs)
	}
	emb, err := StartEmbedded(abs, EmbeddedOptions{Child: true,
		Settings: map[string]string{"default_transaction_read_only": "on"}}, log)
	if err == nil {
		return emb.URL("gent"), func() { _ = emb.Stop() }, nil
	}
	if !errors.Is(err, ErrDataDirInUse) {
		return "", nil, err
	}
	// A daemon runs there: dump its server, on the port it listens on.
	b, err := os.ReadFile(filepath.Join(pgdata, "postmaster.pid"))
	if err != nil {
		return "", nil, fmt.Errorf("gentd runs on %s but its PostgreSQL server is not up (no postmaster.pid): %w", abs, err)
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 4 {
		return "", nil, fmt.Errorf("read %s: too short", filepath.Join(pgdata, "postmaster.pid"))
	}
	port, err := strconv.Atoi(strings.TrimSpace(lines[3]))
	if err != nil {
		return "", nil, fmt.Errorf("read port from postmaster.pid: %w", err)
	}
	pw, err := os.ReadFile(filepath.Join(abs, "postgres.password"))
	if err != nil {
		return "", nil, fmt.Errorf("read embedded database password: %w", err)
	}
	e := &Embedded{port: port, password: strings.TrimSpace(string(pw))}
	return e.URL("gent"), func() {}, nil
}

// serverInfo reads the server's version and the last applied migration.
func serverInfo(ctx context.Context, dbURL string, info *DumpInfo) error {
	conn, err := pgconn.Connect(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("connect to database: %w", err)
	}
	defer conn.Close(ctx)
	res := conn.ExecParams(ctx, `SELECT current_setting('server_version_num')::int / 10000, current_setting('server_version'),
		(SELECT coalesce(max(version_id), 0) FROM goose_db_version WHERE is_applied)`, nil, nil, nil, nil).Read()
	if res.Err != nil {
		return fmt.Errorf("read database version: %w", res.Err)
	}
	if len(res.Rows) != 1 {
		return errors.New("read database version: no row")
	}
	info.ServerMajor, _ = strconv.Atoi(string(res.Rows[0][0]))
	info.ServerVersion = strings.Fields(string(res.Rows[0][1]))[0]
	info.GooseVersion, _ = strconv.ParseInt(string(res.Rows[0][2]), 10, 64)
	return nil
}

// Restore loads a pg_dump custom-format archive into an empty target: the
// database at database.url (refused if it holds any table), or a new
// embedded cluster under data_dir (initdb; refused if one exists). It
// runs in one transaction: a failure leaves the target empty.
func Restore(ctx context.Context, cfg config.Config, dump string, log *slog.Logger) error {
	if cfg.Database.URL != "" {
		var info DumpInfo
		if err := serverInfoEmpty(ctx, cfg.Database.URL, &info); err != nil {
			return err
		}
		return pgRestore(ctx, cfg.Database.URL, info.ServerMajor, dump)
	}
	abs, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("resolve data_dir: %w", err)
	}
	if _, err := os.Stat(filepath.Join(abs, "postgres", "data", "PG_VERSION")); err == nil {
		return fmt.Errorf("data_dir %s already holds a database: restore only into an empty data_dir", abs)
	}
	emb, err := StartEmbedded(abs, EmbeddedOptions{Child: true}, log)
	if err != nil {
		return err
	}
	defer func() { _ = emb.Stop() }()
	if err := ensureDatabase(ctx, emb.URL("postgres"), "gent"); err != nil {
		return err
	}
	var info DumpInfo
	if err := serverInfoEmpty(ctx, emb.URL("gent"), &info); err != nil {
		return err
	}
	if err := pgRestore(ctx, emb.URL("gent"), info.ServerMajor, dump); err != nil {
		return err
	}
	return emb.Stop()
}

// serverInfoEmpty reads the server's major version and refuses a database
// that holds any table, view or sequence outside the system schemas.
func serverInfoEmpty(ctx context.Context, dbURL string, info *DumpInfo) error {
	conn, err := pgconn.Connect(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("connect to database: %w", err)
	}
	defer conn.Close(ctx)
	res := conn.ExecParams(ctx, `SELECT current_setting('server_version_num')::int / 10000, current_database(),
		(SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
		    AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%')`,
		nil, nil, nil, nil).Read()
	if res.Err != nil {
		return fmt.Errorf("inspect target database: %w", res.Err)
	}
	info.ServerMajor, _ = strconv.Atoi(string(res.Rows[0][0]))
	if n := string(res.Rows[0][2]); n != "0" {
		return fmt.Errorf("database %q is not empty (%s tables, views or sequences): restore only into an empty database "+
			"(create one with CREATE DATABASE and point database.url at it)", string(res.Rows[0][1]), n)
	}
	return nil
}

func pgRestore(ctx context.Context, dbURL string, major int, dump string) error {
	tool, err := FindClientTool("pg_restore", major)
	if err != nil {
		return err
	}
	conn, env := pgConnArgs(dbURL)
	// Objects belong to the restoring user; the dump's grants name roles
	// the target may not have.
	out, err := runTool(ctx, tool, env, "--no-owner", "--no-privileges", "--no-password", "--single-transaction",
		"--exit-on-error", "--dbname="+conn, dump)
	if err != nil {
		return fmt.Errorf("pg_restore: %v: %s", err, lastLines(out, 8))
	}
	return nil
}

// FindClientTool finds the PostgreSQL client program name (pg_dump,
// pg_restore) of the given major version: in the server binaries'
// directory, /usr/lib/postgresql/<major>/bin, or on the PATH.
func FindClientTool(name string, major int) (string, error) {
	var candidates []string
	if d, err := FindPostgresBinDir(); err == nil {
		candidates = append(candidates, filepath.Join(d, name))
	}
	candidates = append(candidates, filepath.Join("/usr/lib/postgresql", strconv.Itoa(major), "bin", name))
	if p, err := exec.LookPath(name); err == nil {
		candidates = append(candidates, p)
	}
	var found []string
	for _, c := range candidates {
		if !isExec(c) {
			continue
		}
		v, err := toolMajor(c)
		if err != nil {
			continue
		}
		if v == major {
			return c, nil
		}
		found = append(found, fmt.Sprintf("%s (%d)", c, v))
	}
	sort.Strings(found)
	msg := fmt.Sprintf("%s of PostgreSQL %d not found (the server's major version)", name, major)
	if len(found) > 0 {
		msg += "; found " + strings.Join(found, ", ")
	}
	return "", errors.New(msg + fmt.Sprintf("; install it with: apt-get install -y postgresql-client-%d", major))
}

var toolVersionRe = regexp.MustCompile(`\(PostgreSQL\) (\d+)`)

func toolMajor(path string) (int, error) {
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return 0, err
	}
	m := toolVersionRe.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("%s --version: %q", path, out)
	}
	return strconv.Atoi(string(m[1]))
}

// pgConnArgs returns the connection string to pass to a client tool and
// the environment to run it with: the password moves from a URL to
// PGPASSWORD, so that it does not show in the process list.
func pgConnArgs(dbURL string) (string, []string) {
	env := append(os.Environ(), "LC_ALL=C")
	u, err := url.Parse(dbURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.User == nil {
		return dbURL, env
	}
	if pw, ok := u.User.Password(); ok {
		env = append(env, "PGPASSWORD="+pw)
		u.User = url.User(u.User.Username())
	}
	return u.String(), env
}

func runTool(ctx context.Context, tool string, env []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Env = env
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	return buf.Bytes(), err
}

// LatestMigration is the version of the newest migration this binary
// carries.
func LatestMigration() int64 {
	var latest int64
	_ = fs.WalkDir(migrationsFS, "migrations", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		base := filepath.Base(p)
		if i := strings.IndexByte(base, '_'); i > 0 {
			if v, err := strconv.ParseInt(base[:i], 10, 64); err == nil && v > latest {
				latest = v
			}
		}
		return nil
	})
	return latest
}
