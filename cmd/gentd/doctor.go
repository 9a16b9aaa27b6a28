package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/emersion/go-smtp"

	"gent/daemon/config"
	"gent/daemon/domains"
	"gent/daemon/store"
)

// Doctor's thresholds.
const (
	skewWarn     = 2 * time.Second
	skewFail     = time.Minute
	certWarnLeft = 14 * 24 * time.Hour
	diskWarnFree = 0.05 // of the file system
	diskFailFree = 0.01
	diskWarnMin  = 1 << 30
	diskFailMin  = 100 << 20
)

// doctor prints one line per check. It reads only: it starts nothing,
// writes nothing, and with the embedded cluster connects to the server a
// running gentd started (never starting a second one on its data_dir).
type doctor struct {
	out   io.Writer
	cfg   config.Config
	fails int
}

func (d *doctor) line(level, what, format string, args ...any) {
	if level == "fail" {
		d.fails++
	}
	fmt.Fprintf(d.out, "%-4s  %-10s  %s\n", level, what, fmt.Sprintf(format, args...))
}

// doctorCommand runs "gentd doctor": exit status 1 when a check fails.
func doctorCommand(ctx context.Context, cfg config.Config, cfgPath string, stdout io.Writer) error {
	d := &doctor{out: stdout, cfg: cfg}
	src := "defaults and GENT_* environment"
	if cfgPath != "" {
		src = cfgPath + " and GENT_* environment"
	}
	d.line("ok", "config", "loaded and valid (%s); data_dir %s, hostname %s", src, cfg.DataDir, cfg.Hostname)

	st := d.database(ctx)
	if st != nil {
		defer st.Close()
		d.migrations(ctx, st)
		d.clock(ctx, st)
		d.dns(ctx, st)
	}
	d.smtpListener(ctx)
	d.httpListener(ctx, "http", "http.addr", cfg.HTTP.Addr, "/readyz")
	if cfg.Metrics.Addr != "" {
		d.httpListener(ctx, "metrics", "metrics.addr", cfg.Metrics.Addr, "/metrics")
	}
	d.disk()
	if d.fails > 0 {
		return fmt.Errorf("doctor: %d check(s) failed", d.fails)
	}
	return nil
}

func (d *doctor) database(ctx context.Context) *store.Store {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	url, where := d.cfg.Database.URL, "database.url"
	if url == "" {
		var inUse bool
		var err error
		url, inUse, err = store.RunningEmbeddedURL(d.cfg.DataDir, "gent")
		if err != nil {
			why := "no gentd holds data_dir"
			if inUse {
				why = "a gentd holds data_dir"
			}
			d.line("fail", "database", "embedded PostgreSQL: %v (%s); doctor does not start it. Not checked: migrations, clock, dns", err, why)
			return nil
		}
		where = "the embedded server a running gentd started"
		if !inUse {
			where = "the embedded server (left running; no gentd holds data_dir)"
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := store.Connect(cctx, url, 2, log)
	if err != nil {
		d.line("fail", "database", "%s: %v. Not checked: migrations, clock, dns", where, err)
		return nil
	}
	var version string
	if err := st.SQL.QueryRowContext(cctx, `SHOW server_version`).Scan(&version); err != nil {
		d.line("fail", "database", "%s: %v", where, err)
		st.Close()
		return nil
	}
	d.line("ok", "database", "reachable (%s), PostgreSQL %s", where, version)
	return st
}

func (d *doctor) migrations(ctx context.Context, st *store.Store) {
	cur, latest, err := st.MigrationVersions(ctx)
	switch {
	case err != nil:
		d.line("fail", "migrations", "%v", err)
	case cur == latest:
		d.line("ok", "migrations", "current (version %d)", cur)
	case cur < latest:
		d.line("fail", "migrations", "database at version %d, this gentd has %d: start gentd to apply the rest", cur, latest)
	default:
		d.line("fail", "migrations", "database at version %d, newer than this gentd's %d: a newer gentd migrated it", cur, latest)
	}
}

func (d *doctor) clock(ctx context.Context, st *store.Store) {
	t0 := time.Now()
	var dbNow time.Time
	if err := st.SQL.QueryRowContext(ctx, `SELECT clock_timestamp()`).Scan(&dbNow); err != nil {
		d.line("fail", "clock", "read the database's clock: %v", err)
		return
	}
	rtt := time.Since(t0)
	// The database read its clock about halfway through the round trip.
	skew := dbNow.Sub(t0.Add(rtt / 2))
	abs := skew.Abs()
	switch {
	case abs >= skewFail:
		d.line("fail", "clock", "this host's clock is %s off the database's: tokens, sessions and DKIM signatures depend on it", skew.Round(time.Millisecond))
	case abs >= skewWarn:
		d.line("warn", "clock", "this host's clock is %s off the database's (run NTP on both)", skew.Round(time.Millisecond))
	default:
		d.line("ok", "clock", "within %s of the database's", abs.Round(time.Millisecond)+time.Millisecond)
	}
}

func (d *doctor) dns(ctx context.Context, st *store.Store) {
	resolver := d.cfg.DNS.Resolver
	if resolver == "" {
		resolver = "the system resolver"
	}
	reports, err := domains.CheckDNS(ctx, st, d.cfg)
	if err != nil {
		d.line("fail", "dns", "%v", err)
		return
	}
	if len(reports) == 0 {
		d.line("ok", "dns", "no domains yet (sandbox domains have no DNS of their own)")
		return
	}
	for _, r := range reports {
		required, other := r.Problems()
		switch {
		case len(required) > 0:
			d.line("fail", "dns", "%s: %s (through %s)", r.Name, strings.Join(append(required, other...), "; "), resolver)
		case len(other) > 0:
			d.line("warn", "dns", "%s: required records valid; %s", r.Name, strings.Join(other, "; "))
		default:
			d.line("ok", "dns", "%s: all %d records as expected (through %s)", r.Name, len(r.Records), resolver)
		}
	}
}

// dialable turns a listen address into one to connect to: an unspecified
// host (0.0.0.0, ::, empty) is reached on loopback.
func dialable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		if ip != nil && ip.To4() == nil {
			return net.JoinHostPort("::1", port)
		}
		return net.JoinHostPort("127.0.0.1", port)
	}
	return addr
}

