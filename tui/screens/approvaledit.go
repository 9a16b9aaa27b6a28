package screens

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
	"gent/tui/components/confirm"
	"gent/tui/components/form"
	"gent/tui/styles"
)

// ApprovalEdit corrects a held send, then approves it as corrected: the
// recipients (To, Cc and Bcc), the subject and the text body; the HTML
// body can be kept or dropped. ctrl+s first shows what will be sent (the
// final recipients, the subject and what changed) and approves only on y.
// Only what was changed is sent as an edit; the daemon checks the
// corrected message like a new send and names a bad field, shown under
// it.
type ApprovalEdit struct {
	// The form is nil until the message is loaded.
	formScreen
	asker // the final look before approving
	a     models.Approval
	d     *models.ApprovalDetail
	err   string
}

// NewApprovalEdit builds the form for a; d is its message when already
// loaded (nil: it is loaded first).
func NewApprovalEdit(c *common.Common, a models.Approval, d *models.ApprovalDetail) *ApprovalEdit {
	s := &ApprovalEdit{formScreen: formScreen{c: c, call: "approve", cancel: true, w: 80}, a: a}
	if d != nil {
		s.setDetail(d)
	}
	return s
}

func (s *ApprovalEdit) Title() string { return "Edit and approve" }

func (s *ApprovalEdit) Init() tea.Cmd {
	if s.form != nil {
		return s.form.Init()
	}
	return loadApproval(s.c, &s.req, s.a.ID)
}

// setDetail builds the form with the message's current values.
func (s *ApprovalEdit) setDetail(d *models.ApprovalDetail) {
	s.d, s.a = d, d.Approval
	m := d.Message
	fields := []*form.Field{
		form.Text("edits.to", "To").WithLimit(4000).WithValue(addrList(m.To)),
		form.Text("edits.cc", "Cc").WithLimit(4000).WithValue(addrList(m.Cc)),
		form.Text("edits.bcc", "Bcc").WithLimit(4000).WithValue(addrList(m.Bcc)).WithHint("addresses, comma-separated; empty: none"),
		form.Text("edits.subject", "Subject").WithLimit(998).WithValue(m.Subject),
		form.Area("edits.text", "Text", 6).WithValue(m.Text).WithHint("enter breaks lines; ctrl+s approves as edited"),
	}
	if m.HTML != "" {
		fields = append(fields, form.Select("html", "HTML part", []form.Choice{
			{Value: "keep", Label: "keep as it is", Help: "Mail readers that show HTML show this part unchanged."},
			{Value: "drop", Label: "drop it", Help: "The message goes as text only: what you see above."},
		}, 0))
	}
	s.form = form.New(s.c, fields...).SubmitOn(s.c.Keys.ApproveEdited)
	s.form.SetWidth(s.w)
}

func (s *ApprovalEdit) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case common.ResultMsg[*models.ApprovalDetail]:
		if _, ok := s.req.Done(msg.ID); ok {
			if cmd := pendingOnly(msg.Value.Approval); cmd != nil {
				return s, tea.Batch(common.Pop, cmd)
			}
			s.setDetail(msg.Value)
			return s, s.form.Init()
		}
	case common.ResultMsg[decided]:
		if _, ok := s.req.Done(msg.ID); ok {
			return s, tea.Batch(common.Pop, decidedCmds(msg.Value))
		}
	case common.StreamMsg:
		if reloadForm(msg, s.form == nil, &s.req) {
			s.err = ""
			return s, s.Init()
		}
	case tea.KeyMsg:
		if s.confirm != nil {
			cmd, _ := s.answer(msg)
			return s, cmd
		}
		return s, s.updateForm(msg, s.review)
	case common.ErrorMsg:
		if name, ok := s.req.Done(msg.ID); ok {
			switch {
			case name == "detail":
				s.err = common.Describe(msg.Err)
			case client.StatusOf(msg.Err) == 422 && common.Field(msg.Err) != "":
				return s, s.form.SetError(msg.Err)
			default: // decided meanwhile, expired: back to where it is listed
				return s, tea.Batch(common.Pop, decisionFailed(s.a.ID, msg.Err))
			}
		}
	default:
		return s, s.updateForm(msg, s.review)
	}
	return s, nil
}

