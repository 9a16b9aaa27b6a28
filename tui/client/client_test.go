package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"gent/daemon/config"
	"gent/daemon/server/servertest"
	"gent/daemon/store/storetest"
	"gent/models"
	"gent/tui/client"
)

func TestMain(m *testing.M) { storetest.Main(m) }

const password = "correct horse battery"

// serve runs the daemon's API on a loopback listener and returns its URL.
func serve(t *testing.T, env *servertest.Env) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = env.App.Listener(ln) }()
	t.Cleanup(func() { _ = env.App.ShutdownWithTimeout(5 * time.Second) })
	return "http://" + ln.Addr().String() + "/" // a trailing slash is fine
}

func apiErr(t *testing.T, err error, status int, code, field string) {
	t.Helper()
	var ae *client.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want *APIError %d %s, got %T %v", status, code, err, err)
	}
	var me *models.Error
	if !errors.As(err, &me) || me != ae.Err {
		t.Fatal("errors.As does not reach the *models.Error")
	}
	if ae.Status != status || me.Code != code || me.Field != field || client.StatusOf(err) != status {
		t.Fatalf("want %d %s field %q, got %d %+v", status, code, field, ae.Status, me)
	}
}

func TestAuthUsersAuditAgainstDaemon(t *testing.T) {
	env := servertest.New(t)
	url := serve(t, env)
	ctx := context.Background()
	c, err := client.New(url)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Health(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := c.AuthStatus(ctx)
	if err != nil || !st.SetupRequired {
		t.Fatalf("status %+v %v", st, err)
	}
	code, err := env.Auth.PrepareSetup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Setup(ctx, models.SetupRequest{SetupCode: "WRONG1-WRONG2", OrgName: "Acme", Email: "owner@acme.test", Password: password})
	apiErr(t, err, 401, models.CodeUnauthorized, "setup_code")
	_, err = c.Setup(ctx, models.SetupRequest{SetupCode: code, OrgName: "Acme", Email: "owner@acme.test", Password: "short"})
	apiErr(t, err, 422, models.CodeValidation, "password")
	sess, err := c.Setup(ctx, models.SetupRequest{SetupCode: code, OrgName: "Acme", Email: "owner@acme.test", Password: password})
	if err != nil || sess.Org.Name != "Acme" || sess.User.Role != models.RoleOwner || !strings.HasPrefix(sess.Token, "gses_") {
		t.Fatalf("setup %+v %v", sess, err)
	}

	// Without a credential the daemon says 401.
	_, err = c.Me(ctx)
	apiErr(t, err, 401, models.CodeUnauthorized, "")

	c.SetToken(client.Secret(sess.Token))
	me, err := c.Me(ctx)
	if err != nil || me.User.Email != "owner@acme.test" || me.Org.ID != sess.Org.ID {
		t.Fatalf("me %+v %v", me, err)
	}
	u, err := c.CreateUser(ctx, models.CreateUserRequest{Email: "rex@acme.test", Password: password, Role: models.RoleReviewer})
	if err != nil || u.Role != models.RoleReviewer || !models.HasPrefix(u.ID, models.PrefixUser) {
		t.Fatalf("create user %+v %v", u, err)
	}
	_, err = c.CreateUser(ctx, models.CreateUserRequest{Email: "rex@acme.test", Password: password, Role: models.RoleReviewer})
	apiErr(t, err, 409, models.CodeConflict, "email")
	_, err = c.CreateUser(ctx, models.CreateUserRequest{Email: "x@acme.test", Password: password, Role: "boss"})
	apiErr(t, err, 422, models.CodeValidation, "role")

	for i := 0; i < 3; i++ {
		if _, err := c.CreateUser(ctx, models.CreateUserRequest{Email: fmt.Sprintf("u%d@acme.test", i), Password: password, Role: models.RoleAdmin}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := c.Users(ctx, client.Page{Limit: 2})
	if err != nil || len(page.Data) != 2 || page.NextCursor == "" {
		t.Fatalf("users page %+v %v", page, err)
	}
	all, err := c.AllUsers(ctx)
	if err != nil || len(all) != 5 {
		t.Fatalf("all users: %d %v", len(all), err)
	}
	_, err = c.Users(ctx, client.Page{Limit: 500})
	apiErr(t, err, 422, models.CodeValidation, "limit")

	log, err := c.Audit(ctx, client.AuditQuery{Action: "users.create", Page: client.Page{Limit: 2}})
	if err != nil || len(log.Data) != 2 || log.NextCursor == "" || log.Data[0].Action != "users.create" {
		t.Fatalf("audit %+v %v", log, err)
	}
	older, err := c.Audit(ctx, client.AuditQuery{Action: "users.create", Page: client.Page{Limit: 200, Cursor: log.NextCursor}})
	if err != nil || len(older.Data) != 4 { // 6 users.create in all, two of them failed
		t.Fatalf("older audit: %d %v", len(older.Data), err)
	}
	mine, err := c.Audit(ctx, client.AuditQuery{ActorID: sess.User.ID, ActorType: "user", TargetID: u.ID})
	if err != nil || len(mine.Data) != 1 || mine.Data[0].TargetID != u.ID {
		t.Fatalf("audit by actor and target: %+v %v", mine, err)
	}

	// A reviewer may read the audit log but not the users.
	rex, err := client.New(url)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rex.Login(ctx, models.LoginRequest{Email: "rex@acme.test", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	rex.SetToken(client.Secret(rs.Token))
	_, err = rex.Users(ctx, client.Page{})
	apiErr(t, err, 403, models.CodeForbidden, "")
	if _, err := rex.Audit(ctx, client.AuditQuery{}); err != nil {
		t.Fatalf("reviewer audit: %v", err)
	}

	if err := c.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = c.Me(ctx)
	apiErr(t, err, 401, models.CodeUnauthorized, "")
}

func TestLoginThrottleCarriesRetryAfter(t *testing.T) {
	env := servertest.New(t, func(c *config.Config) { c.Auth.LoginMaxFailures = 1 })
	url := serve(t, env)
	env.Setup()
	c, _ := client.New(url)
	ctx := context.Background()
	_, err := c.Login(ctx, models.LoginRequest{Email: "owner@acme.test", Password: "wrong password"})
	apiErr(t, err, 401, models.CodeUnauthorized, "")
	_, err = c.Login(ctx, models.LoginRequest{Email: "owner@acme.test", Password: password})
	apiErr(t, err, 429, models.CodeRateLimited, "")
	var me *models.Error
	errors.As(err, &me)
	if me.RetryAfter < time.Minute {
		t.Fatalf("Retry-After %v", me.RetryAfter)
	}
}

// ResetPassword uses an admin's code without a session: the 401 names
// code, the 422 new_password; the new password then signs in, once.
func TestResetPasswordAgainstDaemon(t *testing.T) {
	env := servertest.New(t)
	url := serve(t, env)
	org := env.Setup()
	ctx := context.Background()
	admin, _ := client.New(url, client.WithToken(client.Secret(org.Owner)))
	u, err := admin.CreateUser(ctx, models.CreateUserRequest{Email: "rex@acme.test", Password: password, Role: models.RoleReviewer})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := admin.ResetUserPassword(ctx, u.ID)
	if err != nil || rc.Code == "" {
		t.Fatalf("issue: %+v %v", rc, err)
	}

	c, _ := client.New(url) // no session: the sign-in screen's client
	err = c.ResetPassword(ctx, models.ResetPasswordRequest{Code: "gpr_nothing", NewPassword: "a brand new passphrase"})
	apiErr(t, err, 401, models.CodeUnauthorized, "code")
	err = c.ResetPassword(ctx, models.ResetPasswordRequest{Code: rc.Code, NewPassword: "short"})
	apiErr(t, err, 422, models.CodeValidation, "new_password")
	if err := c.ResetPassword(ctx, models.ResetPasswordRequest{Code: rc.Code, NewPassword: "a brand new passphrase"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(ctx, models.LoginRequest{Email: "rex@acme.test", Password: "a brand new passphrase"}); err != nil {
		t.Fatalf("sign in with the new password: %v", err)
	}
	err = c.ResetPassword(ctx, models.ResetPasswordRequest{Code: rc.Code, NewPassword: "another passphrase"})
	apiErr(t, err, 401, models.CodeUnauthorized, "code")
}

func TestNonAPIErrorBody(t *testing.T) {
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, "<html>bad gateway</html>")
	}))
	defer proxy.Close()
	c, _ := client.New(proxy.URL)
	_, err := c.AuthStatus(context.Background())
	apiErr(t, err, 502, models.CodeUnavailable, "")
	if !strings.Contains(err.Error(), "502 Bad Gateway") {
		t.Fatalf("message %q", err)
	}
}

func TestTokenNeverPrinted(t *testing.T) {
	const raw = "gses_THISISTHESECRETVALUEOFTHESESSIONTOKEN0123"
	s := client.Secret(raw)
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "token", s)
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "token", s)
	printed := fmt.Sprintf("%v %s %q %#v %+v %x", s, s, s, s, struct{ T client.Secret }{s}, s) + logged.String()
	if strings.Contains(printed, "THISISTHESECRET") {
		t.Fatalf("secret printed: %s", printed)
	}
	if s.Reveal() != raw {
		t.Fatal("Reveal lost the value")
	}

	// Errors of calls name the method and path, never the token.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	c, _ := client.New("http://"+addr, client.WithToken(s))
	_, err := c.Me(context.Background())
	if err == nil || client.StatusOf(err) != 0 || strings.Contains(err.Error(), "THISISTHESECRET") {
		t.Fatalf("error %v", err)
	}
	if !strings.HasPrefix(err.Error(), "GET /v1/auth/me: ") || strings.Count(err.Error(), addr) > 1 {
		t.Fatalf("error text %q", err)
	}
	if got := fmt.Sprint(c.Token()); got != "[redacted]" {
		t.Fatalf("Token() prints %q", got)
	}
}

func TestBadServerURL(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:8080", "ftp://x", "http://"} {
		if _, err := client.New(u); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
}
