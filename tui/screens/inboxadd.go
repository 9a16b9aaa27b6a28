package screens

import (
	"context"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
	"gent/tui/components/form"
	"gent/tui/styles"
)

// InboxAdd creates an inbox: a local part, one of the organization's
// verified domains, and a display name.
type InboxAdd struct {
	// The form is nil until the verified domains are known.
	formScreen
	none bool // the organization has no verified domain
	err  string
	// sandbox preselects the sandbox domain (the first-run checklist).
	sandbox bool
}

// NewInboxAdd builds the form; it first loads the verified domains.
func NewInboxAdd(c *common.Common) *InboxAdd {
	return &InboxAdd{formScreen: formScreen{c: c, call: "create", cancel: true, w: 80}}
}

// NewSandboxInboxAdd builds the form with the sandbox domain chosen.
func NewSandboxInboxAdd(c *common.Common) *InboxAdd {
	s := NewInboxAdd(c)
	s.sandbox = true
	return s
}

func (s *InboxAdd) Title() string { return "New inbox" }

func (s *InboxAdd) Init() tea.Cmd {
	return common.Start(s.c, &s.req, "domains", "Loading verified domains…", func(ctx context.Context, cl *client.Client) ([]models.Domain, error) {
		return cl.AllDomains(ctx)
	})
}

func (s *InboxAdd) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case common.ResultMsg[[]models.Domain]:
		if _, ok := s.req.Done(msg.ID); ok {
			return s, s.setDomains(msg.Value)
		}
	case common.ResultMsg[*models.Inbox]:
		if _, ok := s.req.Done(msg.ID); ok {
			in := msg.Value
			return s, tea.Batch(common.Pop, changed(kindInboxes, in.ID), common.Flash("Created "+in.Address+"."))
		}
	case common.StreamMsg:
		if reloadForm(msg, s.form == nil, &s.req) {
			s.err = ""
			return s, s.Init()
		}
	case common.ErrorMsg:
		if name, ok := s.req.Done(msg.ID); ok {
			if name == "domains" {
				s.err = common.Describe(msg.Err)
				return s, nil
			}
			return s, s.form.SetError(msg.Err)
		}
	default:
		return s, s.updateForm(msg, s.submit)
	}
	return s, nil
}

// setDomains builds the form with the verified domains to pick from.
func (s *InboxAdd) setDomains(ds []models.Domain) tea.Cmd {
	var choices []form.Choice
	chosen := 0
	for _, d := range ds {
		if d.Status != models.DomainVerified || d.Disabled {
			continue
		}
		label := d.Name
		if d.Sandbox {
			label += " (sandbox: nothing leaves)"
			if s.sandbox {
				chosen = len(choices)
			}
		}
		choices = append(choices, form.Choice{Value: d.Name, Label: label})
	}
	if len(choices) == 0 {
		s.none = true
		return nil
	}
	// The local part is named "address" so the daemon's errors about the
	// address appear under it.
	s.form = form.New(s.c,
		form.Text("address", "Local part").WithLimit(64).WithHint("the part before the @, e.g. support"),
		form.Select("domain", "Domain", choices, chosen).WithHint("only verified domains are offered"),
		form.Text("display_name", "Display name").WithLimit(200).WithHint("optional: the sender's name recipients see"),
	)
	s.form.SetWidth(s.w)
	return s.form.Init()
}

func (s *InboxAdd) address() string {
	return strings.ToLower(strings.TrimSpace(s.form.Value("address"))) + "@" + s.form.Value("domain")
}

func (s *InboxAdd) submit() tea.Cmd {
	if strings.TrimSpace(s.form.Value("address")) == "" {
		return s.form.SetError(models.Invalid("address", "Give the part before the @, e.g. support."))
	}
	req := models.CreateInboxRequest{Address: s.address(), DisplayName: strings.TrimSpace(s.form.Value("display_name"))}
	return common.Start(s.c, &s.req, s.call, "Creating "+req.Address+"…", func(ctx context.Context, cl *client.Client) (*models.Inbox, error) {
		return cl.CreateInbox(ctx, req)
	})
}

func (s *InboxAdd) View() string {
	st := s.c.Styles
	head := st.Title.Render("New inbox in "+orgName(s.c)) + "\n\n"
	switch {
	case s.err != "":
		return head + st.Error.Render(styles.Fail+" "+s.err)
	case s.none:
		return head + st.Warning.Render("No verified domain yet.") + "\n\n" + st.Muted.Render(
			"Inboxes live on a verified domain. Add one under Domains (d on the\ndashboard), publish its records and verify it, then come back.")
	case s.form == nil:
		return head + st.Muted.Render("Loading verified domains…")
	}
	return head + st.Muted.Render("One address for one agent; its tokens act only on it.") + "\n\n" +
		s.form.View() + "\n\n" + "  " + st.Label.Render("Address") + strings.Repeat(" ", 9) + st.Value.Render(s.address())
}
