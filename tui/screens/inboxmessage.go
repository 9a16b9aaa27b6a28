package screens

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
	"gent/tui/styles"
)

// MessageView shows one message of an inbox: its headers, authentication
// results, screening findings, attachments, for mail the inbox sent the
// delivery to each recipient, the lifecycle (docs/policy.md) and the
// text. It scrolls, and follows the message's delivery events.
type MessageView struct {
	c     *common.Common
	req   common.Requests
	inbox models.Inbox
	sum   models.MessageSummary

	m         *models.Message
	delivery  *models.SendStatus
	lifecycle []models.LifecycleEntry
	err       string // the message could not be loaded
	partErr   string // the delivery or lifecycle could not be loaded

	offset int
	w, h   int
	live   common.Debouncer
}

// NewMessageView builds the view of message m of inbox in; it loads the
// message whole.
func NewMessageView(c *common.Common, in models.Inbox, m models.MessageSummary) *MessageView {
	return &MessageView{c: c, inbox: in, sum: m, w: 80, h: 20}
}

func (s *MessageView) Title() string { return clip(subjectOr(s.sum.Subject), 24) }
func (s *MessageView) Init() tea.Cmd { return tea.Batch(s.loadMessage(), s.loadSteps()) }

func (s *MessageView) Busy() (bool, string) {
	if s.live.Pending() {
		return true, "Updating…"
	}
	return s.req.Busy()
}

func (s *MessageView) SetSize(w, h int) {
	s.w, s.h = w, h
	s.clamp()
}

func (s *MessageView) ShortHelp() []key.Binding {
	k := s.c.Keys
	return []key.Binding{k.Up, k.Down, k.PageDown, k.Refresh}
}

func (s *MessageView) FullHelp() [][]key.Binding {
	k := s.c.Keys
	return [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown}, {k.Top, k.Bottom, k.Refresh}}
}

func (s *MessageView) outbound() bool { return s.sum.Direction == models.DirectionOutbound }

func (s *MessageView) loadMessage() tea.Cmd {
	in, id := s.inbox.ID, s.sum.ID
	return common.Start(s.c, &s.req, "message", "Loading the message…", func(ctx context.Context, cl *client.Client) (*models.Message, error) {
		return cl.Message(ctx, in, id)
	})
}

// msgSteps is where a message stands: its delivery (outbound mail only)
// and its lifecycle.
type msgSteps struct {
	Delivery  *models.SendStatus
	Lifecycle []models.LifecycleEntry
}

func (s *MessageView) loadSteps() tea.Cmd {
	in, id, out := s.inbox.ID, s.sum.ID, s.outbound()
	return common.Start(s.c, &s.req, "steps", "Loading the lifecycle…", func(ctx context.Context, cl *client.Client) (msgSteps, error) {
		var st msgSteps
		var err error
		if out {
			if st.Delivery, err = cl.Delivery(ctx, in, id); err != nil {
				return st, err
			}
		}
		st.Lifecycle, err = cl.Lifecycle(ctx, in, id)
		return st, err
	})
}

func (s *MessageView) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if _, ok := s.live.Fire(msg); ok {
		return s, s.loadSteps()
	}
	switch msg := msg.(type) {
	case common.ResultMsg[*models.Message]:
		if _, ok := s.req.Done(msg.ID); ok {
			s.m, s.err = msg.Value, ""
			s.sum = msg.Value.MessageSummary
			s.clamp()
		}
	case common.ResultMsg[msgSteps]:
		if _, ok := s.req.Done(msg.ID); ok {
			s.delivery, s.lifecycle, s.partErr = msg.Value.Delivery, msg.Value.Lifecycle, ""
			s.clamp()
		}
	case common.ErrorMsg:
		if name, ok := s.req.Done(msg.ID); ok {
			if name == "message" {
				s.err = common.Describe(msg.Err)
			} else {
				s.partErr = common.Describe(msg.Err)
			}
		}
	case common.EventMsg:
		// A delivery attempt, an approval or a rejection of this message.
		if id, _ := msg.Event.Payload["message_id"].(string); id == s.sum.ID {
			return s, s.live.Add(s.c, msg.Event.Type)
		}
	case common.StreamMsg:
		// Back after an outage, or events were missed: the delivery and
		// lifecycle may have moved, and a message that failed to load
		// loads now.
		if !msg.Stale() {
			break
		}
		var cmds []tea.Cmd
		if s.err != "" && !s.req.Pending("message") {
			cmds = append(cmds, s.loadMessage())
		}
		if !s.req.Pending("steps") {
			cmds = append(cmds, s.loadSteps())
		}
		return s, tea.Batch(cmds...)
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

func (s *MessageView) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := s.c.Keys
	switch {
	case key.Matches(msg, k.Refresh):
		return tea.Batch(s.loadMessage(), s.loadSteps())
	default:
		s.offset, _ = scroll(k, msg, s.offset, s.pageHeight(), len(s.content()))
	}
	s.clamp()
	return nil
}

