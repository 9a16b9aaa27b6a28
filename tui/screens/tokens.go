package screens

import (
	"context"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
	"gent/tui/components/confirm"
	"gent/tui/components/table"
)

// Tokens lists agent tokens (never their values): the organization's, or
// one inbox's. New tokens are made here; tokens are rotated and revoked.
type Tokens struct {
	list[tokenList]
	table  *table.Model
	inbox  *models.Inbox // only this inbox's tokens, when set
	tokens []models.Token
	names  map[string]string // inbox id -> address
}

// tokenList is the tokens with the addresses of their inboxes.
type tokenList struct {
	Tokens []models.Token
	Names  map[string]string
}

// tokenEvents are the events of an agent using its token, or of a token
// revoked elsewhere.
var tokenEvents = []string{models.EventTokenRevoked, models.EventMessageSent, models.EventApprovalRequested,
	models.EventMessageCaptured}

// NewTokens builds the tokens screen; with inbox, only that inbox's.
func NewTokens(c *common.Common, inbox *models.Inbox) *Tokens {
	s := &Tokens{inbox: inbox, table: table.New(c,
		table.Column{Title: "Label", Width: 0, Min: 12},
		table.Column{Title: "Inbox", Width: 20, Grow: true, Max: 40, Priority: 2},
		table.Column{Title: "Prefix", Width: 12},
		table.Column{Title: "Status", Width: 9},
		table.Column{Title: "Last used", Width: 11},
	)}
	s.list = newList[tokenList](c, s, kindTokens)
	// What agents do with their tokens changes Last used; revocations
	// made elsewhere change the status.
	s.follow("Updating tokens…", tokenEvents...)
	return s
}

func (s *Tokens) Title() string {
	if s.inbox != nil {
		return "Tokens of " + s.inbox.Address
	}
	return "Tokens"
}

// detailLines is the height of the selected token's lines under the table.
const detailLines = 3

func (s *Tokens) SetSize(w, h int) { s.table.SetSize(w, s.resize(w, h)-3-detailLines) }

func (s *Tokens) ShortHelp() []key.Binding {
	k := s.c.Keys
	return s.shortHelp(k.AddToken, k.Rotate, k.Revoke, k.Refresh)
}

func (s *Tokens) FullHelp() [][]key.Binding {
	k := s.c.Keys
	return s.fullHelp([][]key.Binding{{k.AddToken, k.Rotate}, {k.Revoke, k.Refresh}, s.table.Bindings()})
}

func (s *Tokens) load() tea.Cmd {
	inboxID := ""
	if s.inbox != nil {
		inboxID = s.inbox.ID
	}
	return common.Start(s.c, &s.req, "list", "Loading tokens…", func(ctx context.Context, cl *client.Client) (tokenList, error) {
		toks, err := cl.AllTokens(ctx, inboxID)
		if err != nil {
			return tokenList{}, err
		}
		ins, err := cl.AllInboxes(ctx)
		if err != nil {
			return tokenList{}, err
		}
		names := map[string]string{}
		for _, in := range ins {
			names[in.ID] = in.Address
		}
		return tokenList{Tokens: toks, Names: names}, nil
	})
}

// rotated answers a rotate call: the new value, for one screen only.
type rotated struct{ Secret *models.TokenSecret }

func (s *Tokens) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case common.ResultMsg[rotated]:
		if _, ok := s.req.Done(msg.ID); ok {
			t := msg.Value.Secret
			return s, tea.Batch(common.Push(newTokenShown(s.c, t, s.names[t.InboxID], true)), changed(kindTokens, t.ID))
		}
	case common.ResultMsg[deleted]:
		if _, ok := s.req.Done(msg.ID); ok {
			return s, tea.Batch(changed(kindTokens, msg.Value.ID), common.Flash("Revoked "+msg.Value.Name+"."))
		}
	default:
		_, cmd := s.updateList(msg)
		return s, cmd
	}
	return s, nil
}

func (s *Tokens) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := s.c.Keys
	switch {
	case key.Matches(msg, k.AddToken):
		return common.Push(NewTokenAdd(s.c, s.inbox))
	case key.Matches(msg, k.Refresh):
		return s.load()
	}
	if len(s.tokens) == 0 || s.table.Empty() {
		return nil
	}
	t := s.tokens[s.table.Cursor()]
	switch {
	case key.Matches(msg, k.Rotate):
		return s.askTo("rotate", t)
	case key.Matches(msg, k.Revoke):
		return s.askTo("revoke", t)
	}
	s.table.Update(msg)
	return nil
}

