// Package config loads gentd's configuration: defaults, then a TOML file,
// then GENT_<SECTION>_<KEY> environment overrides. Unknown keys and bad
// values stop start-up with a message naming the key (and the file line).
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	toml "github.com/pelletier/go-toml/v2"
)

// sharedBuffersRe is a PostgreSQL memory size in whole kB, MB or GB.
var sharedBuffersRe = regexp.MustCompile(`^[1-9][0-9]*(kB|MB|GB)$`)

// Duration is a time.Duration written as a Go duration string ("72h").
type Duration time.Duration

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration like \"30s\" or \"72h\": %q", string(b))
	}
	if v < 0 {
		return fmt.Errorf("duration must not be negative: %q", string(b))
	}
	*d = Duration(v)
	return nil
}

func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

type Config struct {
	DataDir  string `toml:"data_dir"`
	Hostname string `toml:"hostname"`

	HTTP      HTTP      `toml:"http"`
	SMTP      SMTP      `toml:"smtp"`
	Database  Database  `toml:"database"`
	DNS       DNS       `toml:"dns"`
	Outbound  Outbound  `toml:"outbound"`
	Approvals Approvals `toml:"approvals"`
	Webhooks  Webhooks  `toml:"webhooks"`
	Events    Events    `toml:"events"`
	Security  Security  `toml:"security"`
	Auth      Auth      `toml:"auth"`
	Domains   Domains   `toml:"domains"`
	Sandbox   Sandbox   `toml:"sandbox"`
	Jobs      Jobs      `toml:"jobs"`
	Log       Log       `toml:"log"`
	Caps      Caps      `toml:"caps"`
	Debug     Debug     `toml:"debug"`
	Metrics   Metrics   `toml:"metrics"`
}

type HTTP struct {
	Addr               string `toml:"addr"`
	BodyLimitBytes     int    `toml:"body_limit_bytes"`
	RateLimitPerMinute int    `toml:"rate_limit_per_minute"`
	// TrustedProxies lists the addresses and CIDR ranges (comma-separated)
	// of reverse proxies whose ProxyHeader names the client; from any
	// other peer the header is ignored. Empty: the header is never read.
	TrustedProxies string `toml:"trusted_proxies"`
	// ProxyHeader is the header the trusted proxies write:
	// "X-Forwarded-For" (the default) or "Forwarded" (RFC 7239). The
	// other one is never read.
	ProxyHeader string `toml:"proxy_header"`
}

// The headers http.proxy_header may name.
const (
	HeaderXForwardedFor = "X-Forwarded-For"
	HeaderForwarded     = "Forwarded"
)

type SMTP struct {
	Addr            string   `toml:"addr"`
	MaxMessageBytes int64    `toml:"max_message_bytes"`
	MaxRecipients   int      `toml:"max_recipients"`
	MaxConnections  int      `toml:"max_connections"`
	MaxPerIP        int      `toml:"max_connections_per_ip"`
	ReadTimeout     Duration `toml:"read_timeout"`
	WriteTimeout    Duration `toml:"write_timeout"`
	MaxSession      Duration `toml:"max_session"`
	TLSCert         string   `toml:"tls_cert"`
	TLSKey          string   `toml:"tls_key"`
	MaxLineLength   int      `toml:"max_line_length"`
	DataTimeout     Duration `toml:"data_timeout"`
	MaxHeaderBytes  int      `toml:"max_header_bytes"`
	MaxMIMEParts    int      `toml:"max_mime_parts"`
	MaxMIMEDepth    int      `toml:"max_mime_depth"`
	MaxReceived     int      `toml:"max_received_headers"`
	// ProxyTrusted lists the addresses and CIDR ranges (comma-separated)
	// of TCP load balancers that must open every connection with a PROXY
	// protocol v2 (or v1) header naming the client. Empty: no PROXY
	// header is accepted from anyone.
	ProxyTrusted string `toml:"proxy_trusted"`
}

type Database struct {
	URL           string `toml:"url"`
	MaxConns      int    `toml:"max_conns"`
	SharedBuffers string `toml:"shared_buffers"`
}

