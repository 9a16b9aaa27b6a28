package api_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"gent/daemon/config"
	"gent/daemon/server/servertest"
	"gent/models"
)

const testPassword = "correct horse battery"

type member struct {
	ID, Email, Session string
}

// addUser creates a user through the API and signs it in.
func addUser(env *servertest.Env, creator, role string) member {
	env.T.Helper()
	email := role + "-" + strings.ToLower(models.NewID("")[6:]) + "@acme.test"
	var u models.User
	env.MustStatus(201, "POST", "/v1/users", creator, models.CreateUserRequest{Email: email, Password: testPassword, Role: role}).JSON(env.T, &u)
	return member{ID: u.ID, Email: email, Session: env.Login(email)}
}

func login(env *servertest.Env, email, password string) *servertest.Response {
	env.T.Helper()
	return env.Do("POST", "/v1/auth/login", "", models.LoginRequest{Email: email, Password: password})
}

func wantCode(t *testing.T, r *servertest.Response, status int, code string) {
	t.Helper()
	if r.Status != status || r.ErrorCode() != code {
		t.Fatalf("want %d %s, got %d %s", status, code, r.Status, r.Body)
	}
}

// auditDetail returns the detail of the newest audit entry with action
// and target, failing when there is none.
func auditDetail(env *servertest.Env, orgID, action, target string) map[string]any {
	env.T.Helper()
	var raw string
	env.Store.DB.Raw(`SELECT detail::text FROM audit_log WHERE org_id = ? AND action = ? AND target_id = ? ORDER BY id DESC LIMIT 1`,
		orgID, action, target).Scan(&raw)
	if raw == "" {
		env.T.Fatalf("no %s audit entry for %s", action, target)
	}
	var d map[string]any
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		env.T.Fatal(err)
	}
	return d
}

// Roles change with PATCH; a demotion ends the user's sessions at once, and
// the audit trail has the role before and after.
func TestUserRoleChange(t *testing.T) {
	env := servertest.New(t)
	org := env.Setup()
	adm := addUser(env, org.Owner, models.RoleAdmin)
	rev := addUser(env, org.Owner, models.RoleReviewer)

	// Promotion keeps the sessions; the new role applies on the next request.
	var u models.User
	env.MustStatus(200, "PATCH", "/v1/users/"+rev.ID, org.Owner, `{"role": "admin"}`).JSON(t, &u)
	if u.Role != models.RoleAdmin || u.ID != rev.ID || u.Disabled {
		t.Fatalf("patched %+v", u)
	}
	env.MustStatus(200, "GET", "/v1/users", rev.Session, nil)

	// Demotion ends them.
	env.MustStatus(200, "PATCH", "/v1/users/"+rev.ID, adm.Session, `{"role": "reviewer"}`)
	env.MustStatus(401, "GET", "/v1/auth/me", rev.Session, nil)
	d := auditDetail(env, org.ID, "users.changed", rev.ID)
	before, after := d["before"].(map[string]any), d["after"].(map[string]any)
	if before["role"] != "admin" || after["role"] != "reviewer" || d["sessions_ended"] != float64(1) {
		t.Fatalf("audit detail %v", d)
	}
	if strings.Contains(fmt.Sprint(d), "argon2") {
		t.Fatalf("audit detail holds a password hash: %v", d)
	}
	rev.Session = env.Login(rev.Email)
	env.MustStatus(200, "GET", "/v1/auth/me", rev.Session, nil)

	// An empty patch changes nothing and ends nothing.
	env.MustStatus(200, "PATCH", "/v1/users/"+rev.ID, org.Owner, `{}`)
	env.MustStatus(200, "GET", "/v1/auth/me", rev.Session, nil)

	wantCode(t, env.Do("PATCH", "/v1/users/"+rev.ID, org.Owner, `{"role": "root"}`), 422, models.CodeValidation)
	wantCode(t, env.Do("PATCH", "/v1/users/usr_01jd7x3k9q8m2n4p6r8t0v2w4y", org.Owner, `{"role": "admin"}`), 404, models.CodeNotFound)
	// A reviewer manages nobody.
	wantCode(t, env.Do("PATCH", "/v1/users/"+adm.ID, rev.Session, `{"role": "reviewer"}`), 403, models.CodeForbidden)

	// Another organization's user is a 404, whoever asks.
	other := env.OtherOrg("Other")
	otherAdm := addUser(env, other.Owner, models.RoleAdmin)
	wantCode(t, env.Do("PATCH", "/v1/users/"+otherAdm.ID, org.Owner, `{"role": "reviewer"}`), 404, models.CodeNotFound)
	wantCode(t, env.Do("DELETE", "/v1/users/"+otherAdm.ID, org.Owner, nil), 404, models.CodeNotFound)
	wantCode(t, env.Do("POST", "/v1/users/"+otherAdm.ID+"/password-reset", org.Owner, nil), 404, models.CodeNotFound)
	env.MustStatus(200, "GET", "/v1/auth/me", otherAdm.Session, nil)
}

