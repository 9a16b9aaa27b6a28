package screens

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
	"gent/tui/components/confirm"
	"gent/tui/styles"
)

// capEvents change what the caps screen shows: usage moves with mail,
// alerts fire.
var capEvents = []string{models.EventCapThresholdCrossed, models.EventMessageReceived, models.EventMessageSent,
	models.EventMessageApproved, models.EventMessageRejected, models.EventMessageExpired}

// Caps shows every inbox's storage: a bar of its usage against its cap
// with the alert thresholds marked on it, the mode, and the alerts that
// fired. Caps are set, changed and removed here (owners and admins). /
// filters the inboxes as on the other lists; a click selects one and the
// wheel moves through them.
type Caps struct {
	list[[]models.MailboxCap]
	items  []models.MailboxCap
	loaded bool
	// shown are the indexes in items of the inboxes the filter keeps;
	// cursor and offset count in shown.
	shown     []int
	cursor    int
	offset    int
	filter    textinput.Model
	filtering bool // the filter's input has the keys
}

// NewCaps builds the caps screen.
func NewCaps(c *common.Common) *Caps {
	in := textinput.New()
	in.Prompt = "/"
	in.CharLimit = 100
	s := &Caps{filter: in}
	s.list = newList[[]models.MailboxCap](c, s, kindCaps, kindInboxes)
	s.follow("Updating usage…", capEvents...)
	s.w, s.h = 80, 20
	return s
}

// Typing: the filter takes every key while it is open.
func (s *Caps) Typing() bool { return s.filtering || s.list.Typing() }

// filterShown reports whether the filter line is drawn.
func (s *Caps) filterShown() bool { return s.filtering || s.filter.Value() != "" }

// refilter keeps the inboxes whose address or mode contains the filter's
// text (any case), the selected one selected when it stays.
func (s *Caps) refilter() {
	sel := ""
	if it, ok := s.selected(); ok {
		sel = it.InboxID
	}
	q := strings.ToLower(strings.TrimSpace(s.filter.Value()))
	s.shown, s.cursor = s.shown[:0], 0
	for i, it := range s.items {
		if q == "" || strings.Contains(strings.ToLower(it.Address), q) || strings.Contains(modeName(capMode(it)), q) {
			if it.InboxID == sel {
				s.cursor = len(s.shown)
			}
			s.shown = append(s.shown, i)
		}
	}
	s.clamp()
}

// selected is the inbox under the cursor.
func (s *Caps) selected() (models.MailboxCap, bool) {
	if s.cursor < 0 || s.cursor >= len(s.shown) {
		return models.MailboxCap{}, false
	}
	return s.items[s.shown[s.cursor]], true
}

func (s *Caps) Title() string { return "Caps" }

func (s *Caps) SetSize(w, h int) {
	s.resize(w, h)
	s.clamp()
}

func (s *Caps) ShortHelp() []key.Binding {
	k := s.c.Keys
	if s.filtering {
		return []key.Binding{k.Submit, k.Cancel}
	}
	return s.shortHelp(k.EditCap, k.RemoveCap, k.Usage, k.Refresh)
}

func (s *Caps) FullHelp() [][]key.Binding {
	k := s.c.Keys
	if s.filtering {
		return [][]key.Binding{{k.Submit, k.Cancel}}
	}
	return s.fullHelp([][]key.Binding{{k.EditCap, k.RemoveCap}, {k.Usage, k.Refresh}, {k.Up, k.Down, k.Top, k.Bottom, k.Filter}})
}

func (s *Caps) load() tea.Cmd {
	return common.Start(s.c, &s.req, "list", "Loading storage caps…", func(ctx context.Context, cl *client.Client) ([]models.MailboxCap, error) {
		return cl.AllMailboxCaps(ctx)
	})
}

func (s *Caps) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if msg, ok := msg.(common.ResultMsg[deleted]); ok {
		if _, ok := s.req.Done(msg.ID); ok {
			return s, tea.Batch(changed(kindCaps, msg.Value.ID), common.Flash("Removed the cap of "+msg.Value.Name+": it may grow without limit."))
		}
		return s, nil
	}
	if msg, ok := msg.(tea.MouseMsg); ok {
		s.mouse(msg)
		return s, nil
	}
	_, cmd := s.updateList(msg)
	return s, cmd
}