type DNS struct {
	Resolver     string   `toml:"resolver"`
	Timeout      Duration `toml:"timeout"`
	CacheEntries int      `toml:"cache_entries"`
	CacheMaxTTL  Duration `toml:"cache_max_ttl"`
}

type Outbound struct {
	Mode                    string   `toml:"mode"`
	Port                    int      `toml:"port"`
	RelayAddr               string   `toml:"relay_addr"`
	RelayUsername           string   `toml:"relay_username"`
	RelayPassword           string   `toml:"relay_password"`
	RelayInsecureSkipVerify bool     `toml:"relay_insecure_skip_verify"`
	GiveUpAfter             Duration `toml:"give_up_after"`
	RetryIntervals          string   `toml:"retry_intervals"`
	ConnectTimeout          Duration `toml:"connect_timeout"`
	CommandTimeout          Duration `toml:"command_timeout"`
	MaxRecipients           int      `toml:"max_recipients"`
	MaxMessageBytes         int64    `toml:"max_message_bytes"`
	RatePerMinute           int      `toml:"rate_per_minute"`
	RecipientsPerDay        int      `toml:"recipients_per_day"`
	Workers                 int      `toml:"workers"`
}

// AttemptTimeout bounds one delivery attempt: two connections (MX and a
// fallback, or the relay and STARTTLS) and the SMTP transaction.
func (o Outbound) AttemptTimeout() time.Duration {
	return o.ConnectTimeout.D()*2 + o.CommandTimeout.D()*3
}

// Retries parses retry_intervals: the waits after the 1st, 2nd, ...
// failed attempt; the last one repeats.
func (o Outbound) Retries() ([]time.Duration, error) {
	var out []time.Duration
	for _, f := range strings.Split(o.RetryIntervals, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("want comma-separated positive durations like \"5m,30m,1h\", got %q", o.RetryIntervals)
		}
		out = append(out, d)
	}
	return out, nil
}

type Approvals struct {
	ExpireAfter   Duration `toml:"expire_after"`
	CheckInterval Duration `toml:"check_interval"`
}

type Webhooks struct {
	AllowPrivateTargets bool `toml:"allow_private_targets"`
	DisableAfter        int  `toml:"disable_after_failures"`
	// MaxAttempts is how often one delivery is tried before it fails.
	MaxAttempts int `toml:"max_attempts"`
	// RetryBackoff is the wait after the first failed attempt; each later
	// wait is four times the previous one, at most 6 hours.
	RetryBackoff Duration `toml:"retry_backoff"`
	// Timeout bounds one delivery request (connect to response headers).
	Timeout Duration `toml:"timeout"`
}

type Events struct {
	// Heartbeat is how often an idle SSE stream gets a comment line.
	Heartbeat Duration `toml:"heartbeat"`
}

type Security struct {
	MasterKey string `toml:"master_key"`
}

type Auth struct {
	SessionTTL       Duration `toml:"session_ttl"`
	LoginMaxFailures int      `toml:"login_max_failures"`
	LoginLockout     Duration `toml:"login_lockout"`
	// PasswordResetTTL is how long a one-time password reset code
	// (POST /v1/users/{id}/password-reset) stays usable.
	PasswordResetTTL Duration `toml:"password_reset_ttl"`
}

// Jobs tunes the River job client.
type Jobs struct {
	// RescueAfter is how long a job may run before it is taken to be
	// orphaned by a crashed daemon and run again; 0 (the default) takes
	// twice the delivery attempt's timeout (Config.RescueAfter).
	RescueAfter Duration `toml:"rescue_after"`
}

// RescueAfter is how long after its attempt began a job still "running"
// is taken to be orphaned by a daemon that died, and run again:
// jobs.rescue_after when set, else twice a delivery attempt's timeout —
// long enough that no live attempt is run twice, short enough that a
// crash delays mail by minutes, not an hour.
func (c Config) RescueAfter() time.Duration {
	if c.Jobs.RescueAfter > 0 {
		return c.Jobs.RescueAfter.D()
	}
	return 2 * c.Outbound.AttemptTimeout()
}