// smtpListener connects to smtp.addr, reads the greeting, and checks the
// certificate STARTTLS presents: the one the server really serves, from
// smtp.tls_cert or generated.
func (d *doctor) smtpListener(ctx context.Context) {
	addr := dialable(d.cfg.SMTP.Addr)
	conn, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", addr)
	if err != nil {
		d.line("fail", "smtp", "nothing answers on smtp.addr %s: %v", addr, err)
		d.line("warn", "tls", "not checked: the SMTP listener is down")
		return
	}
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	c := smtp.NewClient(conn)
	err = c.Hello("doctor.gent.invalid")
	starttls, _ := c.Extension("STARTTLS")
	if err == nil {
		_ = c.Quit()
	}
	c.Close()
	if err != nil {
		d.line("fail", "smtp", "smtp.addr %s: %v", addr, err)
		return
	}
	d.line("ok", "smtp", "smtp.addr %s answers", addr)
	if !starttls {
		d.line("warn", "tls", "STARTTLS not offered on smtp.addr: senders deliver in plaintext (set smtp.tls_cert and smtp.tls_key)")
		return
	}
	var leaf *x509.Certificate
	var chain []*x509.Certificate
	tcfg := &tls.Config{ServerName: d.cfg.Hostname, InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) > 0 {
				leaf, chain = cs.PeerCertificates[0], cs.PeerCertificates
			}
			return nil
		}}
	conn, err = (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", addr)
	if err == nil {
		_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
		if c, err = smtp.NewClientStartTLS(conn, tcfg); err == nil {
			_ = c.Quit()
			c.Close()
		} else {
			conn.Close()
		}
	}
	if err != nil || leaf == nil {
		d.line("fail", "tls", "STARTTLS on smtp.addr failed: %v", err)
		return
	}
	d.certificate(leaf, chain)
}

func (d *doctor) certificate(leaf *x509.Certificate, chain []*x509.Certificate) {
	now := time.Now()
	desc := fmt.Sprintf("certificate for %s valid %s to %s", strings.Join(leaf.DNSNames, ", "),
		leaf.NotBefore.UTC().Format(time.DateOnly), leaf.NotAfter.UTC().Format(time.DateOnly))
	switch {
	case now.After(leaf.NotAfter):
		d.line("fail", "tls", "%s: expired", desc)
		return
	case now.Before(leaf.NotBefore):
		d.line("fail", "tls", "%s: not valid yet", desc)
		return
	}
	if err := leaf.VerifyHostname(d.cfg.Hostname); err != nil {
		d.line("fail", "tls", "%s: does not name hostname %s", desc, d.cfg.Hostname)
		return
	}
	if left := leaf.NotAfter.Sub(now); left < certWarnLeft {
		d.line("warn", "tls", "%s: expires in %s", desc, left.Round(time.Hour))
		return
	}
	pool := x509.NewCertPool()
	for _, c := range chain[1:] {
		pool.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: d.cfg.Hostname, Intermediates: pool}); err != nil {
		// Self-signed: issued by itself and signed with its own key (whether
		// or not it claims to be a CA, which CheckSignatureFrom requires).
		if bytes.Equal(leaf.RawIssuer, leaf.RawSubject) && leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature) == nil {
			d.line("warn", "tls", "%s: self-signed (senders encrypt but cannot authenticate it; set smtp.tls_cert for a CA-issued one)", desc)
		} else {
			d.line("warn", "tls", "%s: not trusted by this host: %v", desc, err)
		}
		return
	}
	d.line("ok", "tls", "%s", desc)
}

func (d *doctor) httpListener(ctx context.Context, what, key, addr, path string) {
	url := "http://" + dialable(addr) + path
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(rctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.line("fail", what, "nothing answers on %s %s: %v", key, addr, errors.Unwrap(err))
		return
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		d.line("fail", what, "GET %s answers %d", url, resp.StatusCode)
		return
	}
	d.line("ok", what, "GET %s answers 200", url)
}

func (d *doctor) disk() {
	var fs syscall.Statfs_t
	if err := syscall.Statfs(d.cfg.DataDir, &fs); err != nil {
		d.line("fail", "disk", "data_dir %s: %v", d.cfg.DataDir, err)
		return
	}
	free := fs.Bavail * uint64(fs.Bsize)
	total := fs.Blocks * uint64(fs.Bsize)
	share := float64(fs.Bavail) / float64(max(fs.Blocks, 1))
	msg := fmt.Sprintf("%.1f GiB free of %.1f GiB (%.0f%%) under data_dir %s", float64(free)/(1<<30), float64(total)/(1<<30), share*100, d.cfg.DataDir)
	switch {
	case share < diskFailFree || free < diskFailMin:
		d.line("fail", "disk", "%s: PostgreSQL stops accepting writes when it is full", msg)
	case share < diskWarnFree || free < diskWarnMin:
		d.line("warn", "disk", "%s: low", msg)
	default:
		d.line("ok", "disk", "%s", msg)
	}
}
