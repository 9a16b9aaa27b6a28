package screens

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
	"gent/tui/components/table"
	"gent/tui/styles"
)

// Domain shows one domain: the DNS records to publish, with what the
// last check found for each, "verify now", the zone snippet to copy, and
// delete.
type Domain struct {
	c      *common.Common
	req    common.Requests
	d      models.Domain
	table  *table.Model
	w, h   int
	verify bool // verify as soon as the screen opens
	asker

	zonePath string // where the last zone snippet was saved
	zoneErr  error  // why it could not be saved
}

// NewDomain builds the screen of d; with verify it checks DNS at once.
func NewDomain(c *common.Common, d models.Domain, verify bool) *Domain {
	s := &Domain{c: c, d: d, verify: verify, table: table.New(c,
		table.Column{Title: "Purpose", Width: 9},
		table.Column{Title: "Type", Width: 4},
		table.Column{Title: "Name", Width: 0},
		table.Column{Title: "Status", Width: 10},
	)}
	s.setDomain(d)
	return s
}

func (s *Domain) Title() string        { return s.d.Name }
func (s *Domain) Busy() (bool, string) { return s.req.Busy() }
func (s *Domain) Typing() bool         { return s.confirm != nil || s.table.Filtering() }

func (s *Domain) Init() tea.Cmd {
	if s.verify {
		return s.check()
	}
	return s.load()
}

func (s *Domain) SetSize(w, h int) {
	s.w, s.h = w, h
	s.sizeTable()
	if s.confirm != nil {
		s.confirm.SetWidth(w)
	}
}

// sizeTable makes the records' table as tall as its records, its header
// and, while / filters them, the filter line.
func (s *Domain) sizeTable() {
	h := len(s.d.Records) + 1
	if s.table.Filtering() || s.table.Filter() != "" {
		h++
	}
	s.table.SetSize(s.w, h)
}

func (s *Domain) ShortHelp() []key.Binding {
	k := s.c.Keys
	if s.table.Filtering() {
		return s.table.Bindings()
	}
	return s.shortHelp(k.Verify, k.CopyZone, k.Delete)
}

func (s *Domain) FullHelp() [][]key.Binding {
	k := s.c.Keys
	if s.table.Filtering() {
		return [][]key.Binding{s.table.Bindings()}
	}
	return s.fullHelp([][]key.Binding{{k.Verify, k.CopyZone, k.Refresh}, {k.Up, k.Down, k.Delete, k.Filter}})
}

func (s *Domain) load() tea.Cmd {
	return common.Start(s.c, &s.req, "domain", "Loading "+s.d.Name+"…", func(ctx context.Context, cl *client.Client) (*models.Domain, error) {
		return cl.Domain(ctx, s.d.ID)
	})
}

// check asks the daemon to query DNS now.
func (s *Domain) check() tea.Cmd {
	return common.Start(s.c, &s.req, "verify", "Checking the DNS records of "+s.d.Name+"…", func(ctx context.Context, cl *client.Client) (*models.Domain, error) {
		return cl.VerifyDomain(ctx, s.d.ID)
	})
}

// zone is the zone snippet and where it was saved.
type zone struct {
	Text, Path string
	SaveErr    error
}

// copyZone fetches the zone snippet and saves it as <data dir>/<name>.zone;
// the reply then copies it to the clipboard.
func (s *Domain) copyZone() tea.Cmd {
	dir, name := s.c.DataDir, s.d.Name
	return common.Start(s.c, &s.req, "zone", "Fetching the zone snippet…", func(ctx context.Context, cl *client.Client) (zone, error) {
		text, err := cl.DomainZone(ctx, s.d.ID)
		if err != nil {
			return zone{}, err
		}
		z := zone{Text: text}
		z.Path, z.SaveErr = saveZone(dir, name, text)
		return z, nil
	})
}

// saveZone writes text to dir/<name>.zone. Domain names hold only
// letters, digits, hyphens and dots, so the name is a plain file name.
func saveZone(dir, name, text string) (string, error) {
	if dir == "" {
		dir = "."
	}
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return "", fmt.Errorf("%q is not a file name", name)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, name+".zone")
	return path, os.WriteFile(path, []byte(text), 0o644)
}

