package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Embedded is a PostgreSQL cluster that gentd runs itself from the machine's
// server binaries, under dataDir/postgres.
type Embedded struct {
	root     string // dataDir/postgres, owned by the server's user
	pgdata   string
	binDir   string
	port     int
	password string
	cred     *syscall.Credential
	log      *slog.Logger
	// child is set when the server runs as our child process (tests)
	// rather than daemonised by pg_ctl.
	child  *exec.Cmd
	exited chan struct{}
	opts   EmbeddedOptions
	// lock is data_dir/gentd.lock, flocked for as long as this process
	// owns the cluster; the kernel drops it when the process dies.
	lock *os.File
}

// ErrDataDirInUse is returned by StartEmbedded when another live process
// holds the data directory's lock.
var ErrDataDirInUse = errors.New("data_dir in use")

// lockDataDir takes data_dir/gentd.lock (flock, exclusive, non-blocking)
// and writes our PID into it. The lock belongs to the open file, not to
// the PID written in it: it is released when the process exits, however
// it exits (kill -9 included), and is not inherited by the postmaster
// (Go opens files close-on-exec). A second daemon on the same data_dir
// therefore fails here, while a cluster left running by a dead daemon is
// still taken over.
func lockDataDir(dir string) (*os.File, error) {
	p := filepath.Join(dir, "gentd.lock")
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", p, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(p)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder := strings.TrimSpace(string(b))
			if holder == "" {
				holder = "unknown"
			}
			return nil, fmt.Errorf("%w: %s is in use by a running gentd (pid %s holds %s); "+
				"two daemons must not share one embedded PostgreSQL: stop that daemon first, or give this one another data_dir",
				ErrDataDirInUse, dir, holder, p)
		}
		return nil, fmt.Errorf("lock %s: %w", p, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// unlock releases the data-dir lock (closing the file drops the flock).
func (e *Embedded) unlock() {
	if e.lock != nil {
		_ = e.lock.Close()
		e.lock = nil
	}
}

// EmbeddedOptions tune a cluster. Tests turn durability off for speed.
type EmbeddedOptions struct {
	// Settings are extra "-c name=value" server settings.
	Settings map[string]string
	// Child runs postgres as a child process that dies with this process
	// (used by the test harness) instead of daemonising it with pg_ctl.
	Child bool
}

// SharedBuffers is the embedded server's shared_buffers: configured, or
// an eighth of the machine's memory between 128MB (PostgreSQL's default)
// and 1GB — ordinary sizing for a database of many gigabytes, kept modest
// because gentd shares the machine.
func SharedBuffers(configured string) string {
	if configured != "" {
		return configured
	}
	const mb = 1 << 20
	var si syscall.Sysinfo_t
	if err := syscall.Sysinfo(&si); err != nil {
		return "128MB"
	}
	total := uint64(si.Totalram) * uint64(si.Unit)
	return strconv.FormatUint(min(max(total/8/mb, 128), 1024), 10) + "MB"
}

// FindPostgresBinDir locates the directory holding initdb, pg_ctl and
// postgres: $GENT_PG_BINDIR, the PATH, then /usr/lib/postgresql/<newest>/bin.
func FindPostgresBinDir() (string, error) {
	if d := os.Getenv("GENT_PG_BINDIR"); d != "" {
		return d, nil
	}
	var candidates []string
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			candidates = append(candidates, filepath.Dir(r))
		}
	}
	versions, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(versions, func(i, j int) bool {
		return versionOf(versions[i]) > versionOf(versions[j])
	})
	candidates = append(candidates, versions...)
	for _, d := range candidates {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", errors.New("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found; " +
		"install them with: apt-get install -y postgresql (or set database.url to use an existing server)")
}

func versionOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// StartEmbedded initialises (on first use) and starts the cluster under
// dataDir. It first takes the data directory's lock, so that it fails with
// ErrDataDirInUse while another daemon runs there; holding it, it handles
// a stale postmaster.pid and a server left running by a crashed daemon.
// The lock is held until Stop.
func StartEmbedded(dataDir string, opts EmbeddedOptions, log *slog.Logger) (e *Embedded, err error) {
	binDir, err := FindPostgresBinDir()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, fmt.Errorf("resolve data_dir: %w", err)
	}
	e = &Embedded{root: filepath.Join(abs, "postgres"), binDir: binDir, log: log}
	e.pgdata = filepath.Join(e.root, "data")
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("create data_dir: %w", err)
	}
	if e.lock, err = lockDataDir(abs); err != nil {
		return nil, err
	}
	// Not e: an error return sets e to nil.
	locked := e
	defer func() {
		if err != nil {
			locked.unlock()
		}
	}()
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root: run it as the postgres user.
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, errors.New("running as root but there is no 'postgres' user to run the embedded PostgreSQL server " +
				"(install the postgresql package, which creates it)")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		e.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		var gids []uint32
		if ids, err := u.GroupIds(); err == nil {
			for _, g := range ids {
				if n, err := strconv.Atoi(g); err == nil {
					gids = append(gids, uint32(n))
				}
			}
		}
		if err := reachable(abs, e.cred.Uid, append(gids, e.cred.Gid)); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(e.root, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", e.root, err)
	}
	if e.cred != nil {
		if err := os.Chown(e.root, int(e.cred.Uid), int(e.cred.Gid)); err != nil {
			return nil, fmt.Errorf("chown %s: %w", e.root, err)
		}
	}
	if err := e.initdb(); err != nil {
		return nil, err
	}
	pw, err := os.ReadFile(filepath.Join(abs, "postgres.password"))
	if err != nil {
		return nil, fmt.Errorf("read embedded database password: %w", err)
	}
	e.password = strings.TrimSpace(string(pw))
	if err := e.clearStale(); err != nil {
		return nil, err
	}
	if e.port, err = freePort(); err != nil {
		return nil, err
	}
	e.opts = opts
	if err := e.start(opts); err != nil {
		return nil, err
	}
	return e, nil
}

// Supervision timing: how often the postmaster is looked at, and the
// wait after a failed restart (doubling from the first to the last).
const (
	superviseEvery      = time.Second
	restartBackoffFirst = time.Second
	restartBackoffMax   = 30 * time.Second
)

// Supervise keeps the server running until ctx ends. Every second it
// looks at the postmaster named in postmaster.pid; when that process is
// gone (killed, crashed, OOM-killed) it starts the server again on the
// same port, so the pools' URL stays right and they reconnect on their
// own. A failed start (e.g. backends of the dead server still holding its
// shared memory) is retried after 1 s, doubling to at most 30 s; every
// attempt is logged. Meanwhile the database is unreachable: /readyz
// answers 503 and requests that need the database fail as they would
// with any outage. A server run as a child process (tests) is not
// supervised.
func (e *Embedded) Supervise(ctx context.Context) {
	if e.child != nil {
		return
	}
	t := time.NewTicker(superviseEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pid, alive := e.postmaster()
		if alive {
			continue
		}
		e.log.Error("embedded PostgreSQL exited; restarting it", "pid", pid, "dir", e.pgdata)
		backoff := restartBackoffFirst
		for attempt := 1; ; attempt++ {
			if attempt > 1 {
				if _, up := e.postmaster(); up {
					// A start that timed out came up after all.
					e.log.Warn("embedded PostgreSQL restarted", "attempt", attempt-1, "port", e.port)
					break
				}
			}
			err := e.start(e.opts)
			if err == nil {
				e.log.Warn("embedded PostgreSQL restarted", "attempt", attempt, "port", e.port)
				break
			}
			e.log.Error("restart embedded PostgreSQL failed", "attempt", attempt, "err", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, restartBackoffMax)
		}
	}
}

