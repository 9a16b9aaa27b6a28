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
	"gent/tui/styles"
)

// Domains lists the organization's domains with their status.
type Domains struct {
	list[[]models.Domain]
	table   *table.Model
	domains []models.Domain
}

// NewDomains builds the domains screen.
func NewDomains(c *common.Common) *Domains {
	s := &Domains{table: table.New(c,
		table.Column{Title: "Domain", Width: 0},
		table.Column{Title: "Use", Width: 9},
		table.Column{Title: "DMARC", Width: 10},
		table.Column{Title: "Status", Width: 10},
		table.Column{Title: "Checked", Width: 16},
	)}
	s.list = newList[[]models.Domain](c, s, kindDomains)
	s.follow("Updating domains…", models.EventDomainVerified, models.EventDomainChanged)
	return s
}

func (s *Domains) Title() string    { return "Domains" }
func (s *Domains) SetSize(w, h int) { s.table.SetSize(w, s.resize(w, h)-2) }

func (s *Domains) ShortHelp() []key.Binding {
	k := s.c.Keys
	return s.shortHelp(k.AddDomain, k.Open, k.Delete)
}

func (s *Domains) FullHelp() [][]key.Binding {
	k := s.c.Keys
	return s.fullHelp([][]key.Binding{{k.AddDomain, k.Open, k.Verify}, {k.Delete, k.Refresh}, s.table.Bindings()})
}

func (s *Domains) load() tea.Cmd {
	return common.Start(s.c, &s.req, "list", "Loading domains…", func(ctx context.Context, cl *client.Client) ([]models.Domain, error) {
		return cl.AllDomains(ctx)
	})
}

func (s *Domains) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if msg, ok := msg.(common.ResultMsg[deleted]); ok {
		if _, ok := s.req.Done(msg.ID); ok {
			return s, tea.Batch(changed(kindDomains, ""), common.Flash("Deleted "+msg.Value.Name+"."))
		}
		return s, nil
	}
	_, cmd := s.updateList(msg)
	return s, cmd
}

func (s *Domains) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := s.c.Keys
	switch {
	case key.Matches(msg, k.AddDomain):
		return common.Push(NewDomainAdd(s.c))
	case key.Matches(msg, k.Refresh):
		return s.load()
	}
	d, ok := s.selected()
	switch {
	case !ok:
	case key.Matches(msg, k.Open):
		return common.Push(NewDomain(s.c, d, false))
	case key.Matches(msg, k.Verify):
		return common.Push(NewDomain(s.c, d, true))
	case key.Matches(msg, k.Delete):
		s.ask(confirmDeleteDomain(s.c, d), func() tea.Cmd { return deleteDomain(s.c, &s.req, d) })
		s.SetSize(s.w, s.h)
		return nil
	}
	s.table.Update(msg)
	return nil
}

// deleted names what a delete call removed.
type deleted struct{ ID, Name string }

func confirmDeleteDomain(c *common.Common, d models.Domain) *confirm.Model {
	return confirm.New(c, "Delete "+d.Name+"?",
		"Its DKIM keys are deleted with it, and no inbox can use it any more. "+
			"The daemon refuses while inboxes use it: delete them first.")
}

func deleteDomain(c *common.Common, req *common.Requests, d models.Domain) tea.Cmd {
	return common.Start(c, req, "delete", "Deleting "+d.Name+"…", func(ctx context.Context, cl *client.Client) (deleted, error) {
		return deleted{ID: d.ID, Name: d.Name}, cl.DeleteDomain(ctx, d.ID)
	})
}

func (s *Domains) selected() (models.Domain, bool) {
	if len(s.domains) == 0 || s.table.Empty() {
		return models.Domain{}, false
	}
	return s.domains[s.table.Cursor()], true
}

func (s *Domains) show(ds []models.Domain) {
	s.domains = ds
	s.setRows(s.table, len(ds), func(i int) (string, []string) {
		d := ds[i]
		checked := "never"
		if d.LastCheckedAt != nil {
			checked = localTime(*d.LastCheckedAt, dateShort)
		}
		status := domainStatus(s.c.Styles, d.Status)
		if d.Sandbox {
			checked = s.c.Styles.Sandbox.Render("no DNS needed")
			if d.Disabled {
				status = s.c.Styles.Warning.Render(styles.Warn + " disabled")
			}
		}
		return d.ID, []string{d.Name, useName(d.DomainUse), d.DMARCPolicy, status, checked}
	})
}

func (s *Domains) View() string {
	st := s.c.Styles
	switch {
	case s.err != "":
		return errorView(st, s.err)
	case s.domains == nil:
		return st.Muted.Render("Loading domains…")
	case len(s.domains) == 0:
		return st.Title.Render("No domains yet") + "\n\n" + st.Muted.Render(
			"Add the domain your agents send from with a. Gent lists the DNS records\nto publish, then checks them.")
	}
	var b strings.Builder
	b.WriteString(s.summary() + "\n\n" + s.question() + s.table.View())
	return b.String()
}

func (s *Domains) summary() string {
	st := s.c.Styles
	by := map[string]int{}
	for _, d := range s.domains {
		by[d.Status]++
	}
	var parts []string
	for _, status := range []string{models.DomainVerified, models.DomainPending, models.DomainDegraded} {
		if n := by[status]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, status))
		}
	}
	return st.Title.Render(plural(len(s.domains), "domain")) + st.Muted.Render(" · "+strings.Join(parts, " · "))
}

// sandboxNote explains the sandbox domain on its detail screen.
func sandboxNote(st styles.Styles, d models.Domain) string {
	lines := []string{
		st.Sandbox.Render("Your sandbox: verified without DNS, nothing to publish."),
		"Inboxes, tokens and approvals work here as on a real domain, but nothing",
		"leaves: mail to addresses outside the organization is kept in Captured",
		"(C on the dashboard), signed as it would have been sent. Mail for its",
		"inboxes arrives over the local SMTP listener.",
	}
	if d.Disabled {
		lines = append(lines, "", st.Warning.Render(styles.Warn+" Disabled: its inboxes refuse sends (PATCH /v1/domains/"+d.ID+` {"disabled": false}).`))
	}
	return strings.Join(lines, "\n")
}
