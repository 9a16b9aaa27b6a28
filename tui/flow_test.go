package tui

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"gent/daemon/audit"
	"gent/daemon/config"
	"gent/daemon/server/servertest"
	"gent/models"
	"gent/tui/session"
)

// Flows driven through the TUI against a real daemon.

func loadSession(t *testing.T, dir, server string) (session.Saved, bool) {
	t.Helper()
	st, err := session.NewStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	sv, ok, err := st.Load(server)
	if err != nil {
		t.Fatal(err)
	}
	return sv, ok
}

func TestFlowSetup(t *testing.T) {
	d := startDaemon(t)
	d.setupCode(t)
	r := startTUI(t, d)
	r.wait("Welcome to Gent", "read from")
	// The code is pre-filled and the organization field has the focus.
	r.typ("Acme")
	r.press(tea.KeyTab)
	r.typ("owner@acme.test")
	r.press(tea.KeyTab)
	r.typ(password)
	r.press(tea.KeyEnter)
	v := r.wait("Signed in as owner@acme.test (owner)", "auth.setup")
	if !strings.Contains(v, "Users          1   1 owner") {
		t.Fatalf("dashboard does not count the owner:\n%s", v)
	}

	// The session is kept, readable by the user only, and the daemon
	// accepts it.
	sv, ok := loadSession(t, r.ConfigDir, d.URL)
	if !ok || !strings.HasPrefix(sv.Token.Reveal(), "gses_") || sv.Email != "owner@acme.test" {
		t.Fatalf("saved session: %+v %v", sv, ok)
	}
	fi, err := os.Stat(r.ConfigDir + "/gent/session.json")
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("session file: %v %v", fi, err)
	}
	var me models.Me
	d.MustStatus(200, "GET", "/v1/auth/me", sv.Token.Reveal(), nil).JSON(t, &me)
	if me.Org.Name != "Acme" || me.User.Role != models.RoleOwner {
		t.Fatalf("me: %+v", me)
	}
	// The code is used up: the file is gone and setup is closed.
	if _, err := os.Stat(d.Config.DataDir + "/setup-code"); !os.IsNotExist(err) {
		t.Fatalf("setup-code file still there: %v", err)
	}
}

func TestFlowSetupWithoutLocalCode(t *testing.T) {
	d := startDaemon(t)
	code := d.setupCode(t)
	if err := os.Remove(d.Config.DataDir + "/setup-code"); err != nil {
		t.Fatal(err)
	}
	r := startTUI(t, d)
	r.wait("Welcome to Gent", "printed in gentd's log")
	r.typ(strings.ToLower(code)) // codes are not case-sensitive
	r.press(tea.KeyTab)
	r.typ("Acme")
	r.press(tea.KeyTab)
	r.typ("owner@acme.test")
	r.press(tea.KeyTab)
	r.typ(password)
	r.press(tea.KeyEnter)
	r.wait("Signed in as owner@acme.test (owner)")
}

func TestFlowSetupAlreadyDone(t *testing.T) {
	d := startDaemon(t)
	d.setupCode(t)
	r := startTUI(t, d)
	r.wait("Welcome to Gent")
	d.Setup() // someone else finishes setup first
	r.typ("Other")
	r.press(tea.KeyTab)
	r.typ("me@other.test")
	r.press(tea.KeyTab)
	r.typ(password)
	r.press(tea.KeyEnter)
	v := r.wait("Sign in to Gent", "Setup has already been completed")
	if !strings.Contains(v, "Email           me@other.test") {
		t.Fatalf("email not carried to sign-in:\n%s", v)
	}
}