// postmaster returns the PID in postmaster.pid and whether it is a live
// PostgreSQL process.
func (e *Embedded) postmaster() (int, bool) {
	b, err := os.ReadFile(filepath.Join(e.pgdata, "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	return pid, pid > 0 && isPostgresProcess(pid)
}

// reachable reports whether a user (uid, in groups gids) may pass through
// dir and every directory above it, as the embedded server's user must to
// reach its data under data_dir. Run as root, gentd creates data_dir; a
// parent such as root's home (mode 0700) would stop the server's user with
// an initdb error that does not say why.
func reachable(dir string, uid uint32, gids []uint32) error {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("data_dir: %w", err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		mode := fi.Mode().Perm()
		inGroup := false
		for _, g := range gids {
			inGroup = inGroup || g == st.Gid
		}
		switch {
		case st.Uid == uid:
			ok = mode&0o100 != 0
		case inGroup:
			ok = mode&0o010 != 0
		default:
			ok = mode&0o001 != 0
		}
		if !ok {
			return fmt.Errorf("data_dir %s: the embedded PostgreSQL server runs as the postgres user, which cannot "+
				"enter %s (mode %04o, owner uid %d): choose a data_dir outside it (e.g. /var/lib/gent), or let others "+
				"pass through it (chmod o+x %s)", dir, d, mode, st.Uid, d)
		}
		if parent := filepath.Dir(d); parent == d {
			return nil
		}
	}
}

func (e *Embedded) initdb() error {
	if _, err := os.Stat(filepath.Join(e.pgdata, "PG_VERSION")); err == nil {
		return nil
	}
	dataDir := filepath.Dir(e.root)
	pwFile := filepath.Join(dataDir, "postgres.password")
	if _, err := os.Stat(pwFile); errors.Is(err, os.ErrNotExist) {
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		if err := os.WriteFile(pwFile, []byte(hex.EncodeToString(b)+"\n"), 0o600); err != nil {
			return fmt.Errorf("write database password: %w", err)
		}
	}
	pw, err := os.ReadFile(pwFile)
	if err != nil {
		return fmt.Errorf("read database password: %w", err)
	}
	// initdb reads the superuser password from a file the server user can read.
	tmpPw := filepath.Join(e.root, "initdb.pw")
	if err := os.WriteFile(tmpPw, pw, 0o600); err != nil {
		return fmt.Errorf("write initdb password file: %w", err)
	}
	defer os.Remove(tmpPw)
	if e.cred != nil {
		_ = os.Chown(tmpPw, int(e.cred.Uid), int(e.cred.Gid))
	}
	_ = os.RemoveAll(e.pgdata) // a half-finished earlier initdb
	e.log.Info("initialising embedded PostgreSQL cluster", "dir", e.pgdata)
	out, err := e.run(filepath.Join(e.binDir, "initdb"), "-D", e.pgdata, "-U", "gent",
		"--auth=scram-sha-256", "--pwfile="+tmpPw, "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions")
	if err != nil {
		// Older systems may lack the C.UTF-8 locale.
		out, err = e.run(filepath.Join(e.binDir, "initdb"), "-D", e.pgdata, "-U", "gent",
			"--auth=scram-sha-256", "--pwfile="+tmpPw, "-E", "UTF8", "--locale=C")
		if err != nil {
			return fmt.Errorf("initdb failed: %v: %s", err, lastLines(out, 8))
		}
	}
	return nil
}

// clearStale deals with what a crash leaves behind: a postmaster.pid whose
// process is gone (removed), or a server of ours still running after the
// daemon was killed (stopped, so that it restarts with our settings). It
// runs holding the data-dir lock, so a running server found here has no
// live daemon: its owner died without stopping it.
func (e *Embedded) clearStale() error {
	pidFile := filepath.Join(e.pgdata, "postmaster.pid")
	b, err := os.ReadFile(pidFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("read %s: %w", pidFile, err)
	}
	lines := strings.Split(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(lines[0]))
	if pid > 0 && isPostgresProcess(pid) {
		e.log.Warn("embedded PostgreSQL left running by a daemon that died; restarting it", "pid", pid)
		if out, err := e.run(filepath.Join(e.binDir, "pg_ctl"), "-D", e.pgdata, "-m", "fast", "-w", "-t", "60", "stop"); err != nil {
			return fmt.Errorf("stop leftover PostgreSQL (pid %d): %v: %s", pid, err, lastLines(out, 5))
		}
		return nil
	}
	e.log.Warn("removing stale postmaster.pid", "pid", pid)
	if err := os.Remove(pidFile); err != nil {
		return fmt.Errorf("remove stale postmaster.pid: %w", err)
	}
	return nil
}

func isPostgresProcess(pid int) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	exe := strings.SplitN(string(cmdline), "\x00", 2)[0]
	return strings.Contains(filepath.Base(exe), "postgres") || strings.Contains(filepath.Base(exe), "postmaster")
}

func (e *Embedded) serverArgs(opts EmbeddedOptions) []string {
	args := []string{"-p", strconv.Itoa(e.port), "-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=", "-c", "max_connections=200"}
	keys := make([]string, 0, len(opts.Settings))
	for k := range opts.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "-c", k+"="+opts.Settings[k])
	}
	return args
}

func (e *Embedded) start(opts EmbeddedOptions) error {
	logFile := filepath.Join(e.root, "postgres.log")
	args := e.serverArgs(opts)
	if opts.Child {
		f, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("open postgres log: %w", err)
		}
		if e.cred != nil {
			// The server's user appends to it when pg_ctl starts it later.
			_ = f.Chown(int(e.cred.Uid), int(e.cred.Gid))
		}
		cmd := exec.Command(filepath.Join(e.binDir, "postgres"), append([]string{"-D", e.pgdata}, args...)...)
		cmd.Stdout, cmd.Stderr = f, f
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: e.cred, Setpgid: true, Pdeathsig: syscall.SIGQUIT}
		if err := cmd.Start(); err != nil {
			f.Close()
			return fmt.Errorf("start postgres: %w", err)
		}
		e.child = cmd
		e.exited = make(chan struct{})
		go func() { _ = cmd.Wait(); f.Close(); close(e.exited) }()
		return e.waitReady(30 * time.Second)
	}
	// pg_ctl passes -o through a shell: quote each argument.
	var o []string
	for _, a := range args {
		o = append(o, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
	}
	out, err := e.run(filepath.Join(e.binDir, "pg_ctl"), "-D", e.pgdata, "-l", logFile, "-w", "-t", "120",
		"-o", strings.Join(o, " "), "start")
	if err != nil {
		log, _ := os.ReadFile(logFile)
		return fmt.Errorf("start embedded PostgreSQL: %v: %s %s", err, lastLines(out, 5), lastLines(log, 10))
	}
	e.log.Info("embedded PostgreSQL started", "dir", e.pgdata, "port", e.port)
	return nil
}