type Domains struct {
	ReverifyInterval Duration `toml:"reverify_interval"`
}

// Sandbox is the domain every organization gets at setup to try Gent
// without owning a domain (docs/domains.md).
type Sandbox struct {
	// Domain is the parent of the organizations' sandbox domains (each is
	// <org-slug>.<domain>); empty turns the sandbox off: no sandbox at
	// setup, and existing sandbox inboxes refuse sends.
	Domain string `toml:"domain"`
}

// SandboxOff is what GENT_SANDBOX_DOMAIN may hold to turn the sandbox off
// (an empty environment variable is read as unset; see Getenv).
const SandboxOff = "off"

// Getenv adapts an environment lookup (os.LookupEnv) for Load: a variable
// that is set but empty is reported as unset, except GENT_SANDBOX_DOMAIN
// and GENT_METRICS_ADDR, for which empty means "off" (DESIGN sections 12
// and 14: empty disables them).
func Getenv(lookup func(string) (string, bool)) func(string) string {
	return func(k string) string {
		v, ok := lookup(k)
		if ok && v == "" && k == EnvName("sandbox.domain") {
			return SandboxOff
		}
		if ok && v == "" && k == EnvName("metrics.addr") {
			return MetricsOff
		}
		return v
	}
}

type Caps struct {
	// SampleInterval is how often every inbox's usage is sampled into the
	// hourly usage records (the resolution of overage billing).
	SampleInterval Duration `toml:"sample_interval"`
}

// Debug holds opt-in diagnostics.
type Debug struct {
	// PprofAddr, when set, serves net/http/pprof on this loopback address
	// (a listener of its own, never the API's).
	PprofAddr string `toml:"pprof_addr"`
}

// Metrics is the Prometheus endpoint (docs/operations.md).
type Metrics struct {
	// Addr serves /metrics on a listener of its own; empty (or "off")
	// turns it off.
	Addr string `toml:"addr"`
}

// MetricsOff is what GENT_METRICS_ADDR may hold to turn metrics off (an
// empty environment variable is read as unset; see Getenv).
const MetricsOff = "off"

type Log struct {
	Level  string `toml:"level"`
	Format string `toml:"format"`
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		DataDir:  "./var",
		Hostname: "mx.gent.localhost",
		HTTP:     HTTP{Addr: "127.0.0.1:8080", BodyLimitBytes: 36 << 20, RateLimitPerMinute: 600, ProxyHeader: HeaderXForwardedFor},
		SMTP: SMTP{
			Addr: "127.0.0.1:2525", MaxMessageBytes: 26214400, MaxRecipients: 100,
			MaxConnections: 1000, MaxPerIP: 50,
			ReadTimeout: Duration(5 * time.Minute), WriteTimeout: Duration(5 * time.Minute),
			MaxSession: Duration(30 * time.Minute), MaxLineLength: 8192,
			DataTimeout: Duration(10 * time.Minute), MaxHeaderBytes: 256 << 10,
			MaxMIMEParts: 500, MaxMIMEDepth: 20, MaxReceived: 30,
		},
		Database: Database{MaxConns: 20},
		DNS:      DNS{Timeout: Duration(5 * time.Second), CacheEntries: 10000, CacheMaxTTL: Duration(5 * time.Minute)},
		Outbound: Outbound{Mode: "direct", Port: 25, GiveUpAfter: Duration(120 * time.Hour),
			RetryIntervals: "5m,10m,30m,1h,2h,4h", ConnectTimeout: Duration(30 * time.Second),
			CommandTimeout: Duration(5 * time.Minute), MaxRecipients: 50, MaxMessageBytes: 26214400,
			RatePerMinute: 60, RecipientsPerDay: 2000, Workers: 100},
		Approvals: Approvals{ExpireAfter: Duration(72 * time.Hour), CheckInterval: Duration(time.Minute)},
		Webhooks: Webhooks{DisableAfter: 20, MaxAttempts: 10, RetryBackoff: Duration(10 * time.Second),
			Timeout: Duration(15 * time.Second)},
		Events: Events{Heartbeat: Duration(15 * time.Second)},
		Auth: Auth{SessionTTL: Duration(7 * 24 * time.Hour), LoginMaxFailures: 5,
			LoginLockout: Duration(15 * time.Minute), PasswordResetTTL: Duration(time.Hour)},
		Domains: Domains{ReverifyInterval: Duration(time.Hour)},
		Sandbox: Sandbox{Domain: "sandbox.gent.localhost"},
		Jobs:    Jobs{},
		Log:     Log{Level: "info", Format: "text"},
		Caps:    Caps{SampleInterval: Duration(5 * time.Minute)},
		Metrics: Metrics{Addr: "127.0.0.1:9464"},
	}
}

