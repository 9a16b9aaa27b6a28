package screens

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/common"
)

// AuditDetail shows every field of one audit entry.
type AuditDetail struct {
	c      *common.Common
	e      models.AuditEntry
	names  map[string]string
	offset int
	height int
}

// NewAuditDetail builds the detail view of e.
func NewAuditDetail(c *common.Common, e models.AuditEntry, names map[string]string) *AuditDetail {
	return &AuditDetail{c: c, e: e, names: names}
}

func (s *AuditDetail) Title() string    { return s.e.Action }
func (s *AuditDetail) Init() tea.Cmd    { return nil }
func (s *AuditDetail) SetSize(_, h int) { s.height = h }
func (s *AuditDetail) ShortHelp() []key.Binding {
	return []key.Binding{s.c.Keys.Up, s.c.Keys.Down}
}
func (s *AuditDetail) FullHelp() [][]key.Binding { return [][]key.Binding{s.ShortHelp()} }

func (s *AuditDetail) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if mm, ok := msg.(tea.MouseMsg); ok {
		if o, ok := wheel(mm, s.offset); ok {
			s.offset = min(max(0, o), max(0, len(s.lines())-s.height))
		}
	}
	if km, ok := msg.(tea.KeyMsg); ok {
		switch {
		case key.Matches(km, s.c.Keys.Up):
			s.offset = max(0, s.offset-1)
		case key.Matches(km, s.c.Keys.Down):
			s.offset = min(s.offset+1, max(0, len(s.lines())-s.height))
		}
	}
	return s, nil
}

func (s *AuditDetail) lines() []string {
	st := s.c.Styles
	e := s.e
	row := func(k, v string) string { return st.Label.Render(fmt.Sprintf("%-12s", k)) + " " + st.Value.Render(v) }
	actor := e.ActorType
	if e.ActorID != "" {
		actor += " " + e.ActorID
		if n := actorName(s.c, s.names, e); n != e.ActorID {
			actor += " (" + n + ")"
		}
	}
	target := strings.TrimSpace(e.TargetType + " " + e.TargetID)
	if n, ok := s.names[e.TargetID]; ok {
		target += " (" + n + ")"
	}
	out := []string{
		row("When", localTime(e.CreatedAt, stampLong)),
		row("Action", e.Action),
		row("Outcome", outcome(st, e)+" "+e.Outcome),
		row("Actor", actor),
		row("Target", target),
		row("From", e.RemoteAddr),
		row("Request", e.RequestID),
		row("Entry", e.ID),
	}
	if len(e.Detail) > 0 {
		out = append(out, "", st.Title.Render("Detail"))
		keys := make([]string, 0, len(e.Detail))
		for k := range e.Detail {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v, _ := json.Marshal(e.Detail[k])
			out = append(out, row("  "+k, string(v)))
		}
	}
	return out
}

func (s *AuditDetail) View() string {
	l := s.lines()
	return strings.Join(l[min(s.offset, len(l)):], "\n")
}