// An admin manages admins and reviewers but never owners, and makes no one
// an owner.
func TestAdminCannotTouchOwners(t *testing.T) {
	env := servertest.New(t)
	org := env.Setup()
	adm := addUser(env, org.Owner, models.RoleAdmin)
	adm2 := addUser(env, org.Owner, models.RoleAdmin)
	rev := addUser(env, org.Owner, models.RoleReviewer)

	wantCode(t, env.Do("PATCH", "/v1/users/"+rev.ID, adm.Session, `{"role": "owner"}`), 403, models.CodeForbidden)
	wantCode(t, env.Do("PATCH", "/v1/users/"+adm.ID, adm.Session, `{"role": "owner"}`), 403, models.CodeForbidden)
	wantCode(t, env.Do("PATCH", "/v1/users/"+org.OwnerID, adm.Session, `{"role": "admin"}`), 403, models.CodeForbidden)
	wantCode(t, env.Do("PATCH", "/v1/users/"+org.OwnerID, adm.Session, `{"disabled": true}`), 403, models.CodeForbidden)
	wantCode(t, env.Do("DELETE", "/v1/users/"+org.OwnerID, adm.Session, nil), 403, models.CodeForbidden)
	wantCode(t, env.Do("POST", "/v1/users/"+org.OwnerID+"/password-reset", adm.Session, nil), 403, models.CodeForbidden)
	env.MustStatus(200, "GET", "/v1/auth/me", org.Owner, nil)

	// Admins and reviewers are an admin's to manage.
	env.MustStatus(200, "PATCH", "/v1/users/"+adm2.ID, adm.Session, `{"role": "reviewer"}`)
	env.MustStatus(200, "PATCH", "/v1/users/"+rev.ID, adm.Session, `{"disabled": true}`)
	env.MustStatus(204, "DELETE", "/v1/users/"+adm2.ID, adm.Session, nil)

	// The owner may make an owner.
	env.MustStatus(200, "PATCH", "/v1/users/"+adm.ID, org.Owner, `{"role": "owner"}`)
}

// A disabled user's sessions end at once and it cannot sign in; enabled
// again, it can.
func TestDisableUser(t *testing.T) {
	env := servertest.New(t)
	org := env.Setup()
	rev := addUser(env, org.Owner, models.RoleReviewer)
	second := env.Login(rev.Email)

	var u models.User
	env.MustStatus(200, "PATCH", "/v1/users/"+rev.ID, org.Owner, `{"disabled": true}`).JSON(t, &u)
	if !u.Disabled {
		t.Fatalf("not disabled: %+v", u)
	}
	env.MustStatus(401, "GET", "/v1/auth/me", rev.Session, nil)
	env.MustStatus(401, "GET", "/v1/audit", second, nil)
	wantCode(t, login(env, rev.Email, testPassword), 403, models.CodeUserDisabled)
	wantCode(t, login(env, rev.Email, "not the password"), 401, models.CodeUnauthorized)
	var users models.List[models.User]
	env.MustStatus(200, "GET", "/v1/users", org.Owner, nil).JSON(t, &users)
	found := false
	for _, x := range users.Data {
		found = found || (x.ID == rev.ID && x.Disabled)
	}
	if !found {
		t.Fatalf("disabled user not listed as such: %+v", users.Data)
	}
	d := auditDetail(env, org.ID, "users.changed", rev.ID)
	if d["sessions_ended"] != float64(2) || d["after"].(map[string]any)["disabled"] != true {
		t.Fatalf("audit detail %v", d)
	}

	// Even a session the revocation missed is refused while disabled.
	if err := env.Store.DB.Exec(`UPDATE sessions SET revoked_at = NULL WHERE user_id = ?`, rev.ID).Error; err != nil {
		t.Fatal(err)
	}
	env.MustStatus(401, "GET", "/v1/auth/me", rev.Session, nil)

	env.MustStatus(200, "PATCH", "/v1/users/"+rev.ID, org.Owner, `{"disabled": false}`)
	env.MustStatus(200, "GET", "/v1/auth/me", env.Login(rev.Email), nil)
}