// Load reads defaults, then path (if not empty), then the environment.
func Load(path string, getenv func(string) string) (Config, error) {
	cfg := Default()
	var src []byte
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("read config: %w", err)
		}
		src = b
		dec := toml.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cfg); err != nil {
			return cfg, describeTOMLError(path, err)
		}
	}
	if err := applyEnv(&cfg, getenv); err != nil {
		return cfg, err
	}
	if err := cfg.validate(); err != nil {
		var fe *fieldError
		if errors.As(err, &fe) {
			if line := findKeyLine(src, fe.key); line > 0 {
				return cfg, fmt.Errorf("config %s line %d: %s: %s", path, line, fe.key, fe.msg)
			}
			return cfg, fmt.Errorf("config: %s: %s", fe.key, fe.msg)
		}
		return cfg, err
	}
	return cfg, nil
}

func describeTOMLError(path string, err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) && len(strict.Errors) > 0 {
		var msgs []string
		for _, e := range strict.Errors {
			row, _ := e.Position()
			msgs = append(msgs, fmt.Sprintf("config %s line %d: unknown key %q", path, row, strings.Join(e.Key(), ".")))
		}
		return errors.New(strings.Join(msgs, "; "))
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, _ := de.Position()
		key := strings.Join(de.Key(), ".")
		if key != "" {
			return fmt.Errorf("config %s line %d: %s: %s", path, row, key, de.Error())
		}
		return fmt.Errorf("config %s line %d: %s", path, row, de.Error())
	}
	return fmt.Errorf("config %s: %w", path, err)
}

// findKeyLine returns the 1-based line where a dotted key ("smtp.addr") is
// set in a TOML source, or 0.
func findKeyLine(src []byte, dotted string) int {
	if len(src) == 0 {
		return 0
	}
	section, key := "", dotted
	if i := strings.LastIndex(dotted, "."); i >= 0 {
		section, key = dotted[:i], dotted[i+1:]
	}
	cur := ""
	for i, line := range strings.Split(string(src), "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]") {
			cur = strings.TrimSpace(strings.Trim(t, "[]"))
			continue
		}
		if k, _, ok := strings.Cut(t, "="); ok && strings.TrimSpace(k) == key && cur == section {
			return i + 1
		}
	}
	return 0
}

// EnvName returns the environment variable that overrides a dotted key.
func EnvName(dotted string) string {
	return "GENT_" + strings.ToUpper(strings.ReplaceAll(dotted, ".", "_"))
}

func applyEnv(cfg *Config, getenv func(string) string) error {
	return walk(reflect.ValueOf(cfg).Elem(), "", func(key string, v reflect.Value) error {
		name := EnvName(key)
		raw := getenv(name)
		if raw == "" {
			return nil
		}
		if err := setFromString(v, raw); err != nil {
			return fmt.Errorf("environment %s (%s): %v", name, key, err)
		}
		return nil
	})
}

// Keys lists every dotted key of the configuration, in declaration order.
func Keys() []string {
	var keys []string
	cfg := Default()
	_ = walk(reflect.ValueOf(&cfg).Elem(), "", func(key string, _ reflect.Value) error {
		keys = append(keys, key)
		return nil
	})
	return keys
}

