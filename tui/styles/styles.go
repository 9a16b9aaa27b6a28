// Package styles is the one place the TUI's look is defined. Screens use a
// Styles value from DefaultStyles and never name a colour themselves.
//
// Nothing relies on colour alone: selection, focus and status are also
// shown with symbols, so the UI reads the same under NO_COLOR.
package styles

import (
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// Symbols drawn in front of rows and messages.
const (
	Cursor  = "›" // selected row, focused field
	OK      = "✓"
	Fail    = "✗"
	Warn    = "!"
	Pending = "…"
	Todo    = "·" // a checklist step not done yet

	Checked   = "[x]" // a checked scope
	Unchecked = "[ ]"

	// A usage bar: used and free cells, an alert threshold armed and
	// fired, and the sign of usage past the limit.
	BarUsed   = "█"
	BarFree   = "░"
	MarkArmed = "|"
	MarkFired = "!"
	BarOver   = "+"
)

// Styles used by every screen.
type Styles struct {
	AppTitle   lipgloss.Style
	Breadcrumb lipgloss.Style
	HeaderInfo lipgloss.Style
	Rule       lipgloss.Style

	Title   lipgloss.Style // a section title inside a screen
	Label   lipgloss.Style // a form label or a key in a key/value list
	Focused lipgloss.Style // the focused label
	Value   lipgloss.Style
	Muted   lipgloss.Style
	Hint    lipgloss.Style
	Count   lipgloss.Style // a number on the dashboard

	Error   lipgloss.Style
	Success lipgloss.Style
	Warning lipgloss.Style
	// Sandbox marks the sandbox domain, its inboxes and captured mail.
	Sandbox lipgloss.Style

	TableHeader lipgloss.Style
	Selected    lipgloss.Style
	Box         lipgloss.Style
	AlertBox    lipgloss.Style // confirmations and a secret shown once
	Secret      lipgloss.Style // the value in a secret box

	// Banner is the line every screen shows while sending is paused.
	Banner lipgloss.Style

	Spinner lipgloss.Style
	Help    help.Styles
}

// Profile applies NO_COLOR: when getenv("NO_COLOR") is set, lipgloss
// renders no colour or attributes at all (the ASCII profile).
func Profile(getenv func(string) string) {
	if getenv("NO_COLOR") != "" {
		lipgloss.SetColorProfile(termenv.Ascii)
	}
}

// DefaultStyles returns the TUI's styles; colours adapt to light and dark
// terminals.
func DefaultStyles() Styles {
	accent := lipgloss.AdaptiveColor{Light: "#5A3FD6", Dark: "#A18CFF"}
	muted := lipgloss.AdaptiveColor{Light: "#6B6B6B", Dark: "#8A8A8A"}
	red := lipgloss.AdaptiveColor{Light: "#C62828", Dark: "#FF6B6B"}
	green := lipgloss.AdaptiveColor{Light: "#2E7D32", Dark: "#6BD68A"}
	yellow := lipgloss.AdaptiveColor{Light: "#9A6700", Dark: "#E6C15A"}

	h := help.New().Styles
	h.ShortKey = lipgloss.NewStyle().Foreground(accent)
	h.FullKey = lipgloss.NewStyle().Foreground(accent)
	h.ShortDesc = lipgloss.NewStyle().Foreground(muted)
	h.FullDesc = lipgloss.NewStyle().Foreground(muted)

	return Styles{
		AppTitle:    lipgloss.NewStyle().Bold(true).Foreground(accent),
		Breadcrumb:  lipgloss.NewStyle().Bold(true),
		HeaderInfo:  lipgloss.NewStyle().Foreground(muted),
		Rule:        lipgloss.NewStyle().Foreground(muted),
		Title:       lipgloss.NewStyle().Bold(true),
		Label:       lipgloss.NewStyle(),
		Focused:     lipgloss.NewStyle().Bold(true).Foreground(accent),
		Value:       lipgloss.NewStyle(),
		Muted:       lipgloss.NewStyle().Foreground(muted),
		Hint:        lipgloss.NewStyle().Foreground(muted).Italic(true),
		Count:       lipgloss.NewStyle().Bold(true).Foreground(accent),
		Error:       lipgloss.NewStyle().Foreground(red),
		Success:     lipgloss.NewStyle().Foreground(green),
		Warning:     lipgloss.NewStyle().Foreground(yellow),
		Sandbox:     lipgloss.NewStyle().Foreground(accent).Italic(true),
		TableHeader: lipgloss.NewStyle().Bold(true).Foreground(muted),
		Selected:    lipgloss.NewStyle().Bold(true).Foreground(accent),
		Box:         lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(muted).Padding(0, 1),
		AlertBox:    lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(yellow).Padding(0, 1),
		Secret:      lipgloss.NewStyle().Bold(true),
		Banner: lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("#FFFFFF")).
			Background(lipgloss.AdaptiveColor{Light: "#C62828", Dark: "#B71C1C"}),
		Spinner: lipgloss.NewStyle().Foreground(accent),
		Help:    h,
	}
}
