package screens

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
	"gent/tui/styles"
)

// Dashboard is the home screen: the organization at a glance and the way
// to every other screen.
type Dashboard struct {
	c        *common.Common
	req      common.Requests
	sections []section
	counts   map[string]count
	errs     map[string]string

	recent    []models.AuditEntry
	names     map[string]string
	recentErr string
	width     int
	height    int

	// first is the first-run checklist (owners and admins; nil until
	// loaded).
	first *firstRun

	live common.Debouncer // reloads after events of the live stream
}

// NewDashboard builds the dashboard for the signed-in user's role.
func NewDashboard(c *common.Common) *Dashboard {
	d := &Dashboard{c: c, counts: map[string]count{}, errs: map[string]string{}}
	// A summary: a steady flow of mail reloads it twice a second at most.
	d.live.Delay = 2 * common.RefreshDelay
	for _, s := range sections() {
		if !s.AdminOnly || c.IsAdmin() {
			d.sections = append(d.sections, s)
		}
	}
	return d
}

func (d *Dashboard) Title() string    { return "Dashboard" }
func (d *Dashboard) SetSize(w, h int) { d.width, d.height = w, h }
func (d *Dashboard) Busy() (bool, string) {
	if d.live.Pending() {
		return true, "Updating…"
	}
	return d.req.Busy()
}
func (d *Dashboard) Init() tea.Cmd { return d.refresh() }
func (d *Dashboard) recentRows() int {
	return max(3, d.height-len(d.sections)-7-len(d.checklist()))
}

// checklist is the first-run checklist's lines with the blank line above
// it, or nothing once it is done.
func (d *Dashboard) checklist() []string {
	if !d.first.shown() {
		return nil
	}
	lines := firstRunView(d.c, d.first)
	// On a short screen (80×24) the blank line above goes first, so the
	// Recent activity heading still shows under the sections.
	if d.height > 0 && 3+len(d.sections)+1+len(lines)+2 > d.height {
		return lines
	}
	return append([]string{""}, lines...)
}

// ShortHelp leaves out the sections' keys: each section's line shows
// its key, and ? lists them all.
func (d *Dashboard) ShortHelp() []key.Binding {
	return []key.Binding{d.c.Keys.Refresh, d.c.Keys.Logout}
}

// checklistHelp lists the checklist's keys while it shows.
func (d *Dashboard) checklistHelp() []key.Binding {
	if !d.first.shown() {
		return nil
	}
	k := d.c.Keys
	return []key.Binding{k.StepInbox, k.StepToken, k.StepSend, k.StepApprove}
}

func (d *Dashboard) FullHelp() [][]key.Binding {
	// The sections' keys in columns of five, so the help leaves room
	// for the dashboard.
	var cols [][]key.Binding
	for i, s := range d.sections {
		if i%5 == 0 {
			cols = append(cols, nil)
		}
		cols[len(cols)-1] = append(cols[len(cols)-1], s.Key(d.c))
	}
	if d.c.IsAdmin() {
		cols = append(cols, []key.Binding{d.c.Keys.Policy})
	}
	if c := d.checklistHelp(); c != nil {
		cols = append(cols, c)
	}
	return append(cols, append(d.ShortHelp(), d.c.Keys.MyPassword))
}

// refresh starts every count and the recent activity.
func (d *Dashboard) refresh() tea.Cmd { return d.refreshFor(nil) }

// refreshFor counts again the sections the event types change (every
// section when types is nil), and reloads the recent activity.
func (d *Dashboard) refreshFor(types map[string]bool) tea.Cmd {
	var cmds []tea.Cmd
	for _, s := range d.sections {
		if s.Count != nil && (types == nil || watches(s, types)) {
			cmds = append(cmds, common.Start(d.c, &d.req, "count:"+s.Name, "Counting "+strings.ToLower(s.Name)+"…", s.Count))
		}
	}
	// A reload for events keeps the names it has; r and changes made
	// here fetch them again.
	var names map[string]string
	if types != nil {
		names = d.names
	}
	cmds = append(cmds, common.Start(d.c, &d.req, "recent", "Loading recent activity…",
		loadActivity(d.c, client.AuditQuery{Page: client.Page{Limit: 20}}, names)))
	if d.c.IsAdmin() && (types == nil || watchesAny(firstRunEvents, types)) {
		cmds = append(cmds, common.Start(d.c, &d.req, "firstrun", "Checking the first steps…", loadFirstRun))
	}
	return tea.Batch(cmds...)
}