func walk(v reflect.Value, prefix string, fn func(string, reflect.Value) error) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := f.Tag.Get("toml")
		key := name
		if prefix != "" {
			key = prefix + "." + name
		}
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct {
			if err := walk(fv, key, fn); err != nil {
				return err
			}
			continue
		}
		if err := fn(key, fv); err != nil {
			return err
		}
	}
	return nil
}

func setFromString(v reflect.Value, raw string) error {
	if u, ok := v.Addr().Interface().(interface{ UnmarshalText([]byte) error }); ok {
		return u.UnmarshalText([]byte(raw))
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(raw)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return fmt.Errorf("not an integer: %q", raw)
		}
		v.SetInt(n)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("not a boolean (true/false): %q", raw)
		}
		v.SetBool(b)
	default:
		return fmt.Errorf("unsupported type %s", v.Kind())
	}
	return nil
}

type fieldError struct{ key, msg string }

func (e *fieldError) Error() string { return e.key + ": " + e.msg }

func bad(key, format string, args ...any) error {
	return &fieldError{key: key, msg: fmt.Sprintf(format, args...)}
}

func checkAddr(key, addr string, allowEmpty bool) error {
	if addr == "" && allowEmpty {
		return nil
	}
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		return bad(key, "want host:port, got %q", addr)
	}
	return nil
}