// mouse selects the inbox clicked (any of its lines) and moves through
// them with the wheel. Y is the screen's line.
func (s *Caps) mouse(msg tea.MouseMsg) {
	if s.confirm != nil || !s.loaded {
		return
	}
	switch {
	case msg.Button == tea.MouseButtonWheelUp:
		s.cursor--
	case msg.Button == tea.MouseButtonWheelDown:
		s.cursor++
	case msg.Button == tea.MouseButtonLeft && msg.Action == tea.MouseActionPress:
		first := strings.Count(s.head(), "\n") // the lines above the first inbox
		if msg.Y < first {
			return
		}
		i := s.offset + (msg.Y-first)/entryLines
		if i >= len(s.shown) || i >= s.offset+s.visible() {
			return
		}
		s.cursor = i
	default:
		return
	}
	s.clamp()
}

func (s *Caps) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := s.c.Keys
	if s.filtering {
		switch {
		case key.Matches(msg, k.Cancel):
			s.filtering = false
			s.filter.Reset()
			s.filter.Blur()
		case msg.Type == tea.KeyEnter || msg.Type == tea.KeyUp || msg.Type == tea.KeyDown:
			// The filter stays; the keys go back to the list.
			s.filtering = false
			s.filter.Blur()
		default:
			s.filter, _ = s.filter.Update(msg)
		}
		s.refilter()
		return nil
	}
	switch {
	case key.Matches(msg, k.Refresh):
		return s.load()
	case key.Matches(msg, k.Usage):
		return common.Push(NewCapUsage(s.c))
	case key.Matches(msg, k.Filter) && s.loaded:
		s.filtering = true
		s.filter.Focus()
		s.clamp()
		return nil
	}
	it, ok := s.selected()
	if !ok {
		return nil
	}
	switch {
	case key.Matches(msg, k.EditCap):
		return common.Push(NewCapEdit(s.c, it))
	case key.Matches(msg, k.RemoveCap):
		if it.Cap == nil {
			return common.FlashError(it.Address + " has no cap to remove.")
		}
		s.ask(confirm.New(s.c, "Remove the cap of "+it.Address+"?",
			"It may then grow without limit, and its alerts are dropped. Set a new cap with e at any time."),
			func() tea.Cmd { return s.remove(it) })
		s.SetSize(s.w, s.h) // less room for the list: keep the inbox in view
		return nil
	case key.Matches(msg, k.Up):
		s.cursor--
	case key.Matches(msg, k.Down):
		s.cursor++
	case key.Matches(msg, k.Top):
		s.cursor = 0
	case key.Matches(msg, k.Bottom):
		s.cursor = len(s.shown) - 1
	}
	s.clamp()
	return nil
}

func (s *Caps) remove(it models.MailboxCap) tea.Cmd {
	return common.Start(s.c, &s.req, "remove", "Removing the cap of "+it.Address+"…", func(ctx context.Context, cl *client.Client) (deleted, error) {
		return deleted{ID: it.InboxID, Name: it.Address}, cl.RemoveMailboxCap(ctx, it.InboxID)
	})
}

func (s *Caps) show(items []models.MailboxCap) {
	keep := s.selectID
	if it, ok := s.selected(); ok && keep == "" {
		keep = it.InboxID
	}
	s.items, s.loaded, s.err, s.selectID = items, true, "", ""
	s.shown = nil // indexes of the items replaced
	s.refilter()
	for i, j := range s.shown {
		if items[j].InboxID == keep {
			s.cursor = i
		}
	}
	s.clamp()
}

// entryLines is the height of one inbox: address and mode, bar, alerts.
const entryLines = 3

func (s *Caps) visible() int {
	head := 2
	if s.filterShown() {
		head++
	}
	return max(1, (s.room()-head)/entryLines)
}

func (s *Caps) clamp() {
	s.cursor = min(max(s.cursor, 0), max(len(s.shown)-1, 0))
	s.offset = min(s.offset, max(0, len(s.shown)-s.visible()))
	if s.cursor < s.offset {
		s.offset = s.cursor
	}
	if n := s.visible(); s.cursor >= s.offset+n {
		s.offset = s.cursor - n + 1
	}
}

