// Package keys is the TUI's one keymap. Screens pick the bindings they use
// from KeyMap and list them in their help; nothing else names a key.
package keys

import "github.com/charmbracelet/bubbles/key"

// KeyMap holds every binding of the TUI.
type KeyMap struct {
	// Everywhere.
	Quit      key.Binding
	ForceQuit key.Binding
	Help      key.Binding
	Back      key.Binding

	// Lists and tables.
	Up       key.Binding
	Down     key.Binding
	PageUp   key.Binding
	PageDown key.Binding
	Top      key.Binding
	Bottom   key.Binding
	Open     key.Binding
	Refresh  key.Binding

	// Forms.
	NextField key.Binding
	PrevField key.Binding
	Submit    key.Binding
	Left      key.Binding
	Right     key.Binding
	Choose    key.Binding // help for Left and Right together
	Cancel    key.Binding
	// In a multi-line text field ↑/↓ and enter move and break lines.
	NextFieldTab key.Binding
	PrevFieldTab key.Binding
	NewLine      key.Binding

	// Dashboard navigation.
	Users   key.Binding
	Audit   key.Binding
	Logout  key.Binding
	Retry   key.Binding
	AddUser key.Binding

	// Audit log.
	Filter      key.Binding
	ClearFilter key.Binding
	NextPage    key.Binding
	PrevPage    key.Binding

	// Domains, inboxes and tokens.
	Domains      key.Binding
	Inboxes      key.Binding
	Tokens       key.Binding
	AddDomain    key.Binding
	AddInbox     key.Binding
	AddToken     key.Binding
	InboxTokens  key.Binding // the tokens of the selected inbox
	Verify       key.Binding
	CopyZone     key.Binding
	CopyToken    key.Binding
	Delete       key.Binding
	Revoke       key.Binding
	Rotate       key.Binding
	Done         key.Binding // leave the screen that shows a token once
	Continue     key.Binding // next step of a wizard
	StepBack     key.Binding // previous step of a wizard
	Toggle       key.Binding // check or uncheck a scope
	Hold         key.Binding // hold a checked scope for approval
	PresetAgent  key.Binding
	PresetSuperv key.Binding
	PresetReader key.Binding
	Presets      key.Binding // the three presets, in one help entry

	// Approvals.
	Approvals     key.Binding
	Approve       key.Binding
	EditApprove   key.Binding
	Reject        key.Binding
	StatusFilter  key.Binding // switch the status shown
	RefreshQueue  key.Binding // refresh where r rejects
	ApproveEdited key.Binding // submit the edit form from any field

	// Caps.
	Caps      key.Binding
	EditCap   key.Binding
	RemoveCap key.Binding
	Usage     key.Binding

	// Sandbox: captured mail, and the dashboard's first-run checklist
	// (one key per step).
	Captured    key.Binding
	StepInbox   key.Binding
	StepToken   key.Binding
	StepSend    key.Binding
	StepApprove key.Binding

	// Inbox browser, policy and quarantine.
	Search     key.Binding // full-text search of an inbox
	Policy     key.Binding // the organization's or an inbox's policy
	Save       key.Binding // save a form from any field
	Quarantine key.Binding
	Release    key.Binding
	Reload     key.Binding // refresh where r means something else

	// Users: role, disable/enable, password reset, one's own password.
	ChangeRole    key.Binding
	DisableUser   key.Binding
	ResetPassword key.Binding
	MyPassword    key.Binding
	CopyCode      key.Binding

	// Sign-in: set a new password with a reset code an admin issued.
	UseResetCode key.Binding

	// Confirmations.
	Confirm key.Binding
	Decline key.Binding
}