// ShortHelp is the question's keys while it is open.
func (s *ApprovalEdit) ShortHelp() []key.Binding { return s.shortHelp(s.formScreen.ShortHelp()...) }

func (s *ApprovalEdit) FullHelp() [][]key.Binding { return [][]key.Binding{s.ShortHelp()} }

// review asks for a final look: who receives the message, its subject,
// and what the reviewer changed. y approves it as shown.
func (s *ApprovalEdit) review() tea.Cmd {
	e := s.edits()
	m := s.d.Message
	list := func(field string, was []models.Address) string {
		if v := strings.Join(splitAddresses(s.form.Value(field)), ", "); v != "" {
			return v
		}
		if len(was) > 0 {
			return "(none: removed)"
		}
		return "(none)"
	}
	lines := []string{
		"To:      " + list("edits.to", m.To),
		"Cc:      " + list("edits.cc", m.Cc),
		"Bcc:     " + list("edits.bcc", m.Bcc),
		"Subject: " + s.form.Value("edits.subject"),
		"",
		"Changed: " + changes(e),
	}
	s.ask(confirm.New(s.c, "Approve "+quoteSubject(s.form.Value("edits.subject"))+" as shown?", lines...), s.submit)
	s.confirm.SetWidth(s.w)
	return nil
}

// changes says in words what edits change.
func changes(e *models.ApprovalEdits) string {
	if e == nil {
		return "nothing; it is sent as the agent wrote it."
	}
	var parts []string
	for _, c := range []struct {
		set  bool
		name string
	}{{e.To != nil, "To"}, {e.Cc != nil, "Cc"}, {e.Bcc != nil, "Bcc"}, {e.Subject != nil, "subject"}, {e.Text != nil, "text"}} {
		if c.set {
			parts = append(parts, c.name)
		}
	}
	if e.HTML != nil {
		parts = append(parts, "HTML part dropped")
	}
	return strings.Join(parts, ", ") + "."
}

// edits are the fields the reviewer changed (nil when none was).
func (s *ApprovalEdit) edits() *models.ApprovalEdits {
	m := s.d.Message
	var e models.ApprovalEdits
	changed := false
	if v := s.form.Value("edits.to"); v != addrList(m.To) {
		to := splitAddresses(v)
		e.To, changed = &to, true
	}
	if v := s.form.Value("edits.cc"); v != addrList(m.Cc) {
		cc := splitAddresses(v)
		e.Cc, changed = &cc, true
	}
	if v := s.form.Value("edits.bcc"); v != addrList(m.Bcc) {
		bcc := splitAddresses(v)
		e.Bcc, changed = &bcc, true
	}
	if v := s.form.Value("edits.subject"); v != m.Subject {
		e.Subject, changed = &v, true
	}
	if v := s.form.Value("edits.text"); v != m.Text {
		e.Text, changed = &v, true
	}
	if s.form.Value("html") == "drop" {
		empty := ""
		e.HTML, changed = &empty, true
	}
	if !changed {
		return nil
	}
	return &e
}

func (s *ApprovalEdit) submit() tea.Cmd {
	return common.Start(s.c, &s.req, s.call, "Approving "+quoteSubject(s.a.Subject)+" as edited…", approveCall(s.a.ID, s.edits()))
}

func (s *ApprovalEdit) View() string { return fitWidth(s.view(), s.w) }

func (s *ApprovalEdit) view() string {
	st := s.c.Styles
	head := st.Title.Render("Edit "+quoteSubject(s.a.Subject)+", then approve it") + "\n"
	switch {
	case s.err != "":
		return head + "\n" + st.Error.Render(styles.Fail+" "+s.err)
	case s.form == nil:
		return head + "\n" + st.Muted.Render("Loading the held message…")
	}
	if s.confirm != nil {
		return head + "\n" + s.question()
	}
	return head + st.Muted.Render("From "+s.a.TokenLabel+". It is sent as corrected here; the agent sees it\nlabelled edited.") +
		"\n\n" + s.form.View()
}