func (s *Caps) View() string { return fitWidth(cutLines(s.view(), s.h), s.w) }

func (s *Caps) view() string {
	st := s.c.Styles
	switch {
	case s.err != "":
		return errorView(st, s.err)
	case !s.loaded:
		return st.Muted.Render("Loading storage caps…")
	case len(s.items) == 0:
		return st.Title.Render("No inboxes yet") + "\n\n" + st.Muted.Render("Caps limit the storage of inboxes; create an inbox first (i on the dashboard).")
	}
	var b strings.Builder
	b.WriteString(s.head())
	if len(s.shown) == 0 {
		return b.String() + st.Muted.Render("No inbox matches the filter.")
	}
	end := min(len(s.shown), s.offset+s.visible())
	var entries []string
	for i := s.offset; i < end; i++ {
		entries = append(entries, s.entry(s.items[s.shown[i]], i == s.cursor))
	}
	b.WriteString(strings.Join(entries, "\n"))
	return b.String()
}

// head is what comes above the inboxes: the summary, an open question,
// and the filter line while it shows.
func (s *Caps) head() string {
	h := s.summary() + "\n\n" + s.question()
	if s.filterShown() {
		st := s.c.Styles
		count := fmt.Sprintf("%d of %d", len(s.shown), len(s.items))
		in := s.filter.View()
		if !s.filtering {
			in = st.Muted.Render("/" + s.filter.Value())
		}
		gap := max(2, s.w-ansi.StringWidth(in)-ansi.StringWidth(count))
		h += in + strings.Repeat(" ", gap) + st.Muted.Render(count) + "\n"
	}
	return h
}

func (s *Caps) summary() string {
	st := s.c.Styles
	capped, fired, over := 0, 0, 0
	for _, it := range s.items {
		if it.Cap != nil {
			capped++
			if it.UsedBytes > it.Cap.LimitBytes {
				over++
			}
		}
		fired += firedAlerts(it)
	}
	out := st.Title.Render(plural(len(s.items), "inbox")) + st.Muted.Render(fmt.Sprintf(" · %d capped", capped))
	if fired > 0 {
		out += st.Muted.Render(" · ") + st.Error.Render(styles.Warn+" "+plural(fired, "alert")+" fired")
	}
	if over > 0 {
		out += st.Muted.Render(" · ") + st.Error.Render(fmt.Sprintf("%d over the limit", over))
	}
	return out
}

func firedAlerts(it models.MailboxCap) int {
	n := 0
	for _, a := range it.Alerts {
		if a.State == models.AlertFired {
			n++
		}
	}
	return n
}

// entry draws one inbox in entryLines lines.
func (s *Caps) entry(it models.MailboxCap, selected bool) string {
	st := s.c.Styles
	marker, addr := "  ", st.Value.Render(it.Address)
	if selected {
		marker, addr = st.Selected.Render(styles.Cursor+" "), st.Selected.Render(it.Address)
	}
	mode := st.Muted.Render("no cap")
	if it.Cap != nil {
		mode = st.Label.Render(modeName(it.Cap.Mode))
	}
	gap := max(2, s.w-2-ansi.StringWidth(it.Address)-ansi.StringWidth(modeName(capMode(it))))
	first := marker + addr + strings.Repeat(" ", gap) + mode
	if it.Cap == nil {
		return first + "\n  " + st.Muted.Render(fmt.Sprintf("%s in %s · no limit, no alerts (e sets a cap)",
			humanBytes(it.UsedBytes), plural(int(it.MessageCount), "message"))) + "\n"
	}
	barW := min(50, max(10, s.w-44))
	pct := ""
	if it.Percent != nil {
		pct = " · " + trimFloat(*it.Percent) + "%"
	}
	second := "  " + capBar(st, it, barW) + "  " + st.Value.Render(humanBytes(it.UsedBytes)+" of "+capLimit(it.Cap)) + st.Muted.Render(pct)
	return first + "\n" + second + "\n  " + s.alertLine(it)
}