// pageHeight is the lines of content shown under the fixed head.
func (s *MessageView) pageHeight() int { return max(1, s.h-4) }

func (s *MessageView) clamp() {
	s.offset = max(0, min(s.offset, len(s.content())-s.pageHeight()))
}

func (s *MessageView) View() string { return fitWidth(s.view(), s.w) }

func (s *MessageView) view() string {
	st := s.c.Styles
	head := st.Title.Render(subjectOr(s.sum.Subject)) + "\n" + s.stateLine()
	switch {
	case s.err != "":
		return head + "\n\n" + errorView(st, s.err)
	case s.m == nil:
		return head + "\n\n" + st.Muted.Render("Loading the message…")
	}
	return head + "\n\n" + scrolled(st, s.content(), s.offset, s.pageHeight())
}

// scrolled is the lines of content from offset that fit in height, padded,
// with where they are when not all fit.
func scrolled(st styles.Styles, content []string, offset, height int) string {
	end := min(len(content), offset+height)
	body := strings.Join(content[offset:end], "\n")
	where := ""
	if len(content) > height {
		where = st.Muted.Render(fmt.Sprintf("lines %d–%d of %d · ↑/↓ scroll", offset+1, end, len(content)))
	}
	return body + strings.Repeat("\n", max(0, height-(end-offset))) + "\n" + where
}

// stateLine says which way the message went, when, and its size.
func (s *MessageView) stateLine() string {
	st := s.c.Styles
	m := s.sum
	when := localTime(messageTime(m), dateShort)
	if s.outbound() {
		return messageState(st, m) + st.Muted.Render(" · sent by this inbox · "+when+" · "+humanBytes(m.Size))
	}
	return st.Muted.Render("received " + when + " · " + humanBytes(m.Size))
}

// content is every line under the head, fitted to the width.
func (s *MessageView) content() []string {
	if s.m == nil {
		return nil
	}
	st := s.c.Styles
	m := s.m
	var out []string
	field := fieldWriter(st, &out, s.w)
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
	if m.Date != nil {
		field("Date", localTime(*m.Date, dateShort))
	}
	field("Message-ID", m.MessageID)
	for i, at := range m.Attachments {
		label := ""
		if i == 0 {
			label = "Files"
		}
		field(label, fmt.Sprintf("%s · %s · %s", at.Filename, at.ContentType, humanBytes(at.Size)))
	}
	if len(m.Labels) > 0 {
		field("Labels", strings.Join(m.Labels, ", "))
	}
	if a := m.Auth; a != nil {
		v := fmt.Sprintf("SPF %s · DKIM %s · DMARC %s", orNone(a.SPF), orNone(a.DKIM), orNone(a.DMARC))
		if a.DMARCPolicy != "" {
			v += " (policy " + a.DMARCPolicy + ")"
		}
		field("Auth", v)
	}
	if sc := m.Screening; sc != nil {
		field("Screening", verdictLong(st, sc)+fmt.Sprintf(" · score %d", sc.Score))
		for _, f := range sc.Findings {
			field("", f.Code+": "+f.Detail)
		}
	}
	if s.outbound() {
		out = append(out, "", rule(st, "Delivery", s.w))
		out = append(out, s.deliveryLines()...)
	}
	out = append(out, "", rule(st, "Lifecycle", s.w))
	out = append(out, s.lifecycleLines()...)
	out = append(out, "", rule(st, "Text", s.w))
	text := m.Text
	if text == "" && m.HTML != "" {
		text = htmlText(m.HTML)
	}
	if text == "" {
		text = "(no text body)"
	}
	out = append(out, wrapText(text, s.w)...)
	return out
}