func (s *Domain) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case common.ResultMsg[*models.Domain]:
		if name, ok := s.req.Done(msg.ID); ok {
			return s, s.loaded(name, *msg.Value)
		}
	case common.ResultMsg[zone]:
		if _, ok := s.req.Done(msg.ID); ok {
			s.zonePath, s.zoneErr = msg.Value.Path, msg.Value.SaveErr
			return s, s.c.Copy("zone "+s.d.ID, msg.Value.Text)
		}
	case common.CopiedMsg:
		if msg.What == "zone "+s.d.ID {
			return s, s.copied(msg.Err)
		}
	case common.ResultMsg[deleted]:
		if _, ok := s.req.Done(msg.ID); ok {
			return s, tea.Batch(common.Pop, changed(kindDomains, ""), common.Flash("Deleted "+msg.Value.Name+"."))
		}
	case common.ErrorMsg:
		if _, ok := s.req.Done(msg.ID); ok {
			return s, common.FlashError(common.Describe(msg.Err))
		}
	case common.StreamMsg:
		// Back after an outage: the records may have been checked
		// meanwhile.
		if msg.Stale() && !s.req.Pending("domain") && !s.req.Pending("verify") {
			return s, s.load()
		}
	case tea.KeyMsg:
		if s.asking() {
			cmd, _ := s.answer(msg)
			return s, cmd
		}
		if s.table.Filtering() {
			s.table.Update(msg)
			s.sizeTable()
			return s, nil
		}
		return s, s.handleKey(msg)
	case tea.MouseMsg:
		// A click selects a record; Y is the screen's line: make it the
		// table's.
		if !s.asking() {
			head := ansi.Strip(s.table.Header())
			for i, line := range strings.Split(s.View(), "\n") {
				if ansi.Strip(line) == head {
					msg.Y -= i
					s.table.Update(msg)
					break
				}
			}
		}
	}
	return s, nil
}

// loaded shows a fresh copy of the domain; after a check it says how the
// check went and tells the other screens.
func (s *Domain) loaded(call string, d models.Domain) tea.Cmd {
	before := s.d.Status
	s.setDomain(d)
	if call != "verify" {
		return nil
	}
	s.table.SetCursor(firstProblem(d.Records, s.table.Cursor()))
	flash := common.Flash(checkSummary(d, before))
	if d.Status != models.DomainVerified {
		flash = common.FlashError(checkSummary(d, before))
	}
	return tea.Batch(flash, changed(kindDomains, d.ID))
}

// firstProblem is the record to show after a check: the first required
// record that is not valid, else the first other one, else keep.
func firstProblem(rs []models.DNSRecord, keep int) int {
	other := -1
	for i, r := range rs {
		switch {
		case r.Status == models.RecordValid:
		case r.Required:
			return i
		case other < 0:
			other = i
		}
	}
	if other >= 0 {
		return other
	}
	return keep
}

func checkSummary(d models.Domain, before string) string {
	valid, required := 0, 0
	for _, r := range d.Records {
		if r.Required {
			required++
			if r.Status == models.RecordValid {
				valid++
			}
		}
	}
	switch {
	case d.Status == models.DomainVerified && before != models.DomainVerified:
		return d.Name + " is verified: inboxes can be created on it."
	case d.Status == models.DomainVerified:
		return d.Name + " is still verified."
	}
	return fmt.Sprintf("%s is %s: %d of %d required records valid.", d.Name, d.Status, valid, required)
}

func (s *Domain) copied(err error) tea.Cmd {
	switch {
	case err != nil && s.zoneErr != nil:
		return common.FlashError("Could not copy (" + err.Error() + ") or save the zone (" + s.zoneErr.Error() + ").")
	case err != nil:
		return common.FlashError("Saved the zone to " + s.zonePath + "; could not copy it: " + err.Error() + ".")
	case s.zoneErr != nil:
		return common.FlashError("Copied the zone (OSC 52); could not save it: " + s.zoneErr.Error() + ".")
	}
	return common.Flash("Copied the zone (OSC 52) and saved it as a file (path above).")
}