// alertLine lists the alerts and the overage; fired alerts stand out with
// a symbol and colour. When it is too long the times go, then the end.
func (s *Caps) alertLine(it models.MailboxCap) string {
	line := s.alerts(it, true)
	if ansi.StringWidth(line) > s.w-2 {
		line = s.alerts(it, false)
	}
	return ansi.Truncate(line, max(10, s.w-2), "…")
}

func (s *Caps) alerts(it models.MailboxCap, times bool) string {
	st := s.c.Styles
	var parts []string
	for _, a := range it.Alerts {
		if a.State == models.AlertFired {
			fired := ""
			if a.FiredAt != nil && times {
				fired = " " + localTime(*a.FiredAt, minuteShort)
			}
			parts = append(parts, st.Error.Render(fmt.Sprintf("%s %d%% fired%s", styles.Warn, a.Threshold, fired)))
		} else {
			parts = append(parts, st.Muted.Render(fmt.Sprintf("%d%% armed", a.Threshold)))
		}
	}
	if len(it.Alerts) == 0 {
		parts = append(parts, st.Muted.Render("no alerts"))
	}
	if it.UsedBytes > it.Cap.LimitBytes {
		over := humanBytes(it.UsedBytes - it.Cap.LimitBytes)
		if it.Cap.Mode == models.CapEnforce {
			parts = append(parts, st.Error.Render(styles.Fail+" "+over+" over: new mail is refused"))
		} else {
			parts = append(parts, st.Warning.Render(styles.Warn+" "+over+" over, billed"))
		}
	}
	return strings.Join(parts, st.Muted.Render(" · "))
}

// capBar is usage against the limit, width cells between brackets (used
// and free cells), with each alert threshold marked on it, one way while
// armed and another once fired. Past the limit the bar is full and
// followed by a sign. The glyphs are in tui/styles.
func capBar(st styles.Styles, it models.MailboxCap, width int) string {
	limit := it.Cap.LimitBytes
	filled := width
	if limit > 0 && it.UsedBytes < limit {
		filled = int(int64(width) * it.UsedBytes / limit)
	}
	used := st.Success
	for _, a := range it.Alerts {
		if a.State == models.AlertFired {
			used = st.Warning
		}
	}
	if it.UsedBytes >= limit {
		used = st.Error
	}
	marks := map[int]string{}
	for _, a := range it.Alerts {
		i := min(width-1, a.Threshold*width/100)
		if a.State == models.AlertFired {
			marks[i] = styles.MarkFired
		} else if marks[i] == "" {
			marks[i] = styles.MarkArmed
		}
	}
	var b strings.Builder
	b.WriteString("[")
	for i := 0; i < width; i++ {
		switch {
		case marks[i] == styles.MarkFired:
			b.WriteString(st.Error.Render(styles.MarkFired))
		case marks[i] == styles.MarkArmed:
			b.WriteString(st.Label.Render(styles.MarkArmed))
		case i < filled:
			b.WriteString(used.Render(styles.BarUsed))
		default:
			b.WriteString(st.Muted.Render(styles.BarFree))
		}
	}
	b.WriteString("]")
	if it.UsedBytes > limit {
		b.WriteString(st.Error.Render(styles.BarOver))
	} else {
		b.WriteString(" ")
	}
	return b.String()
}

func capMode(it models.MailboxCap) string {
	if it.Cap == nil {
		return ""
	}
	return it.Cap.Mode
}

// modeName is a cap's mode in words.
func modeName(mode string) string {
	switch mode {
	case models.CapEnforce:
		return "enforce"
	case models.CapAllowAndBill:
		return "allow and bill"
	}
	return "no cap"
}

// capLimit is a cap's limit in the binary units every size is shown in,
// with the decimal GB it was set in, as the API takes it:
// "9.3 GiB (10 GB)", "48.8 KiB (0.00005 GB)".
func capLimit(c *models.Cap) string {
	return humanBytes(c.LimitBytes) + " (" + gbString(c.LimitGB) + ")"
}

// gbString is a limit in GB as it was given (10 GB, 0.5 GB).
func gbString(gb float64) string { return strconv.FormatFloat(gb, 'f', -1, 64) + " GB" }

// trimFloat shows v rounded to two decimals, without trailing zeros.
func trimFloat(v float64) string {
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}