func TestFlowLoginAndSessionPersistence(t *testing.T) {
	d := startDaemon(t)
	org := d.Setup()
	dir := t.TempDir()

	r := startTUI(t, d, withConfigDir(dir))
	r.wait("Sign in to Gent")
	r.typ(org.OwnerEmail)
	r.press(tea.KeyTab)
	r.typ(password)
	r.press(tea.KeyEnter)
	r.wait("Signed in as owner@acme.test")
	r.quit()
	sv, ok := loadSession(t, dir, d.URL)
	if !ok {
		t.Fatal("no session saved after sign-in")
	}

	// The next start goes straight to the dashboard.
	r2 := startTUI(t, d, withConfigDir(dir))
	v := r2.wait("Signed in as owner@acme.test")
	if strings.Contains(v, "Sign in to Gent") {
		t.Fatalf("asked to sign in again:\n%s", v)
	}

	// Signing out forgets the session here and revokes it on the daemon.
	r2.runes("X")
	v = r2.wait("Sign in to Gent", "Signed out.")
	if !strings.Contains(v, "Email           owner@acme.test") {
		t.Fatalf("email not pre-filled after sign-out:\n%s", v)
	}
	if _, ok := loadSession(t, dir, d.URL); ok {
		t.Fatal("session still saved after sign-out")
	}
	if got := d.Do("GET", "/v1/auth/me", sv.Token.Reveal(), nil).Status; got != 401 {
		t.Fatalf("signed-out session: GET /v1/auth/me = %d, want 401", got)
	}

	// q is typed into the password field, not taken as quit.
	r2.runes("q")
	r2.press(tea.KeyEnter)
	r2.wait("Email or password is not correct")
}

func TestFlowRevokedSavedSession(t *testing.T) {
	d := startDaemon(t)
	org := d.Setup()
	dir := t.TempDir()
	d.saveSession(t, dir, org.Owner, org.OwnerEmail)
	d.MustStatus(204, "POST", "/v1/auth/logout", org.Owner, nil)

	r := startTUI(t, d, withConfigDir(dir))
	r.wait("Sign in to Gent", "Your saved session has ended; sign in again.")
	if _, ok := loadSession(t, dir, d.URL); ok {
		t.Fatal("a revoked session stayed saved")
	}
}

func TestFlowSessionEndsWhileOpen(t *testing.T) {
	_, org, r := signedIn(t)
	r.d.MustStatus(204, "POST", "/v1/auth/logout", org.Owner, nil)
	r.runes("r") // refresh: the daemon answers 401
	v := r.wait("Sign in to Gent", "Your session has ended; sign in again.")
	if !strings.Contains(v, "Email           owner@acme.test") {
		t.Fatalf("email not pre-filled:\n%s", v)
	}
	if _, ok := loadSession(t, r.ConfigDir, r.d.URL); ok {
		t.Fatal("an ended session stayed saved")
	}
}

func TestFlowLoginThrottled(t *testing.T) {
	env := servertest.New(t, func(c *config.Config) { c.Auth.LoginMaxFailures = 2 })
	d := serve(t, env)
	d.Setup()
	r := startTUI(t, d)
	r.wait("Sign in to Gent")
	r.typ("owner@acme.test")
	r.press(tea.KeyTab)
	for i := 0; i < 3; i++ {
		r.typ("wrong password")
		r.press(tea.KeyEnter)
		if i < 2 {
			r.wait("Email or password is not correct")
		}
	}
	r.wait("Too many failed sign-in attempts; try again later. Try again in 15m0s.")
}

func TestFlowAddUser(t *testing.T) {
	d, org, r := signedIn(t)
	r.runes("u")
	r.wait("3 users in Acme")
	r.runes("a")
	r.wait("Add a user to Acme")
	r.typ("eve@acme.test")
	r.press(tea.KeyTab)
	r.typ(password)
	r.press(tea.KeyTab, tea.KeyRight, tea.KeyEnter) // reviewer
	v := r.wait("4 users in Acme", "Added eve@acme.test as reviewer.")
	if !strings.Contains(v, "› eve@acme.test") {
		t.Fatalf("the new user is not selected:\n%s", v)
	}

	var users models.List[models.User]
	d.MustStatus(200, "GET", "/v1/users", org.Owner, nil).JSON(t, &users)
	found := false
	for _, u := range users.Data {
		found = found || (u.Email == "eve@acme.test" && u.Role == models.RoleReviewer)
	}
	if !found {
		t.Fatalf("eve is not a reviewer: %+v", users.Data)
	}
	d.Login("eve@acme.test") // the password typed in the form works

	// The dashboard counted the new user while the list was open.
	r.press(tea.KeyEsc)
	r.wait("Users          4   1 owner · 1 admin · 2 reviewers")

	// Adding the same email again is refused, under the email field.
	r.runes("u")
	r.wait("4 users in Acme")
	r.runes("a")
	r.wait("Add a user to Acme")
	r.typ("eve@acme.test")
	r.press(tea.KeyTab)
	r.typ(password)
	r.press(tea.KeyTab, tea.KeyEnter)
	r.wait("✗ A user with this email already exists.")
	r.press(tea.KeyEsc)
	r.wait("4 users in Acme")
}

