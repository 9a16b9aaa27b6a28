package api_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"gent/daemon/config"
	"gent/daemon/server/servertest"
	"gent/models"
)

func TestSetupOnlyOnce(t *testing.T) {
	env := servertest.New(t)
	env.MustStatus(200, "GET", "/v1/auth/status", "", nil)
	var st models.AuthStatus
	env.Do("GET", "/v1/auth/status", "", nil).JSON(t, &st)
	if !st.SetupRequired {
		t.Fatal("fresh install must require setup")
	}
	code, err := env.Auth.PrepareSetup(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	body := models.SetupRequest{SetupCode: code, OrgName: "Acme", Email: "owner@acme.test", Password: "correct horse battery"}
	bad := body
	bad.SetupCode = "WRONG-CODE"
	if r := env.Do("POST", "/v1/auth/setup", "", bad); r.Status != 401 {
		t.Fatalf("wrong code: want 401, got %d %s", r.Status, r.Body)
	}
	short := body
	short.Password = "short"
	if r := env.Do("POST", "/v1/auth/setup", "", short); r.Status != 422 || !strings.Contains(string(r.Body), `"field":"password"`) {
		t.Fatalf("short password: want 422 password, got %d %s", r.Status, r.Body)
	}
	// Concurrent setups: exactly one wins.
	var wg sync.WaitGroup
	statuses := make(chan int, 5)
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses <- env.Do("POST", "/v1/auth/setup", "", body).Status
		}()
	}
	wg.Wait()
	close(statuses)
	won := 0
	for s := range statuses {
		switch s {
		case 201:
			won++
		case 409:
		default:
			t.Errorf("unexpected setup status %d", s)
		}
	}
	if won != 1 {
		t.Fatalf("want exactly one successful setup, got %d", won)
	}
	env.MustStatus(409, "POST", "/v1/auth/setup", "", body)
	env.Do("GET", "/v1/auth/status", "", nil).JSON(t, &st)
	if st.SetupRequired {
		t.Fatal("setup must be done")
	}
	if c, _ := env.Auth.PrepareSetup(context.Background()); c != "" {
		t.Fatal("no new setup code once set up")
	}
}

func TestLoginLogoutExpiry(t *testing.T) {
	env := servertest.New(t)
	org := env.Setup()
	sess := env.Login(org.OwnerEmail)
	var me models.Me
	env.MustStatus(200, "GET", "/v1/auth/me", sess, nil).JSON(t, &me)
	if me.User.Email != org.OwnerEmail || me.User.Role != "owner" || me.Org.Name != "Acme" {
		t.Fatalf("me: %+v", me)
	}
	if r := env.Do("POST", "/v1/auth/login", "", models.LoginRequest{Email: org.OwnerEmail, Password: "wrong password!"}); r.Status != 401 || r.ErrorCode() != "unauthorized" {
		t.Fatalf("wrong password: %d %s", r.Status, r.Body)
	}
	if r := env.Do("POST", "/v1/auth/login", "", models.LoginRequest{Email: "nobody@acme.test", Password: "wrong password!"}); r.Status != 401 {
		t.Fatalf("unknown user: %d %s", r.Status, r.Body)
	}
	env.MustStatus(204, "POST", "/v1/auth/logout", sess, nil)
	env.MustStatus(401, "GET", "/v1/auth/me", sess, nil)
	// The other session still works.
	env.MustStatus(200, "GET", "/v1/auth/me", org.Owner, nil)
	// Expiry.
	if err := env.Store.DB.Exec(`UPDATE sessions SET expires_at = now() - interval '1 second'`).Error; err != nil {
		t.Fatal(err)
	}
	env.MustStatus(401, "GET", "/v1/auth/me", org.Owner, nil)
}

func TestLoginThrottled(t *testing.T) {
	env := servertest.New(t, func(c *config.Config) {
		c.Auth.LoginMaxFailures = 3
		c.Auth.LoginLockout = config.Duration(time.Minute)
	})
	org := env.Setup()
	wrong := models.LoginRequest{Email: org.OwnerEmail, Password: "not the password"}
	for i := 0; i < 3; i++ {
		env.MustStatus(401, "POST", "/v1/auth/login", "", wrong)
	}
	r := env.Do("POST", "/v1/auth/login", "", models.LoginRequest{Email: org.OwnerEmail, Password: "correct horse battery"})
	if r.Status != 429 || r.ErrorCode() != "rate_limited" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("want 429 with Retry-After, got %d %v %s", r.Status, r.Header, r.Body)
	}
	// Failed logins are audited against the organization.
	var n int64
	env.Store.DB.Raw(`SELECT count(*) FROM audit_log WHERE org_id = ? AND action = 'auth.login' AND outcome = 'failure'`, org.ID).Scan(&n)
	if n != 3 {
		t.Fatalf("want 3 audited failures, got %d", n)
	}
}

