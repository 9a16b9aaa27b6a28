// Package common holds what every screen of the TUI shares: the Common
// value (size, styles, keys, API client, who is signed in), the Component
// interface screens implement, and the messages screens and the root model
// exchange.
package common

import (
	"io"

	"github.com/charmbracelet/bubbles/help"
	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/client"
	"gent/tui/keys"
	"gent/tui/styles"
)

// Common is shared by the root model and every screen. Only the root
// model changes it, inside Update.
type Common struct {
	Width, Height int // the screen area (the terminal less header and footer)
	Styles        styles.Styles
	Keys          keys.KeyMap
	Client        *client.Client

	// Me is the signed-in user and organization (nil before sign-in).
	Me *models.Me

	// DataDir is the local data directory (--data-dir): where files the
	// TUI writes for the user, such as zone snippets, go.
	DataDir string
	// Output is the terminal the program draws on; the clipboard escape
	// sequence (OSC 52) is written to it. Nil: copying is not possible.
	Output io.Writer

	lastID int
}

// NewCommon builds a Common for client.
func NewCommon(c *client.Client) *Common {
	return &Common{Styles: styles.DefaultStyles(), Keys: keys.Default(), Client: c}
}

// Role is the signed-in user's role ("" before sign-in).
func (c *Common) Role() string {
	if c.Me == nil {
		return ""
	}
	return c.Me.User.Role
}

// IsAdmin reports whether the user may manage the organization (owner or
// admin); reviewers only read the audit log and decide held sends.
func (c *Common) IsAdmin() bool {
	r := c.Role()
	return r == models.RoleOwner || r == models.RoleAdmin
}

// Component is one screen: a bubbletea model that lists its keys for the
// help line and is told the size of the area it draws in. Update returns
// the component itself.
type Component interface {
	tea.Model
	help.KeyMap
	SetSize(width, height int)
	// Title names the screen in the header's breadcrumb.
	Title() string
}

// Typist is implemented by screens with text fields. While Typing is true
// the root model passes every key (q and ? included) to the screen, and
// esc is the screen's to handle.
type Typist interface {
	Typing() bool
}

// HelpTaker is implemented by typing screens some of whose steps have no
// text field (a wizard's choices): while TakesHelp is true, ? still shows
// every key.
type HelpTaker interface {
	TakesHelp() bool
}

// Busy is implemented by screens that make API calls: while Busy is true
// the root model shows a spinner with the label.
type Busy interface {
	Busy() (bool, string)
}

// Navigation and session messages, handled by the root model.
type (
	// PushMsg opens a screen on top of the current one.
	PushMsg struct{ Screen Component }
	// PopMsg closes the current screen (esc does the same).
	PopMsg struct{}
	// ReplaceMsg closes every screen and opens Screen.
	ReplaceMsg struct{ Screen Component }
	// SignedInMsg is sent by the setup and login screens.
	SignedInMsg struct{ Session *models.SessionResponse }
	// SignOutMsg asks the root model to sign out.
	SignOutMsg struct{}
	// FlashMsg shows a one-line note in the status line until the next key.
	// A Notice is news from elsewhere (a send held for approval), not the
	// outcome of the user's action.
	FlashMsg struct {
		Text   string
		Error  bool
		Notice bool
	}
)

// Push returns a command that opens s.
func Push(s Component) tea.Cmd { return func() tea.Msg { return PushMsg{Screen: s} } }

// Replace returns a command that makes s the only open screen.
func Replace(s Component) tea.Cmd { return func() tea.Msg { return ReplaceMsg{Screen: s} } }

// Pop returns a command that closes the current screen.
func Pop() tea.Msg { return PopMsg{} }

// Flash returns a command that shows text in the status line.
func Flash(text string) tea.Cmd { return func() tea.Msg { return FlashMsg{Text: text} } }

// FlashError returns a command that shows an error in the status line.
func FlashError(text string) tea.Cmd {
	return func() tea.Msg { return FlashMsg{Text: text, Error: true} }
}