func (s *Domain) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := s.c.Keys
	switch {
	case key.Matches(msg, k.Verify):
		if !s.req.Pending("verify") {
			return s.check()
		}
	case key.Matches(msg, k.CopyZone):
		return s.copyZone()
	case key.Matches(msg, k.Refresh):
		return s.load()
	case key.Matches(msg, k.Delete):
		s.ask(confirmDeleteDomain(s.c, s.d), func() tea.Cmd { return deleteDomain(s.c, &s.req, s.d) })
		s.confirm.SetWidth(s.w)
	default:
		s.table.Update(msg)
		s.sizeTable() // / opens the filter line
	}
	return nil
}

func (s *Domain) setDomain(d models.Domain) {
	s.d = d
	st := s.c.Styles
	rows := make([][]string, len(d.Records))
	for i, r := range d.Records {
		rows[i] = []string{r.Purpose, r.Type, r.Name, recordStatus(st, r)}
	}
	s.table.SetRows(rows)
	s.sizeTable()
}

func (s *Domain) View() string {
	st := s.c.Styles
	var b strings.Builder
	b.WriteString(st.Title.Render(s.d.Name) + "  " + domainStatus(st, s.d.Status) + "\n")
	about := useLong(s.d.DomainUse) + " · DMARC " + s.d.DMARCPolicy
	if s.d.LastCheckedAt != nil {
		about += " · checked " + localTime(*s.d.LastCheckedAt, stampLong)
	}
	b.WriteString(st.Muted.Render(about) + "\n")
	if s.d.Sandbox {
		b.WriteString("\n" + sandboxNote(st, s.d) + "\n")
		return b.String()
	}
	switch {
	case s.zonePath != "" && s.zoneErr == nil:
		b.WriteString(st.Muted.Render("Zone file: ") + st.Value.Render(s.zonePath) + "\n")
	case s.d.LastCheckedAt == nil:
		b.WriteString(st.Hint.Render("Publish these records (c copies them as a zone file), then press v to check.") + "\n")
	}
	b.WriteString("\n" + s.table.View() + "\n\n")
	if s.confirm != nil {
		b.WriteString(s.confirm.View())
	} else {
		b.WriteString(s.recordView(s.h - lines(b.String()) + 1))
	}
	return b.String()
}

// recordView shows the selected record in room lines: the value to
// publish (a long one, DKIM's key, uses the lines left), what the last
// check found, and why it is not valid.
func (s *Domain) recordView(room int) string {
	if len(s.d.Records) == 0 {
		return ""
	}
	st := s.c.Styles
	r := s.d.Records[s.table.Cursor()]
	need := "optional"
	switch {
	case r.Required:
		need = "required"
	case r.Purpose == models.PurposeMX:
		need = "required to receive mail"
	}
	head := fmt.Sprintf("%s · %s %s · %s", r.Purpose, r.Type, r.Name, need)
	if r.Type == "MX" {
		head += fmt.Sprintf(" · priority %d", r.Priority)
	}
	out := []string{st.Label.Render(head)}
	width := s.w - 12
	label := func(l string) string { return "  " + st.Label.Render(fmt.Sprintf("%-8s", l)) + "  " }
	pad := strings.Repeat(" ", 12)
	found := []string{st.Muted.Render("nothing")}
	if r.LookupError != "" {
		found = []string{st.Muted.Render("unknown: the lookup failed (" + r.LookupError + ")")}
	} else if s.d.LastCheckedAt == nil {
		found = nil // the detail says it was not checked yet
	} else if len(r.Found) > 0 {
		found = nil
		for _, f := range r.Found {
			for _, l := range wrap(f, width, 2) {
				found = append(found, st.Value.Render(l))
			}
		}
	}
	var detail []string
	if r.Detail != "" {
		sym, style := styles.Pending, st.Warning
		if r.Status == models.RecordInvalid {
			sym, style = styles.Fail, st.Error
		}
		for i, l := range wrap(r.Detail, s.w-4, 2) {
			detail = append(detail, "  "+style.Render(ifElse(i == 0, sym+" ", "  ")+l))
		}
	}
	for i, l := range wrap(r.Value, width, max(3, room-1-len(found)-len(detail))) {
		out = append(out, ifElse(i == 0, label("Publish"), pad)+st.Value.Render(l))
	}
	for i, l := range found {
		out = append(out, ifElse(i == 0, label("Found"), pad)+l)
	}
	return strings.Join(append(out, detail...), "\n")
}

func ifElse(c bool, a, b string) string {
	if c {
		return a
	}
	return b
}