func (s *MessageView) deliveryLines() []string {
	st := s.c.Styles
	switch {
	case s.partErr != "":
		return []string{st.Error.Render(styles.Fail + " " + s.partErr)}
	case s.delivery == nil:
		return []string{st.Muted.Render(styles.Pending)}
	case len(s.delivery.Recipients) == 0:
		return []string{st.Muted.Render("Nothing to deliver yet: " + s.delivery.Status + ".")}
	}
	var out []string
	for _, r := range s.delivery.Recipients {
		status := r.Status
		switch r.Status {
		case "delivered":
			status = st.Success.Render(styles.OK + " delivered")
		case "bounced", "failed":
			status = st.Error.Render(styles.Fail + " " + r.Status)
		default:
			status = st.Warning.Render(styles.Pending + " " + r.Status)
		}
		detail := plural(r.Attempts, "attempt")
		if r.LastResponse != "" {
			detail += " · " + r.LastResponse
		}
		if r.NextAttemptAt != nil && r.Status != "delivered" {
			detail += " · next " + localTime(*r.NextAttemptAt, stampShort)
		}
		out = append(out, wrapIndented(fmt.Sprintf("%-26s %s  ", clip(r.Address, 26), status)+st.Muted.Render(detail), s.w, 4)...)
	}
	return out
}

func (s *MessageView) lifecycleLines() []string {
	st := s.c.Styles
	switch {
	case s.partErr != "":
		return []string{st.Error.Render(styles.Fail + " " + s.partErr)}
	case s.lifecycle == nil:
		return []string{st.Muted.Render(styles.Pending)}
	case len(s.lifecycle) == 0:
		return []string{st.Muted.Render("No steps recorded.")}
	}
	var out []string
	for _, e := range s.lifecycle {
		line := st.Muted.Render(localTime(e.At, stampShort)) + "  " + fmt.Sprintf("%-11s", e.Kind) + " " + lifecycleDetail(e.Detail)
		out = append(out, wrapIndented(strings.TrimRight(line, " "), s.w, 28)...)
	}
	return out
}

// lifecycleDetail says what a step's detail holds in a few words: the
// recipient and server answer of a delivery step, the codes of hold
// reasons, a decision, who decided and why.
func lifecycleDetail(d map[string]any) string {
	var parts []string
	take := func(k string) {
		if v, ok := d[k]; ok {
			if s := fmt.Sprint(v); s != "" {
				parts = append(parts, s)
			}
			delete(d, k)
		}
	}
	d = copyMap(d)
	take("recipient")
	take("outcome")
	if v, ok := d["decision"].(string); ok {
		parts = append(parts, "decision "+v)
		delete(d, "decision")
	}
	if rs, ok := d["hold_reasons"].([]any); ok {
		var codes []string
		for _, r := range rs {
			if m, ok := r.(map[string]any); ok {
				codes = append(codes, fmt.Sprint(m["code"]))
			}
		}
		if len(codes) > 0 {
			parts = append(parts, "held: "+strings.Join(codes, ", "))
		}
		delete(d, "hold_reasons")
	}
	take("response")
	take("reason")
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch v := d[k].(type) {
		case string, float64, bool:
			parts = append(parts, fmt.Sprintf("%s %v", k, v))
		}
	}
	return strings.Join(parts, " · ")
}

func copyMap(d map[string]any) map[string]any {
	out := make(map[string]any, len(d))
	for k, v := range d {
		out[k] = v
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// fieldWriter returns a function appending "Label      value" lines to
// out, the value wrapped under itself.
func fieldWriter(st styles.Styles, out *[]string, width int) func(label, value string) {
	return func(label, value string) {
		pad := strings.Repeat(" ", 12)
		for i, l := range wrapText(value, width-12) {
			if i == 0 {
				*out = append(*out, st.Label.Render(fmt.Sprintf("%-10s", label))+"  "+st.Value.Render(l))
			} else {
				*out = append(*out, pad+st.Value.Render(l))
			}
		}
	}
}

// wrapIndented wraps s to width, continuation lines indented by indent.
func wrapIndented(s string, width, indent int) []string {
	if ansi.StringWidth(s) <= width {
		return []string{s}
	}
	first := ansi.Truncate(s, width, "")
	rest := ansi.Strip(s)[len(ansi.Strip(first)):]
	out := []string{first}
	for _, l := range wrapText(strings.TrimSpace(rest), width-indent) {
		out = append(out, strings.Repeat(" ", indent)+l)
	}
	return out
}

// rule is a section title drawn across the width.
func rule(st styles.Styles, title string, width int) string {
	t := "── " + title + " "
	return st.Muted.Render(t + strings.Repeat("─", max(0, width-ansi.StringWidth(t))))
}