// The last enabled owner can be neither demoted, disabled nor deleted.
func TestLastOwner(t *testing.T) {
	env := servertest.New(t)
	org := env.Setup()
	for _, r := range []*servertest.Response{
		env.Do("PATCH", "/v1/users/"+org.OwnerID, org.Owner, `{"role": "admin"}`),
		env.Do("PATCH", "/v1/users/"+org.OwnerID, org.Owner, `{"disabled": true}`),
		env.Do("DELETE", "/v1/users/"+org.OwnerID, org.Owner, nil),
	} {
		wantCode(t, r, 409, models.CodeLastOwner)
	}
	env.MustStatus(200, "GET", "/v1/auth/me", org.Owner, nil)

	// A disabled owner does not count as one.
	own2 := addUser(env, org.Owner, models.RoleOwner)
	env.MustStatus(200, "PATCH", "/v1/users/"+own2.ID, org.Owner, `{"disabled": true}`)
	wantCode(t, env.Do("PATCH", "/v1/users/"+org.OwnerID, org.Owner, `{"role": "reviewer"}`), 409, models.CodeLastOwner)

	// With a second enabled owner the first may step down.
	env.MustStatus(200, "PATCH", "/v1/users/"+own2.ID, org.Owner, `{"disabled": false}`)
	own2.Session = env.Login(own2.Email)
	env.MustStatus(200, "PATCH", "/v1/users/"+org.OwnerID, org.Owner, `{"role": "admin"}`)
	env.MustStatus(401, "GET", "/v1/auth/me", org.Owner, nil)
	wantCode(t, env.Do("DELETE", "/v1/users/"+own2.ID, own2.Session, nil), 409, models.CodeLastOwner)
}

// Two owners demoting each other at once, on two replicas: exactly one
// succeeds, the other gets 409 last_owner, and one enabled owner is left.
func TestLastOwnerRace(t *testing.T) {
	envs := servertest.Replicas(t, 2)
	a, b := envs[0], envs[1]
	org := a.Setup()
	own2 := addUser(a, org.Owner, models.RoleOwner)
	ids := [2]string{org.OwnerID, own2.ID}
	emails := [2]string{org.OwnerEmail, own2.Email}
	for round := 0; round < 8; round++ {
		sessions := [2]string{a.Login(emails[0]), a.Login(emails[1])}
		start := make(chan struct{})
		var wg sync.WaitGroup
		var results [2]*servertest.Response
		for i, env := range []*servertest.Env{a, b} {
			wg.Add(1)
			go func(i int, env *servertest.Env) {
				defer wg.Done()
				<-start
				// Owner i demotes owner 1-i (round 2k) or itself (2k+1).
				target := ids[1-i]
				if round%2 == 1 {
					target = ids[i]
				}
				results[i] = env.Do("PATCH", "/v1/users/"+target, sessions[i], `{"role": "admin"}`)
			}(i, env)
		}
		close(start)
		wg.Wait()
		ok, refused := 0, 0
		for _, r := range results {
			switch {
			case r.Status == 200:
				ok++
			case r.Status == 409 && r.ErrorCode() == models.CodeLastOwner:
				refused++
			case r.Status == 401 || (r.Status == 403 && r.ErrorCode() == models.CodeForbidden):
				// The winner demoted this caller first: its session ended
				// (401), or its request, already past authentication,
				// acts as the admin it now is, on an owner (403).
				refused++
			default:
				t.Fatalf("round %d: unexpected %d %s", round, r.Status, r.Body)
			}
		}
		var owners int64
		a.Store.DB.Raw(`SELECT count(*) FROM users WHERE org_id = ? AND role = 'owner' AND NOT disabled`, org.ID).Scan(&owners)
		if ok != 1 || refused != 1 || owners != 1 {
			t.Fatalf("round %d: %d succeeded, %d refused, %d owners left: %s / %s", round, ok, refused, owners, results[0].Body, results[1].Body)
		}
		// Restore both owners for the next round.
		if err := a.Store.DB.Exec(`UPDATE users SET role = 'owner' WHERE id IN ?`, ids[:]).Error; err != nil {
			t.Fatal(err)
		}
	}
}

