package screens

import (
	"context"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
)

// Approval shows one held send exactly as it will be sent: its headers,
// the text body, the HTML body rendered as text, attachments with sizes,
// the thread it answers, the agent token's label, the digest and the
// expiry. It scrolls; a, e and r decide it as on the queue, and it closes
// once decided.
type Approval struct {
	c      *common.Common
	req    common.Requests
	a      models.Approval
	d      *models.ApprovalDetail
	err    string
	dec    decider
	offset int
	w, h   int
}

// NewApproval builds the detail screen of a; it loads the message.
func NewApproval(c *common.Common, a models.Approval) *Approval {
	return &Approval{c: c, a: a, dec: newDecider(c), w: 80, h: 20}
}

func (s *Approval) Title() string { return clip(subjectOr(s.a.Subject), 30) }
func (s *Approval) Init() tea.Cmd { return s.load() }
func (s *Approval) Typing() bool  { return s.dec.open() }

func (s *Approval) Busy() (bool, string) {
	if b, label := s.dec.busy(); b {
		return b, label
	}
	return s.req.Busy()
}

func (s *Approval) SetSize(w, h int) {
	s.w, s.h = w, h
	s.dec.setWidth(w)
	s.clamp()
}

func (s *Approval) ShortHelp() []key.Binding {
	k := s.c.Keys
	if b := s.dec.bindings(); b != nil {
		return b
	}
	if s.a.Status != models.ApprovalPending {
		return []key.Binding{k.Up, k.Down}
	}
	return []key.Binding{k.Approve, k.EditApprove, k.Reject}
}

func (s *Approval) FullHelp() [][]key.Binding {
	k := s.c.Keys
	if b := s.dec.bindings(); b != nil {
		return [][]key.Binding{b}
	}
	return [][]key.Binding{{k.Approve, k.EditApprove, k.Reject}, {k.Up, k.Down, k.PageUp, k.PageDown}, {k.Top, k.Bottom, k.RefreshQueue}}
}

func (s *Approval) load() tea.Cmd { return loadApproval(s.c, &s.req, s.a.ID) }

// loadApproval loads the held send id with its message, as the call
// "detail" of req.
func loadApproval(c *common.Common, req *common.Requests, id string) tea.Cmd {
	return common.Start(c, req, "detail", "Loading the held message…", func(ctx context.Context, cl *client.Client) (*models.ApprovalDetail, error) {
		return cl.Approval(ctx, id)
	})
}

func (s *Approval) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	handled, decCmd := s.dec.update(msg)
	if handled {
		return s, decCmd
	}
	m, cmd := s.update(msg)
	return m, tea.Batch(decCmd, cmd) // decCmd: the reason field's cursor
}

func (s *Approval) update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case common.ResultMsg[*models.ApprovalDetail]:
		if _, ok := s.req.Done(msg.ID); ok {
			s.d, s.a, s.err = msg.Value, msg.Value.Approval, ""
			s.clamp()
		}
	case common.ErrorMsg:
		if _, ok := s.req.Done(msg.ID); ok {
			s.err = common.Describe(msg.Err)
		}
	case decidedMsg:
		if msg.ID == s.a.ID {
			return s, common.Pop
		}
	case ChangedMsg:
		if msg.Kind == kindApprovals && msg.ID == s.a.ID {
			return s, s.load() // refused: show where it stands now
		}
	case common.StreamMsg:
		if msg.Stale() {
			return s, s.load()
		}
	case common.ShownMsg:
		return s, s.load()
	case common.EventMsg:
		// Decided elsewhere (another reviewer, the expiry job).
		if id, _ := msg.Event.Payload["approval_id"].(string); id == s.a.ID && msg.Event.Type != models.EventApprovalRequested {
			return s, s.load()
		}
	case tea.KeyMsg:
		return s, s.handleKey(msg)
	case tea.MouseMsg:
		if o, ok := wheel(msg, s.offset); ok {
			s.offset = o
			s.clamp()
		}
	}
	return s, nil
}

func (s *Approval) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := s.c.Keys
	switch {
	case key.Matches(msg, k.Approve):
		return s.dec.askApprove(s.a)
	case key.Matches(msg, k.Reject):
		return s.dec.askReject(s.a)
	case key.Matches(msg, k.EditApprove):
		if cmd := pendingOnly(s.a); cmd != nil {
			return cmd
		}
		return common.Push(NewApprovalEdit(s.c, s.a, s.d))
	case key.Matches(msg, k.RefreshQueue):
		return s.load()
	default:
		s.offset, _ = scroll(k, msg, s.offset, s.pageHeight(), len(s.content()))
	}
	s.clamp()
	return nil
}

// pageHeight is the lines of content shown under the fixed head.
func (s *Approval) pageHeight() int { return max(1, s.h-4) }

func (s *Approval) clamp() {
	s.offset = max(0, min(s.offset, len(s.content())-s.pageHeight()))
}

func (s *Approval) View() string { return fitWidth(s.view(), s.w) }

