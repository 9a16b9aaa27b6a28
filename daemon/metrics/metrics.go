// Package metrics holds gentd's Prometheus collectors on a registry of the
// daemon's own (never the global one: several daemons may run in one test
// process), and serves them on metrics.addr, a listener of its own.
//
// Every method of *Metrics is safe on a nil receiver and then does nothing,
// so the services record unconditionally and tests that build a service
// alone need no metrics.
package metrics

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the daemon's collectors.
type Metrics struct {
	Registry *prometheus.Registry

	smtpSessions  prometheus.Counter
	smtpRefused   prometheus.Counter
	smtpReplies   *prometheus.CounterVec
	stored        *prometheus.CounterVec
	storedBytes   *prometheus.CounterVec
	quarantined   prometheus.Counter
	apiRequests   *prometheus.CounterVec
	apiDuration   *prometheus.HistogramVec
	sendDecisions *prometheus.CounterVec
	holdReasons   *prometheus.CounterVec
	attempts      *prometheus.CounterVec
	webhooks      *prometheus.CounterVec

	queueTTL atomic.Int64
}

// Version is the daemon's version for gent_build_info: the main module's
// version as the Go toolchain stamped it, "(devel)" in a source build.
func Version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// New builds the collectors on a fresh registry, with the Go runtime and
// process collectors and gent_build_info.
func New() *Metrics {
	r := prometheus.NewRegistry()
	f := func(c prometheus.Collector) { r.MustRegister(c) }
	m := &Metrics{Registry: r}
	m.queueTTL.Store(int64(DefaultQueueTTL))
	m.smtpSessions = prometheus.NewCounter(prometheus.CounterOpts{Name: "gent_smtp_sessions_total",
		Help: "Inbound SMTP connections accepted (within the connection caps)."})
	m.smtpRefused = prometheus.NewCounter(prometheus.CounterOpts{Name: "gent_smtp_connections_refused_total",
		Help: "Inbound SMTP connections refused with 421 at accept (connection caps, shutdown)."})
	m.smtpReplies = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gent_smtp_replies_total",
		Help: "Replies the inbound SMTP server sent, by class of the reply code (2xx, 3xx, 4xx, 5xx)."}, []string{"class"})
	m.stored = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gent_messages_stored_total",
		Help: "Messages stored (committed), by direction."}, []string{"direction"})
	m.storedBytes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gent_messages_stored_bytes_total",
		Help: "Raw bytes of the messages stored (committed), by direction."}, []string{"direction"})
	m.quarantined = prometheus.NewCounter(prometheus.CounterOpts{Name: "gent_messages_quarantined_total",
		Help: "Inbound messages stored in quarantine by screening."})
	m.apiRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gent_http_requests_total",
		Help: "API requests, by route template, method and status code."}, []string{"route", "method", "status"})
	m.apiDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gent_http_request_duration_seconds",
		Help:    "API request latency to the end of the handler (an event stream's body is written after it), by route template and method.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"route", "method"})
	m.sendDecisions = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gent_send_decisions_total",
		Help: "Sends by decision (queued, held, refused) and reason (the first hold reason, or the refusal's error code)."},
		[]string{"decision", "reason"})
	m.holdReasons = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gent_send_hold_reasons_total",
		Help: "Hold reasons of held sends (a send held for two reasons counts once in each)."}, []string{"reason"})
	m.attempts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gent_delivery_attempts_total",
		Help: "Outbound delivery attempts per recipient, by result (delivered, deferred, bounced) and path (remote, local, capture; a give-up counts as a bounced remote attempt)."},
		[]string{"result", "path"})
	m.webhooks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gent_webhook_deliveries_total",
		Help: "Webhook delivery attempts, by result (succeeded, retrying, failed)."}, []string{"result"})
	for _, c := range []prometheus.Collector{m.smtpSessions, m.smtpRefused, m.smtpReplies, m.stored, m.storedBytes,
		m.quarantined, m.apiRequests, m.apiDuration, m.sendDecisions, m.holdReasons, m.attempts, m.webhooks} {
		f(c)
	}
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	info := prometheus.NewGauge(prometheus.GaugeOpts{Name: "gent_build_info",
		Help:        "Always 1; the labels name the build.",
		ConstLabels: prometheus.Labels{"version": Version(), "goversion": goVersion()}})
	info.Set(1)
	f(info)
	return m
}

func goVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.GoVersion
	}
	return ""
}

// AddDB registers the connection pool's statistics (go_sql_* with
// db_name="gent").
func (m *Metrics) AddDB(db *sql.DB) {
	if m == nil || db == nil {
		return
	}
	m.Registry.MustRegister(collectors.NewDBStatsCollector(db, "gent"))
}

// AddGaugeFunc registers a gauge read at each scrape (cheap values only:
// counts already in memory).
func (m *Metrics) AddGaugeFunc(name, help string, fn func() float64) {
	if m == nil {
		return
	}
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn))
}

// AddCounterFunc registers a counter read at each scrape.
func (m *Metrics) AddCounterFunc(name, help string, fn func() float64) {
	if m == nil {
		return
	}
	m.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, fn))
}

// SMTPSession counts an accepted inbound connection.
func (m *Metrics) SMTPSession() {
	if m != nil {
		m.smtpSessions.Inc()
	}
}

// SMTPRefused counts a connection refused at accept (and its 421 reply).
func (m *Metrics) SMTPRefused() {
	if m != nil {
		m.smtpRefused.Inc()
		m.smtpReplies.WithLabelValues("4xx").Inc()
	}
}

var classes = [...]string{"", "1xx", "2xx", "3xx", "4xx", "5xx"}

// SMTPReply counts a reply by the first digit of its code ('2'…'5').
func (m *Metrics) SMTPReply(first byte) {
	if m == nil || first < '1' || first > '5' {
		return
	}
	m.smtpReplies.WithLabelValues(classes[first-'0']).Inc()
}

// SMTPReplyCode counts a reply by its code (200-599).
func (m *Metrics) SMTPReplyCode(code int) {
	if code >= 100 && code < 600 {
		m.SMTPReply(byte('0' + code/100))
	}
}

// Stored counts committed messages: n messages of bytes in all, q of them
// quarantined.
func (m *Metrics) Stored(direction string, n, bytes, q int64) {
	if m == nil || n == 0 {
		return
	}
	m.stored.WithLabelValues(direction).Add(float64(n))
	m.storedBytes.WithLabelValues(direction).Add(float64(bytes))
	if q > 0 {
		m.quarantined.Add(float64(q))
	}
}

// APIRequest records a finished API request.
func (m *Metrics) APIRequest(route, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.apiRequests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.apiDuration.WithLabelValues(route, method).Observe(d.Seconds())
}

// Send decisions.
const (
	DecisionQueued  = "queued"
	DecisionHeld    = "held"
	DecisionRefused = "refused"
)

// SendDecision counts a send's outcome. reasons are the hold reason codes
// of a held send; reason is a refusal's error code.
func (m *Metrics) SendDecision(decision, reason string, holdReasons []string) {
	if m == nil {
		return
	}
	if decision == DecisionHeld && reason == "" && len(holdReasons) > 0 {
		reason = holdReasons[0]
	}
	m.sendDecisions.WithLabelValues(decision, reason).Inc()
	for _, r := range holdReasons {
		m.holdReasons.WithLabelValues(r).Inc()
	}
}

// DeliveryAttempt counts one recipient's attempt result.
func (m *Metrics) DeliveryAttempt(result, path string) {
	if m != nil {
		m.attempts.WithLabelValues(result, path).Inc()
	}
}

// WebhookDelivery counts one webhook attempt's result.
func (m *Metrics) WebhookDelivery(result string) {
	if m != nil {
		m.webhooks.WithLabelValues(result).Inc()
	}
}

// Handler serves the registry in the Prometheus text (or OpenMetrics)
// format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry, MaxRequestsInFlight: 4,
		Timeout: 20 * time.Second})
}

// Serve serves /metrics on ln until ctx ends.
func (m *Metrics) Serve(ctx context.Context, ln net.Listener, log *slog.Logger) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-ctx.Done():
		case <-stop:
			return
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	log.Info("metrics served", "addr", ln.Addr().String(), "path", "/metrics")
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