func (e *Embedded) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", e.port), time.Second)
		if err == nil {
			c.Close()
			if err := exec.Command(filepath.Join(e.binDir, "pg_isready"), "-h", "127.0.0.1", "-p", strconv.Itoa(e.port)).Run(); err == nil {
				return nil
			}
		}
		if e.exited != nil {
			select {
			case <-e.exited:
				log, _ := os.ReadFile(filepath.Join(e.root, "postgres.log"))
				return fmt.Errorf("postgres exited: %s", lastLines(log, 10))
			default:
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(e.root, "postgres.log"))
	return fmt.Errorf("postgres did not become ready: %s", lastLines(log, 10))
}

// URL returns a connection URL for the given database.
func (e *Embedded) URL(database string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword("gent", e.password),
		Host: fmt.Sprintf("127.0.0.1:%d", e.port), Path: "/" + database, RawQuery: "sslmode=disable"}
	return u.String()
}

// Stop shuts the cluster down (fast mode: open sessions are ended, committed
// data is kept).
// The data-dir lock is released afterwards.
func (e *Embedded) Stop() error {
	defer e.unlock()
	if e.child != nil {
		_ = e.child.Process.Signal(syscall.SIGINT)
		select {
		case <-e.exited:
		case <-time.After(30 * time.Second):
			_ = e.child.Process.Kill()
		}
		return nil
	}
	out, err := e.run(filepath.Join(e.binDir, "pg_ctl"), "-D", e.pgdata, "-m", "fast", "-w", "-t", "60", "stop")
	if err != nil {
		return fmt.Errorf("stop embedded PostgreSQL: %v: %s", err, lastLines(out, 5))
	}
	e.log.Info("embedded PostgreSQL stopped")
	return nil
}

// run executes a PostgreSQL tool as the server's user, in its own process
// group so that a Ctrl-C meant for gentd does not reach the server first.
func (e *Embedded) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = e.root
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: e.cred, Setpgid: true}
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	return buf.Bytes(), err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// RunningEmbeddedURL returns the URL of database on the embedded cluster
// under dataDir while its server runs (started by a gentd), without
// starting or locking anything: the port is read from the server's
// postmaster.pid, the password from data_dir. inUse reports whether a
// gentd holds the data directory. It fails when the server is not running.
func RunningEmbeddedURL(dataDir, database string) (url string, inUse bool, err error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return "", false, err
	}
	inUse = dataDirLocked(abs)
	e := &Embedded{root: filepath.Join(abs, "postgres")}
	e.pgdata = filepath.Join(e.root, "data")
	if _, alive := e.postmaster(); !alive {
		return "", inUse, fmt.Errorf("the embedded PostgreSQL server under %s is not running", e.pgdata)
	}
	b, err := os.ReadFile(filepath.Join(e.pgdata, "postmaster.pid"))
	if err != nil {
		return "", inUse, err
	}
	// Line 4 of postmaster.pid is the port.
	lines := strings.Split(string(b), "\n")
	if len(lines) < 4 {
		return "", inUse, fmt.Errorf("postmaster.pid names no port")
	}
	if e.port, err = strconv.Atoi(strings.TrimSpace(lines[3])); err != nil {
		return "", inUse, fmt.Errorf("postmaster.pid names no port: %q", lines[3])
	}
	pw, err := os.ReadFile(filepath.Join(abs, "postgres.password"))
	if err != nil {
		return "", inUse, fmt.Errorf("read embedded database password: %w", err)
	}
	e.password = strings.TrimSpace(string(pw))
	return e.URL(database), inUse, nil
}

// dataDirLocked reports whether a process holds data_dir/gentd.lock. The
// lock is taken and released at once when free; the file is not created.
func dataDirLocked(abs string) bool {
	f, err := os.Open(filepath.Join(abs, "gentd.lock"))
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return errors.Is(err, syscall.EWOULDBLOCK)
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}
