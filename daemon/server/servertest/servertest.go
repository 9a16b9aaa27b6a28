// Package servertest builds a whole daemon (every service and the Fiber
// app) on a fresh test database, and offers helpers to call its API.
// Packages using it call storetest.Main from TestMain.
package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"gent/daemon/config"
	"gent/daemon/server"
	"gent/daemon/store/storetest"
	"gent/models"
)

// Env is a daemon on a fresh database.
type Env struct {
	T *testing.T
	*server.Daemon
	// NoSpecCheck turns off checking every request against
	// docs/openapi.yaml (see CheckSpec), for a test that must send what
	// the spec forbids.
	NoSpecCheck bool
	spec        specState
}

// Config returns a configuration for tests: data in a temp dir, rate
// limits off, fast login lockout.
func Config(t testing.TB) config.Config {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.RateLimitPerMinute = 0
	cfg.Webhooks.AllowPrivateTargets = true
	cfg.Outbound.RatePerMinute, cfg.Outbound.RecipientsPerDay = 0, 0
	// No DNS over the network in tests: nothing listens here, so lookups
	// fail at once. Tests that need DNS start a dnstest server instead.
	cfg.DNS.Resolver = "127.0.0.1:1"
	// Metrics on a port of their own for each daemon (Daemon.MetricsAddr).
	cfg.Metrics.Addr = "127.0.0.1:0"
	return cfg
}

// New builds a daemon with cfg (nil: Config(t)). Its jobs are not started;
// call StartJobs for tests that need them worked.
func New(t *testing.T, mutate ...func(*config.Config)) *Env {
	t.Helper()
	cfg := Config(t)
	for _, m := range mutate {
		m(&cfg)
	}
	st := storetest.NewDB(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("GENT_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	d, err := server.New(cfg, st, log)
	if err != nil {
		t.Fatalf("build daemon: %v", err)
	}
	return (&Env{T: t, Daemon: d}).CheckSpec()
}

// StartJobs starts the job client for the rest of the test.
func (e *Env) StartJobs() {
	e.T.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if err := e.Jobs.Start(ctx); err != nil {
		e.T.Fatalf("start jobs: %v", err)
	}
	e.T.Cleanup(func() {
		cancel()
		_ = e.Jobs.Stop(context.Background())
	})
}

// Response is a finished API call.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test on error.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// ErrorCode returns the error code of an error response ("" otherwise).
func (r *Response) ErrorCode() string {
	var b models.ErrorBody
	if json.Unmarshal(r.Body, &b) != nil || b.Error == nil {
		return ""
	}
	return b.Error.Code
}

// Do calls the API. body may be nil, a string (sent raw) or a value
// (JSON-encoded); cred is a bearer credential or "".
func (e *Env) Do(method, path, cred string, body any, headers ...string) *Response {
	e.T.Helper()
	var rd io.Reader
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
		rd = bytes.NewReader(raw)
	case []byte:
		raw = b
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.T.Fatal(err)
		}
		raw = j
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if cred != "" {
		req.Header.Set("Authorization", "Bearer "+cred)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	// The app checks the request and its response against the spec as
	// it serves them (CheckSpec).
	e.CheckSpec()
	resp, err := e.App.Test(req, -1)
	if err != nil {
		e.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// MustStatus calls the API and fails unless the status is want.
func (e *Env) MustStatus(want int, method, path, cred string, body any, headers ...string) *Response {
	e.T.Helper()
	r := e.Do(method, path, cred, body, headers...)
	if r.Status != want {
		e.T.Fatalf("%s %s: want %d, got %d: %s", method, path, want, r.Status, r.Body)
	}
	return r
}

// Org is an organization made by Setup, with its owner's session.
type Org struct {
	ID         string
	OwnerID    string
	OwnerEmail string
	Owner      string // session token
}

// Setup creates the first organization through the public API.
func (e *Env) Setup() Org {
	e.T.Helper()
	code, err := e.Auth.PrepareSetup(context.Background())
	if err != nil || code == "" {
		e.T.Fatalf("prepare setup: %q %v", code, err)
	}
	var resp models.SessionResponse
	e.MustStatus(201, "POST", "/v1/auth/setup", "", models.SetupRequest{
		SetupCode: code, OrgName: "Acme", Email: "owner@acme.test", Password: "correct horse battery",
	}).JSON(e.T, &resp)
	return Org{ID: resp.Org.ID, OwnerID: resp.User.ID, OwnerEmail: resp.User.Email, Owner: resp.Token}
}

// OtherOrg creates a second organization directly through the store (setup
// is once per installation) and returns its owner session.
func (e *Env) OtherOrg(name string) Org {
	e.T.Helper()
	orgID := models.NewID(models.PrefixOrg)
	if err := e.Store.DB.Create(&models.Org{ID: orgID, Name: name}).Error; err != nil {
		e.T.Fatal(err)
	}
	email := "owner@" + orgID + ".test"
	e.createUser(orgID, email, models.RoleOwner)
	return Org{ID: orgID, OwnerEmail: email, Owner: e.Login(email)}
}

func (e *Env) createUser(orgID, email, role string) {
	e.T.Helper()
	if _, err := e.Auth.CreateUser(context.Background(), ownerOf(orgID), models.CreateUserRequest{
		Email: email, Password: "correct horse battery", Role: role}); err != nil {
		e.T.Fatalf("create user: %v", err)
	}
}

// User creates a user with role in org and returns a session for it.
func (e *Env) User(org Org, role string) string {
	e.T.Helper()
	email := role + "-" + models.NewID("") + "@acme.test"
	e.createUser(org.ID, email, role)
	return e.Login(email)
}

// Login signs a user in and returns the session token.
func (e *Env) Login(email string) string {
	e.T.Helper()
	var resp models.SessionResponse
	e.MustStatus(200, "POST", "/v1/auth/login", "", models.LoginRequest{Email: email, Password: "correct horse battery"}).JSON(e.T, &resp)
	return resp.Token
}

// Listen serves the app on a loopback port for the rest of the test and
// returns its base URL (for streaming and real-socket tests).
func (e *Env) Listen() string {
	e.T.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.T.Fatal(err)
	}
	e.CheckSpec()
	go func() { _ = e.App.Listener(ln) }()
	e.T.Cleanup(func() { _ = e.App.ShutdownWithTimeout(5 * time.Second) })
	return "http://" + ln.Addr().String()
}
