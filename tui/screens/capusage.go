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
	"gent/tui/components/table"
)

// CapUsage shows the last 24 hours of the hourly usage records: per inbox
// the GB-hours stored, the overage GB-hours billed under allow_and_bill,
// and the peak.
type CapUsage struct {
	list[*models.UsageReport]
	table *table.Model
	rep   *models.UsageReport
}

// NewCapUsage builds the usage screen.
func NewCapUsage(c *common.Common) *CapUsage {
	s := &CapUsage{table: table.New(c,
		table.Column{Title: "Inbox", Width: 0},
		table.Column{Title: fmt.Sprintf("%10s", "GB-hours"), Width: 10},
		table.Column{Title: fmt.Sprintf("%12s", "Overage GB-h"), Width: 12},
		table.Column{Title: fmt.Sprintf("%10s", "Peak"), Width: 10},
		table.Column{Title: fmt.Sprintf("%5s", "Hours"), Width: 5},
	)}
	s.list = newList[*models.UsageReport](c, s)
	s.tbl = s.table
	return s
}

func (s *CapUsage) Title() string    { return "Usage, 24 h" }
func (s *CapUsage) SetSize(w, h int) { s.table.SetSize(w, s.resize(w, h)-5) }

func (s *CapUsage) ShortHelp() []key.Binding {
	k := s.c.Keys
	return s.shortHelp(k.Up, k.Down, k.Refresh)
}

func (s *CapUsage) FullHelp() [][]key.Binding {
	return s.fullHelp([][]key.Binding{{s.c.Keys.Refresh}, s.table.Bindings()})
}

// load asks for the daemon's default range, the last 24 hours, every
// page.
func (s *CapUsage) load() tea.Cmd {
	return common.Start(s.c, &s.req, "list", "Loading usage records…", func(ctx context.Context, cl *client.Client) (*models.UsageReport, error) {
		q := client.UsageQuery{Page: client.Page{Limit: 200}}
		var all *models.UsageReport
		for {
			r, err := cl.Usage(ctx, q)
			if err != nil {
				return nil, err
			}
			if all == nil {
				all = r
			} else {
				all.Data = append(all.Data, r.Data...)
			}
			if r.NextCursor == "" {
				all.NextCursor = ""
				return all, nil
			}
			q.Cursor, q.From, q.To = r.NextCursor, r.From, r.To
		}
	})
}

func (s *CapUsage) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	_, cmd := s.updateList(msg)
	return s, cmd
}

func (s *CapUsage) show(rep *models.UsageReport) {
	s.rep, s.err = rep, ""
	rows := make([][]string, len(rep.Data))
	for i, u := range rep.Data {
		rows[i] = []string{u.Address, fmt.Sprintf("%10.6f", u.UsageGBHours), fmt.Sprintf("%12.6f", u.OverageGBHours),
			fmt.Sprintf("%10s", humanBytes(u.PeakBytes)), fmt.Sprintf("%5d", len(u.Hours))}
	}
	s.table.SetRows(rows)
}

func (s *CapUsage) handleKey(msg tea.KeyMsg) tea.Cmd {
	if key.Matches(msg, s.c.Keys.Refresh) {
		return s.load()
	}
	s.table.Update(msg)
	return nil
}

func (s *CapUsage) View() string {
	st := s.c.Styles
	switch {
	case s.err != "":
		return errorView(st, s.err)
	case s.rep == nil:
		return st.Muted.Render("Loading usage records…")
	}
	head := st.Title.Render("Usage from "+localTime(s.rep.From, dateShort)+" to "+localTime(s.rep.To, dateShort)) + "\n" +
		st.Muted.Render("Hourly records: GB kept × hours; overage is what allow_and_bill caps let pass.")
	if len(s.rep.Data) == 0 {
		return head + "\n\n" + st.Muted.Render("No records in this range yet: inboxes are sampled every few minutes\n(caps.sample_interval) and each sample is added to its hour.")
	}
	var total, over float64
	for _, u := range s.rep.Data {
		total, over = total+u.UsageGBHours, over+u.OverageGBHours
	}
	return head + "\n\n" + s.table.View() + "\n\n" + st.Label.Render(strings.TrimSpace(fmt.Sprintf(
		"Total %.6f GB-hours · overage %.6f GB-hours", total, over)))
}
