package tui

import (
	"context"

	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
	"gent/tui/screens"
	"gent/tui/session"
)

// start decides the first screen: with a saved session that the daemon
// still accepts, the dashboard; otherwise setup or sign-in, as the daemon
// says.
func (m *Model) start() tea.Cmd {
	m.state, m.failure = stateStarting, ""
	sv, ok, err := m.sessions.Load(m.c.Client.Server())
	if err != nil {
		m.flash = common.FlashMsg{Text: "The saved session could not be read: " + err.Error(), Error: true}
	}
	if !ok {
		return m.askStatus()
	}
	m.c.Client.SetToken(sv.Token)
	return common.Start(m.c, &m.req, "me", "Signing in as "+sv.Email+"…", func(ctx context.Context, cl *client.Client) (*models.Me, error) {
		return cl.Me(ctx)
	})
}

func (m *Model) askStatus() tea.Cmd {
	return common.Start(m.c, &m.req, "status", "Connecting to "+m.c.Client.Server()+"…", func(ctx context.Context, cl *client.Client) (models.AuthStatus, error) {
		return cl.AuthStatus(ctx)
	})
}

// handleReply handles the answers to the root model's own calls; mine is
// false for the screens' replies.
func (m *Model) handleReply(msg common.Reply) (cmd tea.Cmd, mine bool) {
	name, ok := m.req.Done(msg.RequestID())
	if !ok {
		return nil, false
	}
	errMsg, failed := msg.(common.ErrorMsg)
	switch {
	case name == "logout":
		var err error
		if failed {
			err = errMsg.Err
		}
		return m.signedOut(err), true
	case failed && name == "me" && common.Unauthorized(errMsg.Err):
		m.forget()
		m.flash = common.FlashMsg{Text: "Your saved session has ended; sign in again.", Error: true}
		return m.askStatus(), true
	case failed:
		m.state, m.failure = stateFailed, common.Describe(errMsg.Err)
		return nil, true
	}
	switch r := msg.(type) {
	case common.ResultMsg[*models.Me]:
		m.c.Me = r.Value
		return tea.Batch(m.replace(screens.NewDashboard(m.c)), m.startStream()), true
	case common.ResultMsg[models.AuthStatus]:
		if r.Value.SetupRequired {
			code, path := localSetupCode(m.c.Client.Server(), m.opts.DataDir)
			return m.replace(screens.NewSetup(m.c, code, path)), true
		}
		return m.replace(screens.NewLogin(m.c, "")), true
	}
	return nil, true
}

func (m *Model) replace(s common.Component) tea.Cmd {
	m.stack = nil
	return m.push(s)
}

// signedIn keeps the new session and opens the dashboard.
func (m *Model) signedIn(msg common.SignedInMsg) tea.Cmd {
	s := msg.Session
	m.c.Client.SetToken(client.Secret(s.Token))
	m.c.Me = &models.Me{User: s.User, Org: s.Org}
	err := m.sessions.Save(m.c.Client.Server(), session.Saved{Token: client.Secret(s.Token), ExpiresAt: s.ExpiresAt, Email: s.User.Email})
	if err != nil {
		m.flash = common.FlashMsg{Text: "Signed in, but the session could not be saved: " + err.Error(), Error: true}
	}
	return tea.Batch(m.replace(screens.NewDashboard(m.c)), m.startStream())
}

// signOut revokes the session on the daemon; signedOut follows.
func (m *Model) signOut() tea.Cmd {
	if m.req.Pending("logout") {
		return nil
	}
	return common.Start(m.c, &m.req, "logout", "Signing out…", func(ctx context.Context, cl *client.Client) (struct{}, error) {
		return struct{}{}, cl.Logout(ctx)
	})
}

// signedOut forgets the session here whatever the daemon answered: a
// session it no longer knows is signed out already.
func (m *Model) signedOut(err error) tea.Cmd {
	email := ""
	if m.c.Me != nil {
		email = m.c.Me.User.Email
	}
	m.forget()
	m.flash = common.FlashMsg{Text: "Signed out."}
	if err != nil && !common.Unauthorized(err) {
		m.flash = common.FlashMsg{Text: "Signed out here, but the daemon could not revoke the session: " + common.Describe(err), Error: true}
	}
	return m.replace(screens.NewLogin(m.c, email))
}

// sessionEnded answers a 401 on a signed-in screen: the session expired
// or was revoked.
func (m *Model) sessionEnded() tea.Cmd {
	email := m.c.Me.User.Email
	m.forget()
	m.flash = common.FlashMsg{Text: "Your session has ended; sign in again.", Error: true}
	return m.replace(screens.NewLogin(m.c, email))
}

// forget drops the session from the client, the model and the file, and
// stops the event stream.
func (m *Model) forget() {
	m.stopStream()
	m.c.Client.SetToken("")
	m.c.Me = nil
	if err := m.sessions.Clear(m.c.Client.Server()); err != nil {
		m.flash = common.FlashMsg{Text: "The saved session could not be removed: " + err.Error(), Error: true}
	}
}