// Default returns the keymap.
func Default() KeyMap {
	b := func(help, desc string, k ...string) key.Binding {
		return key.NewBinding(key.WithKeys(k...), key.WithHelp(help, desc))
	}
	return KeyMap{
		Quit:      b("q", "quit", "q"),
		ForceQuit: b("ctrl+c", "quit", "ctrl+c"),
		Help:      b("?", "more keys", "?"),
		Back:      b("esc", "back", "esc"),

		Up:       b("↑/k", "up", "up", "k"),
		Down:     b("↓/j", "down", "down", "j"),
		PageUp:   b("pgup", "page up", "pgup", "ctrl+u"),
		PageDown: b("pgdn", "page down", "pgdown", "ctrl+d"),
		Top:      b("home/g", "first", "home", "g"),
		Bottom:   b("end/G", "last", "end", "G"),
		Open:     b("enter", "open", "enter"),
		Refresh:  b("r", "refresh", "r"),

		NextField: b("tab/↓", "next", "tab", "down"),
		PrevField: b("↑", "previous", "shift+tab", "up"),
		Submit:    b("enter", "submit", "enter"),
		Left:      b("←", "previous choice", "left"),
		Right:     b("→", "next choice", "right"),
		Choose:    b("←/→", "choose", "left", "right"),
		Cancel:    b("esc", "cancel", "esc"),

		NextFieldTab: b("tab", "next", "tab"),
		PrevFieldTab: b("shift+tab", "previous", "shift+tab"),
		NewLine:      b("enter", "new line", "enter"),

		Users:   b("u", "users", "u"),
		Audit:   b("l", "audit log", "l"),
		Logout:  b("X", "sign out", "X"),
		Retry:   b("r", "retry", "r"),
		AddUser: b("a", "add user", "a"),

		Filter:      b("/", "filter", "/"),
		ClearFilter: b("x", "clear filter", "x"),
		NextPage:    b("n", "older", "n"),
		PrevPage:    b("p", "newer", "p"),

		Domains:      b("d", "domains", "d"),
		Inboxes:      b("i", "inboxes", "i"),
		Tokens:       b("t", "tokens", "t"),
		AddDomain:    b("a", "add domain", "a"),
		AddInbox:     b("a", "new inbox", "a"),
		AddToken:     b("a", "new token", "a"),
		InboxTokens:  b("t", "its tokens", "t"),
		Verify:       b("v", "verify now", "v"),
		CopyZone:     b("c", "copy zone", "c"),
		CopyToken:    b("c", "copy token", "c"),
		Delete:       b("d", "delete", "d"),
		Revoke:       b("d", "revoke", "d"),
		Rotate:       b("R", "rotate", "R"),
		Done:         b("enter", "done", "enter"),
		Continue:     b("enter", "continue", "enter"),
		StepBack:     b("esc", "back", "esc"),
		Toggle:       b("space", "check", " "),
		Hold:         b("h", "hold", "h"),
		PresetAgent:  b("1", "default agent", "1"),
		PresetSuperv: b("2", "supervised send", "2"),
		PresetReader: b("3", "read-only observer", "3"),
		Presets:      b("1/2/3", "presets", "1", "2", "3"),

		Approvals:     b("a", "approvals", "a"),
		Approve:       b("a", "approve", "a"),
		EditApprove:   b("e", "edit+approve", "e"),
		Reject:        b("r", "reject", "r"),
		StatusFilter:  b("s", "status shown", "s"),
		RefreshQueue:  b("ctrl+r", "refresh", "ctrl+r"),
		ApproveEdited: b("ctrl+s", "approve as edited", "ctrl+s"),

		Caps:      b("c", "caps", "c"),
		EditCap:   b("e", "edit cap", "e"),
		RemoveCap: b("d", "remove", "d"),
		Usage:     b("u", "usage", "u"),

		Captured:    b("C", "captured", "C"),
		StepInbox:   b("1", "sandbox inbox", "1"),
		StepToken:   b("2", "supervised token", "2"),
		StepSend:    b("3", "copy the agent's send", "3"),
		StepApprove: b("4", "approve it", "4"),

		Search:     b("/", "search", "/"),
		Policy:     b("P", "policy", "P"),
		Save:       b("ctrl+s", "save", "ctrl+s"),
		Quarantine: b("Q", "quarantine", "Q"),
		Release:    b("R", "release", "R"),
		Reload:     b("ctrl+r", "refresh", "ctrl+r"),

		ChangeRole:    b("e", "role", "e"),
		DisableUser:   b("D", "disable", "D"),
		ResetPassword: b("P", "reset", "P"),
		MyPassword:    b("p", "my password", "p"),
		CopyCode:      b("c", "copy code", "c"),

		UseResetCode: b("ctrl+r", "use a reset code", "ctrl+r"),

		Confirm: b("y", "confirm", "y"),
		Decline: b("n/esc", "cancel", "n", "esc"),
	}
}