func TestErrorBodies(t *testing.T) {
	env := servertest.New(t)
	org := env.Setup()
	reviewer := env.User(org, models.RoleReviewer)
	cases := []struct {
		name, method, path, cred string
		body                     any
		status                   int
		code, field              string
	}{
		{"malformed json", "POST", "/v1/users", org.Owner, `{"email": `, 400, "malformed_body", ""},
		{"not an object", "POST", "/v1/users", org.Owner, `[1,2]`, 400, "malformed_body", ""},
		{"trailing data", "POST", "/v1/users", org.Owner, `{} {}`, 400, "malformed_body", ""},
		{"empty body", "POST", "/v1/users", org.Owner, nil, 400, "malformed_body", ""},
		{"no credential", "GET", "/v1/users", "", nil, 401, "unauthorized", ""},
		{"garbage credential", "GET", "/v1/users", "nonsense", nil, 401, "unauthorized", ""},
		{"wrong role", "GET", "/v1/users", reviewer, nil, 403, "forbidden", ""},
		{"unknown route", "GET", "/v1/nothing-here", org.Owner, nil, 404, "not_found", ""},
		{"unknown field", "POST", "/v1/users", org.Owner, `{"email":"a@acme.test","password":"correct horse battery","role":"admin","org_id":"org_x"}`, 422, "validation_failed", "org_id"},
		{"wrong type", "POST", "/v1/users", org.Owner, `{"email":42}`, 422, "validation_failed", "email"},
		{"bad role", "POST", "/v1/users", org.Owner, `{"email":"a@acme.test","password":"correct horse battery","role":"god"}`, 422, "validation_failed", "role"},
		{"bad email", "POST", "/v1/users", org.Owner, `{"email":"not-an-email","password":"correct horse battery","role":"admin"}`, 422, "validation_failed", "email"},
		{"bad limit", "GET", "/v1/users?limit=500", org.Owner, nil, 422, "validation_failed", "limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := env.Do(tc.method, tc.path, tc.cred, tc.body)
			var eb models.ErrorBody
			r.JSON(t, &eb)
			if r.Status != tc.status || eb.Error == nil || eb.Error.Code != tc.code || eb.Error.Field != tc.field || eb.Error.Message == "" {
				t.Fatalf("want %d %s field %q, got %d %s", tc.status, tc.code, tc.field, r.Status, r.Body)
			}
		})
	}
	// Trailing slash optional.
	env.MustStatus(200, "GET", "/v1/users/", org.Owner, nil)
	env.MustStatus(200, "GET", "/v1/users", org.Owner, nil)
	// Body limit.
	// Body limit: the daemon answers 413 from the Content-Length alone.
	base := env.Listen()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", org.Owner, 40<<20)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 413 || !strings.Contains(string(b), "payload_too_large") {
		t.Fatalf("body limit: %d %.200s", resp.StatusCode, b)
	}
}

func TestRolesOnUsers(t *testing.T) {
	env := servertest.New(t)
	org := env.Setup()
	admin := env.User(org, models.RoleAdmin)
	mk := func(role string) models.CreateUserRequest {
		return models.CreateUserRequest{Email: role + "-new@acme.test", Password: "correct horse battery", Role: role}
	}
	if r := env.Do("POST", "/v1/users", admin, mk("owner")); r.Status != 403 {
		t.Fatalf("admin creating an owner: want 403, got %d", r.Status)
	}
	env.MustStatus(201, "POST", "/v1/users", admin, mk("reviewer"))
	env.MustStatus(201, "POST", "/v1/users", org.Owner, mk("owner"))
	if r := env.Do("POST", "/v1/users", org.Owner, mk("owner")); r.Status != 409 || r.ErrorCode() != "conflict" {
		t.Fatalf("duplicate email: want 409, got %d %s", r.Status, r.Body)
	}
	var users models.List[models.User]
	env.MustStatus(200, "GET", "/v1/users?limit=2", org.Owner, nil).JSON(t, &users)
	if len(users.Data) != 2 || users.NextCursor == "" {
		t.Fatalf("page 1: %+v", users)
	}
	var rest models.List[models.User]
	env.MustStatus(200, "GET", "/v1/users?limit=2&cursor="+users.NextCursor, org.Owner, nil).JSON(t, &rest)
	if len(rest.Data) != 2 || rest.NextCursor != "" || rest.Data[0].ID <= users.Data[1].ID {
		t.Fatalf("page 2: %+v", rest)
	}
	// Other organizations never see these users.
	other := env.OtherOrg("Other")
	var theirs models.List[models.User]
	env.MustStatus(200, "GET", "/v1/users", other.Owner, nil).JSON(t, &theirs)
	if len(theirs.Data) != 1 {
		t.Fatalf("other org sees %d users", len(theirs.Data))
	}
}