// Deleting a user removes it and ends its sessions; any user may delete
// itself (leave), a reviewer nobody else.
func TestDeleteUser(t *testing.T) {
	envs := servertest.Replicas(t, 2)
	a, b := envs[0], envs[1]
	org := a.Setup()
	rev := addUser(a, org.Owner, models.RoleReviewer)
	rev2 := addUser(a, org.Owner, models.RoleReviewer)
	b.MustStatus(200, "GET", "/v1/auth/me", rev.Session, nil)

	wantCode(t, a.Do("DELETE", "/v1/users/"+rev2.ID, rev.Session, nil), 403, models.CodeForbidden)
	a.MustStatus(204, "DELETE", "/v1/users/"+rev.ID, org.Owner, nil)
	b.MustStatus(401, "GET", "/v1/auth/me", rev.Session, nil)
	wantCode(t, login(a, rev.Email, testPassword), 401, models.CodeUnauthorized)
	wantCode(t, a.Do("DELETE", "/v1/users/"+rev.ID, org.Owner, nil), 404, models.CodeNotFound)
	d := auditDetail(a, org.ID, "users.deleted", rev.ID)
	if d["before"].(map[string]any)["email"] != rev.Email || d["sessions_ended"] != float64(1) || d["self"] != false {
		t.Fatalf("audit detail %v", d)
	}

	// Leaving.
	a.MustStatus(204, "DELETE", "/v1/users/"+rev2.ID, rev2.Session, nil)
	b.MustStatus(401, "GET", "/v1/auth/me", rev2.Session, nil)
	if d := auditDetail(a, org.ID, "users.deleted", rev2.ID); d["self"] != true {
		t.Fatalf("audit detail %v", d)
	}
	var users models.List[models.User]
	a.MustStatus(200, "GET", "/v1/users", org.Owner, nil).JSON(t, &users)
	if len(users.Data) != 1 {
		t.Fatalf("users left: %+v", users.Data)
	}
}

// Disabling or demoting on one replica ends the session on the other at once.
func TestSessionsEndOnEveryReplica(t *testing.T) {
	envs := servertest.Replicas(t, 2)
	a, b := envs[0], envs[1]
	org := a.Setup()
	adm := addUser(a, org.Owner, models.RoleAdmin)
	b.MustStatus(200, "GET", "/v1/users", adm.Session, nil)
	a.MustStatus(200, "PATCH", "/v1/users/"+adm.ID, org.Owner, `{"role": "reviewer"}`)
	b.MustStatus(401, "GET", "/v1/auth/me", adm.Session, nil)

	s := b.Login(adm.Email)
	a.MustStatus(200, "GET", "/v1/audit", s, nil)
	b.MustStatus(200, "PATCH", "/v1/users/"+adm.ID, org.Owner, `{"disabled": true}`)
	a.MustStatus(401, "GET", "/v1/audit", s, nil)
}