func (c *Config) validate() error {
	if c.DataDir == "" {
		return bad("data_dir", "must not be empty")
	}
	if c.Hostname == "" || strings.ContainsAny(c.Hostname, " /:") {
		return bad("hostname", "want a host name, got %q", c.Hostname)
	}
	if err := checkAddr("http.addr", c.HTTP.Addr, false); err != nil {
		return err
	}
	if c.HTTP.BodyLimitBytes <= 0 {
		return bad("http.body_limit_bytes", "must be positive")
	}
	if c.HTTP.RateLimitPerMinute < 0 {
		return bad("http.rate_limit_per_minute", "must not be negative")
	}
	if _, err := ParseCIDRs(c.HTTP.TrustedProxies); err != nil {
		return bad("http.trusted_proxies", "%v", err)
	}
	switch {
	case strings.EqualFold(c.HTTP.ProxyHeader, HeaderXForwardedFor):
		c.HTTP.ProxyHeader = HeaderXForwardedFor
	case strings.EqualFold(c.HTTP.ProxyHeader, HeaderForwarded):
		c.HTTP.ProxyHeader = HeaderForwarded
	default:
		return bad("http.proxy_header", "want %s or %s, got %q", HeaderXForwardedFor, HeaderForwarded, c.HTTP.ProxyHeader)
	}
	if _, err := ParseCIDRs(c.SMTP.ProxyTrusted); err != nil {
		return bad("smtp.proxy_trusted", "%v", err)
	}
	if err := checkAddr("smtp.addr", c.SMTP.Addr, false); err != nil {
		return err
	}
	if c.SMTP.MaxMessageBytes <= 0 {
		return bad("smtp.max_message_bytes", "must be positive")
	}
	if c.SMTP.MaxRecipients <= 0 {
		return bad("smtp.max_recipients", "must be positive")
	}
	if c.SMTP.MaxConnections <= 0 {
		return bad("smtp.max_connections", "must be positive")
	}
	if c.SMTP.MaxPerIP <= 0 {
		return bad("smtp.max_connections_per_ip", "must be positive")
	}
	if c.SMTP.ReadTimeout <= 0 || c.SMTP.WriteTimeout <= 0 || c.SMTP.DataTimeout <= 0 || c.SMTP.MaxSession <= 0 {
		return bad("smtp.read_timeout", "read_timeout, write_timeout, data_timeout and max_session must be positive")
	}
	if c.SMTP.MaxLineLength < 1000 {
		return bad("smtp.max_line_length", "must be at least 1000 (RFC 5321)")
	}
	if c.SMTP.MaxHeaderBytes < 1024 {
		return bad("smtp.max_header_bytes", "must be at least 1024")
	}
	if c.SMTP.MaxMIMEParts <= 0 {
		return bad("smtp.max_mime_parts", "must be positive")
	}
	if c.SMTP.MaxMIMEDepth <= 0 {
		return bad("smtp.max_mime_depth", "must be positive")
	}
	if c.SMTP.MaxReceived <= 0 {
		return bad("smtp.max_received_headers", "must be positive")
	}
	if (c.SMTP.TLSCert == "") != (c.SMTP.TLSKey == "") {
		return bad("smtp.tls_cert", "tls_cert and tls_key must be set together")
	}
	if c.Database.URL != "" && !strings.HasPrefix(c.Database.URL, "postgres://") && !strings.HasPrefix(c.Database.URL, "postgresql://") {
		return bad("database.url", "want a postgres:// URL")
	}
	if c.Database.SharedBuffers != "" && !sharedBuffersRe.MatchString(c.Database.SharedBuffers) {
		return bad("database.shared_buffers", "want a size such as \"256MB\" or \"1GB\" (kB, MB, GB), or empty for automatic; got %q", c.Database.SharedBuffers)
	}
	if c.Database.MaxConns <= 0 {
		return bad("database.max_conns", "must be positive")
	}
	if err := checkAddr("dns.resolver", c.DNS.Resolver, true); err != nil {
		return err
	}
	if c.DNS.CacheEntries < 0 {
		return bad("dns.cache_entries", "must not be negative (0 turns the cache off)")
	}
	if c.DNS.CacheMaxTTL < 0 {
		return bad("dns.cache_max_ttl", "must not be negative")
	}
	switch c.Outbound.Mode {
	case "direct":
	case "relay":
		if c.Outbound.RelayAddr == "" {
			return bad("outbound.relay_addr", "required when outbound.mode is \"relay\"")
		}
	default:
		return bad("outbound.mode", "want \"direct\" or \"relay\", got %q", c.Outbound.Mode)
	}
	if err := checkAddr("outbound.relay_addr", c.Outbound.RelayAddr, true); err != nil {
		return err
	}
	if c.Outbound.Port <= 0 || c.Outbound.Port > 65535 {
		return bad("outbound.port", "want 1-65535, got %d", c.Outbound.Port)
	}
	if c.Outbound.GiveUpAfter <= 0 {
		return bad("outbound.give_up_after", "must be positive")
	}
	if _, err := c.Outbound.Retries(); err != nil {
		return bad("outbound.retry_intervals", "%v", err)
	}
	if c.Outbound.ConnectTimeout <= 0 || c.Outbound.CommandTimeout <= 0 {
		return bad("outbound.connect_timeout", "connect_timeout and command_timeout must be positive")
	}
	if c.Outbound.Workers <= 0 || c.Outbound.Workers > 10000 {
		return bad("outbound.workers", "want 1-10000, got %d", c.Outbound.Workers)
	}
	if c.Outbound.MaxRecipients <= 0 {
		return bad("outbound.max_recipients", "must be positive")
	}
	if c.Outbound.MaxMessageBytes <= 0 {
		return bad("outbound.max_message_bytes", "must be positive")
	}
	if c.Outbound.RatePerMinute < 0 || c.Outbound.RecipientsPerDay < 0 {
		return bad("outbound.rate_per_minute", "rate_per_minute and recipients_per_day must not be negative (0: no limit)")
	}
	if c.Approvals.ExpireAfter <= 0 {
		return bad("approvals.expire_after", "must be positive")
	}
	if c.Approvals.CheckInterval < Duration(time.Second) {
		return bad("approvals.check_interval", "must be at least 1s")
	}
	if c.Webhooks.DisableAfter < 0 {
		return bad("webhooks.disable_after_failures", "must not be negative (0 never disables)")
	}
	if c.Webhooks.MaxAttempts < 1 || c.Webhooks.MaxAttempts > 100 {
		return bad("webhooks.max_attempts", "want 1-100, got %d", c.Webhooks.MaxAttempts)
	}
	if c.Webhooks.RetryBackoff < Duration(10*time.Millisecond) {
		return bad("webhooks.retry_backoff", "must be at least 10ms")
	}
	if c.Webhooks.Timeout < Duration(100*time.Millisecond) {
		return bad("webhooks.timeout", "must be at least 100ms")
	}
	if c.Events.Heartbeat < Duration(10*time.Millisecond) || c.Events.Heartbeat > Duration(5*time.Minute) {
		return bad("events.heartbeat", "want 10ms to 5m, got %s", c.Events.Heartbeat.D())
	}
	if c.Caps.SampleInterval < Duration(10*time.Second) || c.Caps.SampleInterval > Duration(time.Hour) {
		return bad("caps.sample_interval", "want 10s to 1h, got %s", c.Caps.SampleInterval.D())
	}
	if c.Security.MasterKey != "" {
		if len(c.Security.MasterKey) != 64 {
			return bad("security.master_key", "want 64 hex characters (32 bytes)")
		}
		for _, r := range c.Security.MasterKey {
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return bad("security.master_key", "want 64 hex characters (32 bytes)")
			}
		}
	}
	if c.Auth.SessionTTL < Duration(time.Minute) {
		return bad("auth.session_ttl", "must be at least 1m")
	}
	if c.Auth.PasswordResetTTL < Duration(time.Minute) {
		return bad("auth.password_reset_ttl", "must be at least 1m")
	}
	if c.Auth.LoginMaxFailures <= 0 {
		return bad("auth.login_max_failures", "must be positive")
	}
	if c.Jobs.RescueAfter != 0 && c.Jobs.RescueAfter.D() <= c.Outbound.AttemptTimeout() {
		return bad("jobs.rescue_after", "must be longer than a delivery attempt (2 × outbound.connect_timeout + 3 × outbound.command_timeout = %s), or 0 for twice that",
			c.Outbound.AttemptTimeout())
	}
	if c.Domains.ReverifyInterval < Duration(time.Second) {
		return bad("domains.reverify_interval", "must be at least 1s")
	}
	if err := c.Sandbox.normalize(); err != nil {
		return err
	}
	if err := checkAddr("debug.pprof_addr", c.Debug.PprofAddr, true); err != nil {
		return err
	}
	if c.Debug.PprofAddr != "" {
		host, _, _ := net.SplitHostPort(c.Debug.PprofAddr)
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return bad("debug.pprof_addr", "must be a loopback address such as 127.0.0.1:6060 (profiles expose internals), got %q", c.Debug.PprofAddr)
		}
	}
	if strings.TrimSpace(c.Metrics.Addr) == MetricsOff {
		c.Metrics.Addr = ""
	}
	if err := checkAddr("metrics.addr", c.Metrics.Addr, true); err != nil {
		return err
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return bad("log.level", "want debug, info, warn or error, got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return bad("log.format", "want text or json, got %q", c.Log.Format)
	}
	return nil
}