func TestIdempotency(t *testing.T) {
	env := servertest.New(t)
	org := env.Setup()
	body := models.CreateUserRequest{Email: "idem@acme.test", Password: "correct horse battery", Role: "admin"}
	first := env.MustStatus(201, "POST", "/v1/users", org.Owner, body, "Idempotency-Key", "k1")
	again := env.MustStatus(201, "POST", "/v1/users", org.Owner, body, "Idempotency-Key", "k1")
	if string(first.Body) != string(again.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay differs:\n%s\n%s", first.Body, again.Body)
	}
	var n int64
	env.Store.DB.Raw(`SELECT count(*) FROM users WHERE email = 'idem@acme.test'`).Scan(&n)
	if n != 1 {
		t.Fatalf("want one user, got %d", n)
	}
	other := body
	other.Email = "idem2@acme.test"
	r := env.Do("POST", "/v1/users", org.Owner, other, "Idempotency-Key", "k1")
	if r.Status != 422 || r.ErrorCode() != "idempotency_key_reused" {
		t.Fatalf("reused key: want 422, got %d %s", r.Status, r.Body)
	}
	// Errors replay too; the key is scoped to the credential.
	dup := env.Do("POST", "/v1/users", org.Owner, body, "Idempotency-Key", "k2")
	if dup.Status != 409 {
		t.Fatalf("want 409 duplicate, got %d", dup.Status)
	}
	admin := env.User(org, models.RoleAdmin)
	r = env.Do("POST", "/v1/users", admin, other, "Idempotency-Key", "k1")
	if r.Status != 201 {
		t.Fatalf("another credential's same key is independent: got %d %s", r.Status, r.Body)
	}
}

func TestAuditTrail(t *testing.T) {
	env := servertest.New(t)
	org := env.Setup()
	env.MustStatus(201, "POST", "/v1/users", org.Owner, models.CreateUserRequest{Email: "a1@acme.test", Password: "correct horse battery", Role: "admin"})
	env.MustStatus(422, "POST", "/v1/users", org.Owner, models.CreateUserRequest{Email: "bad", Password: "correct horse battery", Role: "admin"})
	reviewer := env.User(org, models.RoleReviewer)
	env.MustStatus(403, "POST", "/v1/users", reviewer, `{}`)
	env.MustStatus(401, "GET", "/v1/users", "gses_bogus", nil)

	var page models.List[models.AuditEntry]
	env.MustStatus(200, "GET", "/v1/audit?action=users.create", reviewer, nil).JSON(t, &page)
	outcomes := map[string]int{}
	for _, e := range page.Data {
		outcomes[e.Outcome]++
		if e.ActorID == "" || e.RemoteAddr == "" || e.RequestID == "" || e.CreatedAt.IsZero() {
			t.Errorf("incomplete entry %+v", e)
		}
	}
	// two created by setup helpers (User) + one here succeed; one fails; one denied.
	if outcomes["failure"] != 1 || outcomes["denied"] != 1 || outcomes["success"] < 1 {
		t.Fatalf("outcomes %v in %+v", outcomes, page.Data)
	}
	var created models.AuditEntry
	for _, e := range page.Data {
		if e.Outcome == "success" && e.Status == 201 {
			created = e
		}
	}
	if !strings.HasPrefix(created.TargetID, "usr_") {
		t.Fatalf("create entry should name the new user: %+v", created)
	}
	// Failed authentication without an organization is recorded too.
	var n int64
	env.Store.DB.Raw(`SELECT count(*) FROM audit_log WHERE org_id IS NULL AND outcome = 'denied' AND status = 401`).Scan(&n)
	if n == 0 {
		t.Fatal("failed authentication not recorded")
	}
	// Keyset pagination, newest first.
	var p1, p2 models.List[models.AuditEntry]
	env.MustStatus(200, "GET", "/v1/audit?limit=2", org.Owner, nil).JSON(t, &p1)
	env.MustStatus(200, "GET", "/v1/audit?limit=2&cursor="+p1.NextCursor, org.Owner, nil).JSON(t, &p2)
	if len(p1.Data) != 2 || len(p2.Data) == 0 || p2.Data[0].ID >= p1.Data[1].ID {
		t.Fatalf("pagination: %+v / %+v", p1.Data, p2.Data)
	}
	// Another organization sees none of it.
	other := env.OtherOrg("Other")
	var theirs models.List[models.AuditEntry]
	env.MustStatus(200, "GET", "/v1/audit", other.Owner, nil).JSON(t, &theirs)
	for _, e := range theirs.Data {
		if e.ActorID == org.OwnerID {
			t.Fatalf("other org sees %+v", e)
		}
	}
}

func TestHealth(t *testing.T) {
	env := servertest.New(t)
	env.MustStatus(200, "GET", "/healthz", "", nil)
	env.MustStatus(200, "GET", "/readyz", "", nil)
	env.Store.Pool.Close()
	env.MustStatus(503, "GET", "/readyz", "", nil)
}