// A reset code is shown once, works once, expires, voids the old password
// and sessions at once, and only its hash is stored.
func TestPasswordReset(t *testing.T) {
	envs := servertest.Replicas(t, 2)
	a, b := envs[0], envs[1]
	org := a.Setup()
	rev := addUser(a, org.Owner, models.RoleReviewer)

	var pr models.PasswordResetCode
	a.MustStatus(201, "POST", "/v1/users/"+rev.ID+"/password-reset", org.Owner, nil).JSON(t, &pr)
	if pr.UserID != rev.ID || !strings.HasPrefix(pr.Code, "gpr_") || pr.ExpiresAt.IsZero() {
		t.Fatalf("reset %+v", pr)
	}
	b.MustStatus(401, "GET", "/v1/auth/me", rev.Session, nil)
	wantCode(t, login(a, rev.Email, testPassword), 401, models.CodeUnauthorized)
	if d := auditDetail(a, org.ID, "users.password_reset_issued", rev.ID); d["sessions_ended"] != float64(1) || d["expires_at"] == nil {
		t.Fatalf("audit detail %v", d)
	}

	var stored int64
	a.Store.DB.Raw(`SELECT count(*) FROM password_resets WHERE code_hash = sha256(?::bytea)`, pr.Code).Scan(&stored)
	if stored != 1 {
		t.Fatal("code hash not stored")
	}
	a.Store.DB.Raw(`SELECT count(*) FROM password_resets r WHERE position(? in r::text) > 0`, pr.Code[4:]).Scan(&stored)
	var audited int64
	a.Store.DB.Raw(`SELECT count(*) FROM audit_log WHERE position(? in detail::text) > 0`, pr.Code[4:]).Scan(&audited)
	if stored != 0 || audited != 0 {
		t.Fatalf("raw code stored (%d) or audited (%d)", stored, audited)
	}

	// The user, who forgot the password, is locked out of logins.
	for i := 0; i < 5; i++ {
		login(a, rev.Email, "a guessed password")
	}
	wantCode(t, login(a, rev.Email, "a guessed password"), 429, models.CodeRateLimited)

	const newPassword = "a brand new passphrase"
	wantCode(t, b.Do("POST", "/v1/auth/password-reset", "", models.ResetPasswordRequest{Code: pr.Code, NewPassword: "short"}), 422, models.CodeValidation)
	b.MustStatus(204, "POST", "/v1/auth/password-reset", "", models.ResetPasswordRequest{Code: pr.Code, NewPassword: newPassword})
	a.MustStatus(200, "POST", "/v1/auth/login", "", models.LoginRequest{Email: rev.Email, Password: newPassword})
	// Single use.
	wantCode(t, b.Do("POST", "/v1/auth/password-reset", "", models.ResetPasswordRequest{Code: pr.Code, NewPassword: "yet another passphrase"}), 401, models.CodeUnauthorized)
	a.MustStatus(200, "POST", "/v1/auth/login", "", models.LoginRequest{Email: rev.Email, Password: newPassword})
	if d := auditDetail(a, org.ID, "auth.password_reset", rev.ID); d["reset_id"] == nil {
		t.Fatalf("audit detail %v", d)
	}

	// A new code voids the earlier unused one.
	var first, second models.PasswordResetCode
	a.MustStatus(201, "POST", "/v1/users/"+rev.ID+"/password-reset", org.Owner, nil).JSON(t, &first)
	a.MustStatus(201, "POST", "/v1/users/"+rev.ID+"/password-reset", org.Owner, nil).JSON(t, &second)
	wantCode(t, a.Do("POST", "/v1/auth/password-reset", "", models.ResetPasswordRequest{Code: first.Code, NewPassword: newPassword}), 401, models.CodeUnauthorized)

	// Expired.
	if err := a.Store.DB.Exec(`UPDATE password_resets SET expires_at = now() - interval '1 second' WHERE code_hash = sha256(?::bytea)`, second.Code).Error; err != nil {
		t.Fatal(err)
	}
	wantCode(t, a.Do("POST", "/v1/auth/password-reset", "", models.ResetPasswordRequest{Code: second.Code, NewPassword: newPassword}), 401, models.CodeUnauthorized)

	// A replay of the issuing request does not show the code again.
	var orig, replay map[string]any
	a.MustStatus(201, "POST", "/v1/users/"+rev.ID+"/password-reset", org.Owner, nil, "Idempotency-Key", "k1").JSON(t, &orig)
	r := a.MustStatus(201, "POST", "/v1/users/"+rev.ID+"/password-reset", org.Owner, nil, "Idempotency-Key", "k1")
	r.JSON(t, &replay)
	if orig["code"] == nil || replay["code"] != nil || replay["secret_shown_once"] != true || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay %v of %v", replay, orig)
	}
}

// Wrong reset codes are throttled per address like logins.
func TestPasswordResetThrottled(t *testing.T) {
	env := servertest.New(t, func(c *config.Config) { c.Auth.LoginMaxFailures = 1 })
	env.Setup()
	var last *servertest.Response
	for i := 0; i < 5; i++ {
		last = env.Do("POST", "/v1/auth/password-reset", "", models.ResetPasswordRequest{Code: fmt.Sprintf("gpr_wrong%d", i), NewPassword: "a brand new passphrase"})
	}
	wantCode(t, last, 429, models.CodeRateLimited)
	if last.Header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
}