// normalize lower-cases sandbox.domain, maps "off" to empty, and checks it
// is a plain host name of at least two labels (the domains service checks
// it fully when it creates a sandbox).
func (s *Sandbox) normalize() error {
	d := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s.Domain), "."))
	if d == SandboxOff {
		d = ""
	}
	s.Domain = d
	if d == "" {
		return nil
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 || len(d) > 200 {
		return bad("sandbox.domain", "want a domain name of at least two labels and at most 200 characters (such as sandbox.gent.localhost), or empty to turn the sandbox off; got %q", s.Domain)
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' || strings.Trim(l, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			return bad("sandbox.domain", "%q is not a domain name (letters, digits and hyphens in dot-separated labels)", s.Domain)
		}
	}
	return nil
}

// ParseCIDRs reads a comma-separated list of IP addresses and CIDR ranges
// ("127.0.0.1, 10.0.0.0/8, fd00::/8"); a bare address is a range of one.
func ParseCIDRs(s string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			ip := net.ParseIP(f)
			if ip == nil {
				return nil, fmt.Errorf("want IP addresses or CIDR ranges separated by commas, got %q", f)
			}
			bits := 128
			if ip4 := ip.To4(); ip4 != nil {
				ip, bits = ip4, 32
			}
			out = append(out, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		_, n, err := net.ParseCIDR(f)
		if err != nil {
			return nil, fmt.Errorf("want IP addresses or CIDR ranges separated by commas, got %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}