// auditSections names the section whose count an audit action's resource
// changes. Creating, changing or deleting these has no event of its own:
// the recent activity is where the dashboard learns of it.
var auditSections = map[string]string{"domains": "Domains", "inboxes": "Inboxes", "tokens": "Tokens", "users": "Users", "caps": "Caps"}

// countChanged counts again the sections whose resources the entries new
// since prev created, changed or deleted (another admin, the API), so a
// count never contradicts the recent activity under it.
func (d *Dashboard) countChanged(prev []models.AuditEntry) tea.Cmd {
	seen := map[string]bool{}
	for _, e := range prev {
		seen[e.ID] = true
	}
	todo := map[string]bool{}
	for _, e := range d.recent {
		resource, verb, _ := strings.Cut(e.Action, ".")
		if seen[e.ID] || e.Outcome != "success" || verb == "list" || verb == "get" || verb == "zone" {
			continue
		}
		if name := auditSections[resource]; name != "" {
			todo[name] = true
		}
	}
	var cmds []tea.Cmd
	for _, s := range d.sections {
		if todo[s.Name] && s.Count != nil && !d.req.Pending("count:"+s.Name) {
			cmds = append(cmds, common.Start(d.c, &d.req, "count:"+s.Name, "Counting "+strings.ToLower(s.Name)+"…", s.Count))
		}
	}
	return tea.Batch(cmds...)
}

// watches reports whether one of the event types changes s's count.
func watches(s section, types map[string]bool) bool { return watchesAny(s.Events, types) }

func watchesAny(events []string, types map[string]bool) bool {
	for _, t := range events {
		if types[t] {
			return true
		}
	}
	return false
}

func (d *Dashboard) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if types, ok := d.live.Fire(msg); ok {
		return d, d.refreshFor(types)
	}
	switch msg := msg.(type) {
	case common.ResultMsg[count]:
		if name, ok := d.req.Done(msg.ID); ok {
			n := strings.TrimPrefix(name, "count:")
			d.counts[n] = msg.Value
			delete(d.errs, n)
		}
	case common.ResultMsg[firstRun]:
		if _, ok := d.req.Done(msg.ID); ok {
			f := msg.Value
			d.first = &f
		}
	case common.CopiedMsg:
		if msg.What == "first-run send" {
			if msg.Err != nil {
				return d, common.FlashError("Could not copy: " + msg.Err.Error() + ". The command: " + agentSendCommand(d.c.Client.Server(), d.first.Inbox.ID))
			}
			return d, common.Flash("Copied the agent's send (curl, token in $AGENT): run it, then approve with 4.")
		}
	case common.ResultMsg[activity]:
		if _, ok := d.req.Done(msg.ID); ok {
			prev, loaded := d.recent, d.recent != nil
			d.recent, d.names, d.recentErr = msg.Value.Page.Data, msg.Value.Names, ""
			if loaded {
				return d, d.countChanged(prev)
			}
		}
	case common.ErrorMsg:
		if name, ok := d.req.Done(msg.ID); ok {
			if name == "recent" {
				d.recentErr = common.Describe(msg.Err)
			} else {
				d.errs[strings.TrimPrefix(name, "count:")] = common.Describe(msg.Err)
			}
		}
	case UserCreatedMsg, ChangedMsg:
		return d, d.refresh()
	case common.EventMsg:
		if d.first.shown() && watchesAny(firstRunEvents, map[string]bool{msg.Event.Type: true}) {
			return d, d.live.Add(d.c, msg.Event.Type)
		}
		for _, s := range d.sections {
			if watches(s, map[string]bool{msg.Event.Type: true}) {
				return d, d.live.Add(d.c, msg.Event.Type)
			}
		}
	case common.StreamMsg:
		if msg.Stale() {
			return d, d.refresh()
		}
	case common.ShownMsg:
		return d, d.refresh()
	case tea.KeyMsg:
		return d, d.handleKey(msg)
	}
	return d, nil
}

