package tui

import (
	"net"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"gent/daemon/server"
	"gent/daemon/server/servertest"
	"gent/models"
)

// Golden screens at 80×24 with the ASCII profile. Regenerate with
// go test ./tui/ -run Golden -update

func TestGoldenSetup(t *testing.T) {
	d := startDaemon(t)
	d.setupCode(t)
	r := startTUI(t, d)
	r.golden(r.wait("Welcome to Gent", "read from"))
}

func TestGoldenSetupBadCode(t *testing.T) {
	d := startDaemon(t)
	d.setupCode(t)
	r := startTUI(t, d)
	r.wait("Welcome to Gent")
	r.press(tea.KeyShiftTab)
	r.press(tea.KeyCtrlU)
	r.typ("AAAAAA-BBBBBB")
	r.press(tea.KeyTab)
	r.typ("Acme")
	r.press(tea.KeyTab)
	r.typ("owner@acme.test")
	r.press(tea.KeyTab)
	r.typ(password)
	r.press(tea.KeyEnter)
	r.golden(r.wait("setup code is not valid"))
}

func TestGoldenLogin(t *testing.T) {
	d := startDaemon(t)
	d.Setup()
	r := startTUI(t, d)
	r.golden(r.wait("Sign in to Gent"))
}

func TestGoldenLoginWrongPassword(t *testing.T) {
	d := startDaemon(t)
	d.Setup()
	r := startTUI(t, d)
	r.wait("Sign in to Gent")
	r.typ("owner@acme.test")
	r.press(tea.KeyTab)
	r.typ("not the password")
	r.press(tea.KeyEnter)
	r.golden(r.wait("not correct"))
}

func TestGoldenDashboard(t *testing.T) {
	d := startDaemon(t)
	org := d.Setup()
	d.addUser(t, org.Owner, "ada@acme.test", models.RoleAdmin)
	d.addUser(t, org.Owner, "rex@acme.test", models.RoleReviewer)
	dir := t.TempDir()
	d.saveSession(t, dir, org.Owner, org.OwnerEmail)
	r := startTUI(t, d, withConfigDir(dir))
	r.golden(r.wait("Recent activity", "users.create", "1 reviewer"))
}

// signedIn starts the TUI with a saved owner session on a daemon with two
// more users, and waits for the dashboard.
func signedIn(t *testing.T) (*daemon, servertest.Org, *tui) {
	t.Helper()
	d := startDNSDaemon(t)
	org := d.Setup()
	d.addUser(t, org.Owner, "ada@acme.test", models.RoleAdmin)
	d.addUser(t, org.Owner, "rex@acme.test", models.RoleReviewer)
	dir := t.TempDir()
	d.saveSession(t, dir, org.Owner, org.OwnerEmail)
	r := startTUI(t, d, withConfigDir(dir))
	r.wait("Recent activity", "1 reviewer")
	return d, org, r
}

func TestGoldenDashboardFullHelp(t *testing.T) {
	_, _, r := signedIn(t)
	r.runes("?")
	r.golden(r.wait("fewer keys"))
}

func TestGoldenReviewerDashboard(t *testing.T) {
	d := startDaemon(t)
	org := d.Setup()
	d.addUser(t, org.Owner, "rex@acme.test", models.RoleReviewer)
	dir := t.TempDir()
	d.saveSession(t, dir, d.Login("rex@acme.test"), "rex@acme.test")
	r := startTUI(t, d, withConfigDir(dir))
	r.golden(r.wait("Recent activity", "auth.login"))
}

func TestGoldenUsers(t *testing.T) {
	_, _, r := signedIn(t)
	r.runes("u")
	r.golden(r.wait("3 users in Acme"))
}

func TestGoldenUserAdd(t *testing.T) {
	_, _, r := signedIn(t)
	r.runes("u")
	r.wait("3 users in Acme")
	r.runes("a")
	r.wait("Add a user to Acme")
	r.typ("eve@acme.test")
	r.press(tea.KeyTab)
	r.typ("short")
	r.press(tea.KeyTab, tea.KeyRight)
	r.golden(r.wait("(•) reviewer"))
}

func TestGoldenUserAddError(t *testing.T) {
	_, _, r := signedIn(t)
	r.runes("u")
	r.wait("3 users in Acme")
	r.runes("a")
	r.wait("Add a user to Acme")
	r.typ("eve@acme.test")
	r.press(tea.KeyTab)
	r.typ("short")
	r.press(tea.KeyTab, tea.KeyEnter)
	r.golden(r.wait("at least 10 characters."))
}

func TestGoldenAudit(t *testing.T) {
	_, _, r := signedIn(t)
	r.runes("l")
	r.golden(r.wait("Newest first", "entry 1 of 3"))
}

func TestGoldenAuditFilter(t *testing.T) {
	_, _, r := signedIn(t)
	r.runes("l")
	r.wait("entry 1 of 3")
	r.runes("/")
	r.typ("users.create")
	r.golden(r.wait("Action          users.create"))
}

func TestGoldenAuditFiltered(t *testing.T) {
	_, _, r := signedIn(t)
	r.runes("l")
	r.wait("entry 1 of 3")
	r.runes("/")
	r.typ("users.create")
	r.press(tea.KeyEnter)
	r.typ("owner@acme.test")
	r.press(tea.KeyEnter)
	r.golden(r.wait("Filter: action users.create", "entry 1 of 2"))
}

func TestGoldenAuditDetail(t *testing.T) {
	_, _, r := signedIn(t)
	r.runes("l")
	r.wait("entry 1 of 3")
	r.press(tea.KeyEnter)
	r.golden(r.wait("Request", "Entry"))
}

func TestGoldenUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	d := &daemon{URL: "http://" + addr, Env: &servertest.Env{Daemon: &server.Daemon{}}}
	r := startTUI(t, d)
	r.golden(r.wait("Cannot start"))
}
