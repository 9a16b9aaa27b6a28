package screens

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"gent/models"
	"gent/tui/keys"
	"gent/tui/styles"
)

// Kinds of data a ChangedMsg names.
const (
	kindDomains   = "domains"
	kindInboxes   = "inboxes"
	kindTokens    = "tokens"
	kindApprovals = "approvals"
	kindCaps      = "caps"
)

// ChangedMsg says a screen created, changed or deleted something of a
// kind, so the lists and dashboard counts showing it reload. It never
// carries a secret.
type ChangedMsg struct {
	Kind string
	ID   string // the object, selected in its list when it still exists
}

func changed(kind, id string) func() tea.Msg {
	return func() tea.Msg { return ChangedMsg{Kind: kind, ID: id} }
}

// domainStatus is a domain's status with a symbol, readable without colour.
func domainStatus(st styles.Styles, status string) string {
	switch status {
	case models.DomainVerified:
		return st.Success.Render(styles.OK + " verified")
	case models.DomainDegraded:
		return st.Error.Render(styles.Warn + " degraded")
	}
	return st.Warning.Render(styles.Pending + " " + status)
}

// recordStatus is a DNS record's status with a symbol.
func recordStatus(st styles.Styles, r models.DNSRecord) string {
	switch r.Status {
	case models.RecordValid:
		return st.Success.Render(styles.OK + " valid")
	case models.RecordInvalid:
		if r.LookupError != "" {
			return st.Error.Render(styles.Fail + " " + r.LookupError)
		}
		return st.Error.Render(styles.Fail + " invalid")
	}
	return st.Warning.Render(styles.Pending + " " + r.Status)
}

// tokenStatus is a token's status with a symbol.
func tokenStatus(st styles.Styles, status string) string {
	switch status {
	case "active":
		return st.Success.Render(styles.OK + " active")
	case "expired":
		return st.Warning.Render(styles.Warn + " expired")
	}
	return st.Error.Render(styles.Fail + " " + status)
}

// useName is a domain use in a word.
func useName(use string) string {
	switch use {
	case models.DomainUseDedicated:
		return "dedicated"
	case models.DomainUseSandbox:
		return "sandbox"
	}
	return "existing"
}

// useLong is a domain use in words.
func useLong(use string) string {
	switch use {
	case models.DomainUseDedicated:
		return "dedicated subdomain"
	case models.DomainUseSandbox:
		return "sandbox domain"
	}
	return "existing domain"
}

// humanBytes is a size in B, KiB, MiB, GiB or TiB: the one way sizes are
// shown, on every screen (a cap's limit adds the GB it was set in).
func humanBytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v, unit := float64(n)/1024, "KiB"
	for _, u := range []string{"MiB", "GiB", "TiB"} {
		if v < 1024 {
			break
		}
		v, unit = v/1024, u
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}

// wrap cuts s into lines of at most width columns, at most n lines; a cut
// text ends with "…".
func wrap(s string, width, n int) []string {
	width = max(8, width)
	lines := strings.Split(lipgloss.NewStyle().Width(width).Render(s), "\n")
	if len(lines) <= n {
		return lines
	}
	lines = lines[:n]
	last := []rune(strings.TrimRight(lines[n-1], " "))
	if len(last) >= width {
		last = last[:width-1]
	}
	lines[n-1] = string(last) + "…"
	return lines
}

// errorView is an error in a screen with how to retry.
func errorView(st styles.Styles, err string) string {
	return st.Error.Render(styles.Fail+" "+err) + "\n" + st.Muted.Render("r to try again")
}

// fitWidth cuts every line of s to w columns, ending a cut one with "…".
func fitWidth(s string, w int) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, max(1, w), "…")
	}
	return strings.Join(lines, "\n")
}

// cutLines keeps the first h lines of s.
func cutLines(s string, h int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:max(1, h)]
	}
	return strings.Join(lines, "\n")
}

// scroll moves offset for the scrolling keys (↑/↓, pgup/pgdn, g/G) of a
// view of total lines shown page lines at a time; ok is false for any
// other key. The caller clamps.
// wheelLines is how far one turn of the mouse wheel scrolls a view.
const wheelLines = 3

// wheel moves offset with the mouse wheel (ok false for other mouse
// events); the view clamps it.
func wheel(msg tea.MouseMsg, offset int) (int, bool) {
	switch msg.Button {
	case tea.MouseButtonWheelUp:
		return offset - wheelLines, true
	case tea.MouseButtonWheelDown:
		return offset + wheelLines, true
	}
	return offset, false
}

func scroll(k keys.KeyMap, msg tea.KeyMsg, offset, page, total int) (int, bool) {
	switch {
	case key.Matches(msg, k.Up):
		return offset - 1, true
	case key.Matches(msg, k.Down):
		return offset + 1, true
	case key.Matches(msg, k.PageUp):
		return offset - page, true
	case key.Matches(msg, k.PageDown):
		return offset + page, true
	case key.Matches(msg, k.Top):
		return 0, true
	case key.Matches(msg, k.Bottom):
		return total, true
	}
	return offset, false
}