func TestFlowAudit(t *testing.T) {
	d, org, r := signedIn(t)
	// 60 more entries: the log has two pages of 50.
	for i := 0; i < 60; i++ {
		err := d.Audit.Record(context.Background(), nil, audit.Entry{OrgID: org.ID, ActorType: "system",
			Action: "test.tick", Outcome: audit.Success, Status: 200, Detail: map[string]any{"n": i}})
		if err != nil {
			t.Fatal(err)
		}
	}
	r.runes("l")
	v := r.wait("page 1 · entry 1 of 50 · older: n")
	if !strings.Contains(v, "system") || !strings.Contains(v, "test.tick") {
		t.Fatalf("newest entries not shown first:\n%s", v)
	}
	r.runes("n")
	v = r.wait("page 2 · entry 1 of 13 · newer: p")
	if !strings.Contains(v, "auth.setup") {
		t.Fatalf("page 2 lacks the oldest entry:\n%s", v)
	}
	r.runes("G")
	r.press(tea.KeyEnter)
	r.wait("Action       auth.setup", "Target       org org_")
	r.press(tea.KeyEsc)
	r.runes("p")
	r.wait("page 1 · entry 1 of 50")

	// Filter by actor: the owner's email finds the two users.create.
	r.runes("/")
	r.press(tea.KeyTab)
	r.typ("owner@acme.test")
	r.press(tea.KeyEnter)
	v = r.wait("Filter: actor owner@acme.test", "entry 1 of 3")
	for _, want := range []string{"users.create", "auth.setup"} {
		if !strings.Contains(v, want) {
			t.Fatalf("actor filter lost %s:\n%s", want, v)
		}
	}
	// Filter by kind of actor and action together.
	r.runes("/")
	r.press(tea.KeyCtrlU)
	r.typ("test.tick")
	r.press(tea.KeyTab, tea.KeyCtrlU)
	r.typ("system")
	r.press(tea.KeyEnter)
	r.wait("Filter: action test.tick · actor system", "entry 1 of 50 · older: n")
	// A filter matching nothing says so; x clears it.
	r.runes("/")
	r.press(tea.KeyCtrlU)
	r.typ("no.such.action")
	r.press(tea.KeyEnter, tea.KeyEnter)
	r.wait("No entries match.")
	r.runes("x")
	r.wait("All entries.", "entry 1 of 50")
	// An unknown email is refused before asking the daemon.
	r.runes("/")
	r.press(tea.KeyTab)
	r.typ("nobody@acme.test")
	r.press(tea.KeyEnter)
	r.wait("no user with the email nobody@acme.test")
}

func TestFlowReviewerAudit(t *testing.T) {
	d := startDaemon(t)
	org := d.Setup()
	d.addUser(t, org.Owner, "rex@acme.test", models.RoleReviewer)
	dir := t.TempDir()
	d.saveSession(t, dir, d.Login("rex@acme.test"), "rex@acme.test")
	r := startTUI(t, d, withConfigDir(dir))
	v := r.wait("Signed in as rex@acme.test (reviewer)", "auth.login")
	if strings.Contains(v, "Users") {
		t.Fatalf("a reviewer sees the users section:\n%s", v)
	}
	r.runes("u") // not a reviewer's key: nothing opens
	r.runes("l")
	r.wait("Newest first", "rex@acme.test")
	r.runes("/")
	r.press(tea.KeyTab)
	r.typ("rex@acme.test")
	r.press(tea.KeyEnter)
	r.wait("Filter: actor rex@acme.test", "entry 1 of 1")
}

// serve runs env's API on a loopback listener.
func serve(t *testing.T, env *servertest.Env) *daemon {
	t.Helper()
	d := &daemon{Env: env}
	ln := listen(t)
	go func() { _ = env.App.Listener(ln) }()
	t.Cleanup(func() { _ = env.App.ShutdownWithTimeout(5 * time.Second) })
	// The event listener wakes streams as events commit (gentd runs it
	// next to the API); stopping it first ends open streams, so the
	// server's shutdown does not wait for them.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = env.Events.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-env.Events.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("the event listener did not start")
	}
	d.URL = fmt.Sprintf("http://%s", ln.Addr())
	return d
}