// Changing your own password ends your other sessions and keeps this one.
func TestChangePassword(t *testing.T) {
	env := servertest.New(t)
	org := env.Setup()
	other := env.Login(org.OwnerEmail)

	wantCode(t, env.Do("POST", "/v1/auth/password", org.Owner, models.ChangePasswordRequest{CurrentPassword: "wrong password", NewPassword: "a brand new passphrase"}),
		403, models.CodeForbidden)
	wantCode(t, env.Do("POST", "/v1/auth/password", org.Owner, models.ChangePasswordRequest{CurrentPassword: testPassword, NewPassword: "short"}),
		422, models.CodeValidation)
	env.MustStatus(200, "GET", "/v1/auth/me", other, nil)

	env.MustStatus(204, "POST", "/v1/auth/password", org.Owner, models.ChangePasswordRequest{CurrentPassword: testPassword, NewPassword: "a brand new passphrase"})
	env.MustStatus(200, "GET", "/v1/auth/me", org.Owner, nil)
	env.MustStatus(401, "GET", "/v1/auth/me", other, nil)
	wantCode(t, login(env, org.OwnerEmail, testPassword), 401, models.CodeUnauthorized)
	env.MustStatus(200, "POST", "/v1/auth/login", "", models.LoginRequest{Email: org.OwnerEmail, Password: "a brand new passphrase"})
	if d := auditDetail(env, org.ID, "auth.password_changed", org.OwnerID); d["sessions_ended"] != float64(1) {
		t.Fatalf("audit detail %v", d)
	}

	// Any role may change its own password; agent tokens have none.
	rev := addUser(env, org.Owner, models.RoleReviewer)
	env.MustStatus(204, "POST", "/v1/auth/password", rev.Session, models.ChangePasswordRequest{CurrentPassword: testPassword, NewPassword: "reviewer passphrase"})
}

// Wrong current passwords count toward the email's login lockout.
func TestChangePasswordThrottled(t *testing.T) {
	env := servertest.New(t, func(c *config.Config) { c.Auth.LoginMaxFailures = 2 })
	org := env.Setup()
	for i := 0; i < 2; i++ {
		wantCode(t, env.Do("POST", "/v1/auth/password", org.Owner, models.ChangePasswordRequest{CurrentPassword: "wrong password", NewPassword: "a brand new passphrase"}),
			403, models.CodeForbidden)
	}
	wantCode(t, env.Do("POST", "/v1/auth/password", org.Owner, models.ChangePasswordRequest{CurrentPassword: testPassword, NewPassword: "a brand new passphrase"}),
		429, models.CodeRateLimited)
}

// A caller demoted while its request waits for the owner lock acts with
// its new role: the request is authenticated as an admin, then blocks on
// the owner rows that this test holds; the test demotes it to reviewer
// and lets go; the request is refused and changes nothing.
func TestUserChangeUsesRoleUnderLock(t *testing.T) {
	env := servertest.New(t)
	org := env.Setup()
	adm := addUser(env, org.Owner, models.RoleAdmin)
	rev := addUser(env, org.Owner, models.RoleReviewer)

	tx := env.Store.DB.Begin()
	defer tx.Rollback()
	if err := tx.Exec(`SELECT id FROM users WHERE org_id = ? AND role = 'owner' FOR UPDATE`, org.ID).Error; err != nil {
		t.Fatal(err)
	}
	done := make(chan *servertest.Response)
	go func() { done <- env.Do("PATCH", "/v1/users/"+rev.ID, adm.Session, `{"disabled": true}`) }()
	// Wait until the request is blocked on the owner rows.
	for {
		var waiting int64
		if err := env.Store.DB.Raw(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock' AND query LIKE '%role = ''owner'' ORDER BY id FOR UPDATE%'`).Scan(&waiting).Error; err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		select {
		case r := <-done:
			t.Fatalf("request finished without waiting for the owner lock: %d %s", r.Status, r.Body)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := tx.Exec(`UPDATE users SET role = 'reviewer' WHERE id = ?`, adm.ID).Error; err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit().Error; err != nil {
		t.Fatal(err)
	}
	wantCode(t, <-done, 403, models.CodeForbidden)
	var disabled bool
	env.Store.DB.Raw(`SELECT disabled FROM users WHERE id = ?`, rev.ID).Scan(&disabled)
	if disabled {
		t.Fatal("a demoted admin disabled a user")
	}
}