// askTo opens the confirmation of a rotate or revoke.
func (s *Tokens) askTo(action string, t models.Token) tea.Cmd {
	if t.Status != "active" {
		return common.FlashError(t.Label + " is " + t.Status + ": it cannot be " + action + "d.")
	}
	if action == "rotate" {
		s.ask(confirm.New(s.c, "Rotate "+t.Label+"?",
			"It gets a new value, shown once. The current value stops working at once: agents using it fail until they are given the new one."),
			func() tea.Cmd { return s.rotate(t) })
	} else {
		s.ask(confirm.New(s.c, "Revoke "+t.Label+"?",
			"It stops working at once, for good. Agents using it can no longer reach "+s.names[t.InboxID]+"."),
			func() tea.Cmd { return s.revoke(t) })
	}
	s.SetSize(s.w, s.h)
	return nil
}

func (s *Tokens) rotate(t models.Token) tea.Cmd {
	return common.Start(s.c, &s.req, "rotate", "Rotating "+t.Label+"…", func(ctx context.Context, cl *client.Client) (rotated, error) {
		ts, err := cl.RotateToken(ctx, t.ID)
		return rotated{Secret: ts}, err
	})
}

func (s *Tokens) revoke(t models.Token) tea.Cmd {
	return common.Start(s.c, &s.req, "revoke", "Revoking "+t.Label+"…", func(ctx context.Context, cl *client.Client) (deleted, error) {
		return deleted{ID: t.ID, Name: t.Label}, cl.RevokeToken(ctx, t.ID)
	})
}

func (s *Tokens) show(l tokenList) {
	s.tokens, s.names = l.Tokens, l.Names
	st := s.c.Styles
	s.setRows(s.table, len(l.Tokens), func(i int) (string, []string) {
		t := l.Tokens[i]
		used := "never"
		if t.LastUsedAt != nil {
			used = localTime(*t.LastUsedAt, minuteShort)
		}
		return t.ID, []string{t.Label, s.inboxName(t), t.Prefix, tokenStatus(st, t.Status), used}
	})
}

func (s *Tokens) inboxName(t models.Token) string {
	if n, ok := s.names[t.InboxID]; ok {
		return n
	}
	return "deleted inbox"
}

func (s *Tokens) View() string {
	st := s.c.Styles
	switch {
	case s.err != "":
		return errorView(st, s.err)
	case s.tokens == nil:
		return st.Muted.Render("Loading tokens…")
	case len(s.tokens) == 0:
		return st.Title.Render("No tokens yet") + "\n\n" + st.Muted.Render(
			"Make one with a: it lets an agent use one inbox, with the scopes you pick.")
	}
	var b strings.Builder
	b.WriteString(s.summary() + "\n\n" + s.question() + s.table.View() + "\n\n" + s.detail())
	return b.String()
}

func (s *Tokens) summary() string {
	st := s.c.Styles
	by := map[string]int{}
	for _, t := range s.tokens {
		by[t.Status]++
	}
	var parts []string
	for _, status := range []string{"active", "expired", "revoked"} {
		if n := by[status]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, status))
		}
	}
	return st.Title.Render(plural(len(s.tokens), "token")) + st.Muted.Render(" · "+strings.Join(parts, " · "))
}

// detail shows the selected token in full: label, inbox, scopes, dates.
func (s *Tokens) detail() string {
	st := s.c.Styles
	if s.table.Empty() {
		return st.Muted.Render("No token matches the filter.")
	}
	t := s.tokens[s.table.Cursor()]
	row := func(k, v string) string { return st.Label.Render(fmt.Sprintf("%-8s", k)) + "  " + st.Value.Render(v) }
	return strings.Join([]string{
		st.Title.Render(t.Label) + st.Muted.Render(" · "+s.inboxName(t)),
		row("Scopes", scopeSummary(t.Scopes, t.RequiresApproval)),
		row("Created", localTime(t.CreatedAt, dateShort)+st.Muted.Render(" · expires ")+whenOr(t.ExpiresAt, "never")+
			st.Muted.Render(" · rotated ")+whenOr(t.RotatedAt, "never")),
	}, "\n")
}