func (s *Approval) view() string {
	st := s.c.Styles
	head := st.Title.Render(clip(subjectOr(s.a.Subject), max(10, s.w))) + "\n" + approvalState(st, s.a, deciderName(s.c, nil, s.a.DecidedBy))
	switch {
	case s.err != "":
		return head + "\n\n" + errorView(st, s.err)
	case s.d == nil:
		return head + "\n\n" + st.Muted.Render("Loading the held message…")
	}
	if box := s.dec.view(); box != "" {
		return head + "\n\n" + box
	}
	content := s.content()
	end := min(len(content), s.offset+s.pageHeight())
	body := strings.Join(content[s.offset:end], "\n")
	where := ""
	if len(content) > s.pageHeight() {
		where = st.Muted.Render(fmt.Sprintf("lines %d–%d of %d · ↑/↓ scroll", s.offset+1, end, len(content)))
	}
	return head + "\n\n" + body + strings.Repeat("\n", max(0, s.pageHeight()-(end-s.offset))) + "\n" + where
}

// content is every line of the message, fitted to the width: headers,
// then the bodies.
func (s *Approval) content() []string {
	if s.d == nil {
		return nil
	}
	st := s.c.Styles
	m := s.d.Message
	a := s.d.Approval
	var out []string
	field := func(label, value string) {
		pad := strings.Repeat(" ", 11)
		for i, l := range wrapText(value, s.w-11) {
			if i == 0 {
				out = append(out, st.Label.Render(fmt.Sprintf("%-9s", label))+"  "+st.Value.Render(l))
			} else {
				out = append(out, pad+st.Value.Render(l))
			}
		}
	}
	field("Agent", a.TokenLabel)
	for i, r := range a.HoldReasons {
		label := ""
		if i == 0 {
			label = "Held for"
		}
		v := r.Code
		if r.Detail != "" {
			v += ": " + r.Detail
		}
		field(label, v)
	}
	field("From", addrString(m.From))
	field("To", addrList(m.To))
	if len(m.Cc) > 0 {
		field("Cc", addrList(m.Cc))
	}
	if len(m.Bcc) > 0 {
		field("Bcc", addrList(m.Bcc))
	}
	if len(m.ReplyTo) > 0 {
		field("Reply-To", addrList(m.ReplyTo))
	}
	field("Subject", subjectOr(m.Subject))
	field("Thread", threadLine(m))
	for i, at := range m.Attachments {
		label := ""
		if i == 0 {
			label = "Files"
		}
		field(label, fmt.Sprintf("%s · %s · %s", at.Filename, at.ContentType, humanBytes(at.Size)))
	}
	for i, h := range otherHeaders(m.Headers) {
		label := ""
		if i == 0 {
			label = "Headers"
		}
		field(label, h.Name+": "+h.Value)
	}
	field("Size", humanBytes(m.Size))
	field("Digest", a.Digest)
	if a.Status == models.ApprovalRejected {
		field("Reason", a.Reason)
	}
	rule := func(title string) string {
		t := "── " + title + " "
		return st.Muted.Render(t + strings.Repeat("─", max(0, s.w-ansi.StringWidth(t))))
	}
	if m.Text != "" || m.HTML == "" {
		out = append(out, "", rule("Text"))
		text := m.Text
		if text == "" {
			text = "(no text body)"
		}
		out = append(out, wrapText(text, s.w)...)
	}
	if m.HTML != "" {
		out = append(out, "", rule("HTML, shown as text"))
		out = append(out, wrapText(htmlText(m.HTML), s.w)...)
	}
	return out
}

// threadLine says which conversation a send belongs to.
func threadLine(m models.HeldMessage) string {
	subject := m.ThreadSubject
	if subject == "" {
		subject = "(no subject)"
	}
	if m.InReplyTo == "" {
		return "starts “" + subject + "”"
	}
	return "answers " + m.InReplyTo + " in “" + subject + "”"
}

// shownHeaders are the headers the detail shows in their own lines, or
// that every message has; the others (an agent's own) are listed.
var shownHeaders = map[string]bool{
	"from": true, "to": true, "cc": true, "bcc": true, "reply-to": true, "subject": true, "date": true,
	"message-id": true, "in-reply-to": true, "references": true, "mime-version": true, "content-type": true,
	"content-transfer-encoding": true, "content-disposition": true, "content-id": true,
}

func otherHeaders(hs []models.HeaderField) []models.HeaderField {
	var out []models.HeaderField
	for _, h := range hs {
		if !shownHeaders[strings.ToLower(h.Name)] {
			out = append(out, h)
		}
	}
	return out
}

// wrapText breaks text into lines of at most width columns, keeping its
// own line breaks; long words are cut.
func wrapText(s string, width int) []string {
	width = max(10, width)
	var out []string
	for _, l := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		w := ansi.Wrap(strings.ReplaceAll(l, "\t", "    "), width, "")
		for _, part := range strings.Split(w, "\n") {
			out = append(out, strings.TrimRight(part, " "))
		}
	}
	return out
}