func (d *Dashboard) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := d.c.Keys
	switch {
	case key.Matches(msg, k.Refresh):
		return d.refresh()
	case key.Matches(msg, k.Logout):
		return func() tea.Msg { return common.SignOutMsg{} }
	case key.Matches(msg, k.MyPassword):
		return common.Push(NewPasswordChange(d.c))
	}
	if d.first.shown() {
		if cmd, ok := firstRunKey(d.c, d.first, msg); ok {
			return cmd
		}
	}
	for _, s := range d.sections {
		if key.Matches(msg, s.Key(d.c)) {
			return common.Push(s.Open(d.c))
		}
	}
	// The organization's policy has no line: while sending is paused,
	// the banner above every screen says so.
	if key.Matches(msg, k.Policy) && d.c.IsAdmin() {
		return common.Push(NewOrgPolicy(d.c))
	}
	return nil
}

func (d *Dashboard) View() string {
	st := d.c.Styles
	var b strings.Builder
	if me := d.c.Me; me != nil {
		b.WriteString(st.Title.Render(me.Org.Name) + "\n")
		b.WriteString(st.Muted.Render(fmt.Sprintf("Signed in as %s (%s)", me.User.Email, me.User.Role)) + "\n\n")
	}
	for _, s := range d.sections {
		b.WriteString(d.sectionLine(s) + "\n")
	}
	for _, l := range d.checklist() {
		b.WriteString(l + "\n")
	}
	b.WriteString("\n" + st.Title.Render("Recent activity") + "\n")
	b.WriteString(d.recentView())
	return b.String()
}

func (d *Dashboard) sectionLine(s section) string {
	st := d.c.Styles
	head := fmt.Sprintf("  %-4s %-12s", "["+s.Key(d.c).Help().Key+"]", s.Name)
	switch {
	case s.Count == nil:
		return head + "       " + st.Muted.Render(s.About)
	case d.errs[s.Name] != "":
		return head + "   " + st.Error.Render(styles.Fail+" ") + "  " + st.Error.Render(d.errs[s.Name])
	}
	c, ok := d.counts[s.Name]
	if !ok {
		return head + "   " + st.Muted.Render(styles.Pending)
	}
	n := st.Count.Render(fmt.Sprintf("%4d", c.N))
	if c.Alert {
		n = st.Warning.Render(fmt.Sprintf("%s%3d", styles.Warn, c.N))
	}
	return head + n + "   " + st.Muted.Render(c.Detail)
}

func (d *Dashboard) recentView() string {
	st := d.c.Styles
	switch {
	case d.recentErr != "":
		return "  " + st.Error.Render(styles.Fail+" "+d.recentErr)
	case d.recent == nil:
		return "  " + st.Muted.Render(styles.Pending)
	case len(d.recent) == 0:
		return "  " + st.Muted.Render("Nothing yet.")
	}
	shown := d.recent[:min(len(d.recent), d.recentRows())]
	// An action is never cut (approvals.reject and approval.rejected
	// would read alike): its column is as wide as the longest shown, and
	// the actor gives way when the width is short.
	aw := 15
	for _, e := range shown {
		aw = max(aw, len([]rune(e.Action)))
	}
	actorW := 20
	if d.width > 0 {
		actorW = min(20, max(12, d.width-2-14-2-2-aw-2-5-2-10))
	}
	var lines []string
	for _, e := range shown {
		res := outcome(st, e)
		res += strings.Repeat(" ", max(0, 5-ansi.StringWidth(res)))
		lines = append(lines, fmt.Sprintf("  %s  %-*s  %-*s  %s  %s",
			st.Muted.Render(localTime(e.CreatedAt, stampShort)), actorW, clip(actorName(d.c, d.names, e), actorW),
			aw, e.Action, res, targetName(d.c, d.names, e)))
	}
	return strings.Join(lines, "\n")
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
