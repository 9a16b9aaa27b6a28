package screens

import (
	"context"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
	"gent/tui/components/form"
)

// DomainAdd is the add-domain wizard: the name, how the domain is used,
// and the DMARC policy. The records to publish follow on the domain's
// screen.
type DomainAdd struct{ formScreen }

// domainUses explains each use in one line.
var domainUses = []form.Choice{
	{Value: models.DomainUseExisting, Label: "existing domain",
		Help: "Already used for other mail; DMARC defaults to quarantine."},
	{Value: models.DomainUseDedicated, Label: "dedicated subdomain",
		Help: "Only agents send from it; stricter: DMARC reject, SPF -all."},
}

// dmarcChoices: the first is the use's default, filled in by defaultDMARC.
var dmarcChoices = []form.Choice{
	{Value: ""},
	{Value: models.DMARCNone, Label: "none", Help: "Monitor only: receivers deliver failing mail and report it."},
	{Value: models.DMARCQuarantine, Label: "quarantine", Help: "Receivers put mail failing SPF and DKIM in spam."},
	{Value: models.DMARCReject, Label: "reject", Help: "Receivers refuse mail failing SPF and DKIM."},
}

// defaultDMARC is the policy the daemon picks for a use.
func defaultDMARC(use string) form.Choice {
	if use == models.DomainUseDedicated {
		return form.Choice{Value: "", Label: "default", Help: "reject, the default for a dedicated subdomain."}
	}
	return form.Choice{Value: "", Label: "default", Help: "quarantine, the default for an existing domain."}
}

// NewDomainAdd builds the wizard.
func NewDomainAdd(c *common.Common) *DomainAdd {
	dmarc := append([]form.Choice(nil), dmarcChoices...)
	dmarc[0] = defaultDMARC(models.DomainUseExisting)
	return &DomainAdd{formScreen{c: c, call: "create", cancel: true, form: form.New(c,
		form.Text("domain", "Domain").WithHint("e.g. mail.example.com or agents.example.com"),
		form.Select("domain_use", "Use", append([]form.Choice(nil), domainUses...), 0),
		form.Select("dmarc_policy", "DMARC policy", dmarc, 0),
	)}}
}

func (s *DomainAdd) Title() string { return "Add domain" }

// domainAdded answers the create call.
type domainAdded struct {
	Domain  models.Domain
	Created bool
}

func (s *DomainAdd) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if msg, ok := msg.(common.ResultMsg[domainAdded]); ok {
		if _, ok := s.req.Done(msg.ID); ok {
			return s, s.added(msg.Value)
		}
		return s, nil
	}
	cmd := s.updateForm(msg, s.submit)
	// The default DMARC policy follows the use.
	s.form.Field("dmarc_policy").SetChoice(0, defaultDMARC(s.form.Value("domain_use")))
	return s, cmd
}

func (s *DomainAdd) submit() tea.Cmd {
	req := models.CreateDomainRequest{
		Domain:      strings.TrimSpace(s.form.Value("domain")),
		DomainUse:   s.form.Value("domain_use"),
		DMARCPolicy: s.form.Value("dmarc_policy"),
	}
	return common.Start(s.c, &s.req, s.call, "Adding "+req.Domain+"…", func(ctx context.Context, cl *client.Client) (domainAdded, error) {
		d, created, err := cl.CreateDomain(ctx, req)
		if err != nil {
			return domainAdded{}, err
		}
		return domainAdded{Domain: *d, Created: created}, nil
	})
}

// added replaces the wizard with the domain's screen: the records to
// publish.
func (s *DomainAdd) added(a domainAdded) tea.Cmd {
	note := "Added " + a.Domain.Name + ". Publish these records, then press v to check them."
	if !a.Created {
		note = a.Domain.Name + " was added before; its settings are unchanged."
	}
	return tea.Sequence(common.Pop, common.Push(NewDomain(s.c, a.Domain, false)),
		changed(kindDomains, a.Domain.ID), common.Flash(note))
}

func (s *DomainAdd) View() string {
	st := s.c.Styles
	return st.Title.Render("Add a domain to "+orgName(s.c)) + "\n\n" +
		st.Muted.Render("Agents send and receive mail on it. Gent then lists the DNS records to\npublish and checks them.") + "\n\n" +
		s.form.View()
}
