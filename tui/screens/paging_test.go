package screens

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/common"
)

func deliveries(from, n int) []models.QueuedDelivery {
	var out []models.QueuedDelivery
	for i := from; i < from+n; i++ {
		out = append(out, models.QueuedDelivery{ID: fmt.Sprintf("dlv_%03d", i), Recipient: fmt.Sprintf("r%03d@example.net", i),
			Domain: "example.net", Status: models.QueuedStatusQueued})
	}
	return out
}

func helpText(bs []key.Binding) string {
	var out []string
	for _, b := range bs {
		out = append(out, b.Help().Key+" "+b.Help().Desc)
	}
	return strings.Join(out, " • ")
}

// The queue pages with the API's cursors: n sends the next_cursor of the
// page shown, N the cursor of the page before (p is the pauses); neither
// runs past an end or while a page loads. A reload keeps the page, another
// status starts again at page 1, and a page emptied meanwhile gives way to
// the one before.
func TestQueuePaging(t *testing.T) {
	c := newCommon(t, models.RoleAdmin)
	s := NewQueue(c)
	s.SetSize(80, 20)
	id := 0
	load := func() int { id++; return id }
	key := func(k string) tea.Cmd {
		_, cmd := s.Update(runes(k))
		return cmd
	}
	page := func(n int, q queueData) tea.Cmd {
		_, cmd := s.Update(common.ResultMsg[queueData]{ID: n, Value: q})
		return cmd
	}
	s.Init()
	first := load()
	if key("n") != nil {
		t.Fatal("n while the first page loads")
	}
	page(first, queueData{Deliveries: deliveries(0, queuePage), Next: "dlv_049"})
	if v := s.View(); !strings.Contains(v, "page 1 · 50 deliveries, newest first · older: n · 0 domains paused (p)") {
		t.Fatalf("page 1:\n%s", v)
	}
	if h := helpText(s.ShortHelp()); !strings.Contains(h, "n/N older/newer") {
		t.Fatalf("help while paged: %s", h)
	}
	if key("N") != nil {
		t.Fatal("N on the first page")
	}
	s.Update(tea.KeyMsg{Type: tea.KeyEnd}) // the last row: the next page starts at its top
	if key("n") == nil || s.pg.cursor() != "dlv_049" {
		t.Fatalf("n did not load the next page: page %d cursors %q", s.pg.page, s.pg.cursors)
	}
	second := load()
	if key("n") != nil {
		t.Fatal("n while the next page loads")
	}
	page(second, queueData{Deliveries: deliveries(50, 3)})
	v := s.View()
	if !strings.Contains(v, "page 2 · 3 deliveries, newest first · newer: N") || strings.Contains(v, "older: n") ||
		!strings.Contains(v, "› r050@example.net") {
		t.Fatalf("page 2:\n%s", v)
	}
	if key("n") != nil {
		t.Fatal("n on the last page")
	}

	// r reloads page 2 with its own cursor.
	if key("r") == nil || s.pg.cursor() != "dlv_049" {
		t.Fatalf("r left page 2: cursor %q", s.pg.cursor())
	}
	// Meanwhile its deliveries were cancelled: page 1 is loaded again.
	if cmd := page(load(), queueData{}); cmd == nil || s.pg.page != 0 || s.pg.cursor() != "" {
		t.Fatalf("an emptied page 2 stays: page %d", s.pg.page)
	}
	page(load(), queueData{Deliveries: deliveries(0, queuePage), Next: "dlv_049"})
	if !strings.Contains(s.View(), "page 1 · 50 deliveries") {
		t.Fatalf("back on page 1:\n%s", s.View())
	}

	// N goes back from page 2; s starts the next status at page 1.
	key("n")
	page(load(), queueData{Deliveries: deliveries(50, 3)})
	if key("N") == nil || s.pg.page != 0 || s.pg.cursor() != "" {
		t.Fatalf("N did not go back: page %d", s.pg.page)
	}
	page(load(), queueData{Deliveries: deliveries(0, queuePage), Next: "dlv_049"})
	key("n")
	page(load(), queueData{Deliveries: deliveries(50, 3)})
	if key("s") == nil || s.pg.page != 0 || s.pg.cursor() != "" || s.status != models.QueuedStatusQueued {
		t.Fatalf("s kept the page: page %d status %q", s.pg.page, s.status)
	}
	page(load(), queueData{Status: models.QueuedStatusQueued, Deliveries: deliveries(0, 2)})
	v = s.View()
	if !strings.Contains(v, "2 deliveries · newest first · 0 domains paused (p)") || strings.Contains(v, "page ") {
		t.Fatalf("one page:\n%s", v)
	}
	if h := helpText(s.ShortHelp()); strings.Contains(h, "older/newer") {
		t.Fatalf("paging keys offered without pages: %s", h)
	}

	// In the pauses view n and N do nothing.
	key("p")
	if key("n") != nil || key("N") != nil {
		t.Fatal("n or N paged the pauses view")
	}
}

func quarantinedPage(from, n int) []models.QuarantinedMessage {
	var out []models.QuarantinedMessage
	for i := from; i < from+n; i++ {
		m := quarantinedMsg()
		m.ID, m.Subject = fmt.Sprintf("msg_%03d", i), fmt.Sprintf("Message %03d", i)
		out = append(out, m)
	}
	return out
}

// The quarantine pages as the audit log does: n older, p newer.
func TestQuarantinePaging(t *testing.T) {
	c := newCommon(t, models.RoleReviewer)
	s := NewQuarantine(c)
	s.SetSize(80, 20)
	id := 0
	load := func() int { id++; return id }
	key := func(k string) tea.Cmd {
		_, cmd := s.Update(runes(k))
		return cmd
	}
	page := func(n int, q quarantined) tea.Cmd {
		_, cmd := s.Update(common.ResultMsg[quarantined]{ID: n, Value: q})
		return cmd
	}
	s.Init()
	page(load(), quarantined{Messages: quarantinedPage(0, quarantinePage), Next: "msg_049"})
	if v := s.View(); !strings.Contains(v, "Page 1: 50 messages held back · newest first · older: n") {
		t.Fatalf("page 1:\n%s", v)
	}
	if h := helpText(s.ShortHelp()); !strings.Contains(h, "n/p older/newer") {
		t.Fatalf("help while paged: %s", h)
	}
	if key("p") != nil {
		t.Fatal("p on the first page")
	}
	if key("n") == nil || s.pg.cursor() != "msg_049" {
		t.Fatalf("n did not load the next page: cursors %q", s.pg.cursors)
	}
	if key("n") != nil {
		t.Fatal("n while the next page loads")
	}
	page(load(), quarantined{Messages: quarantinedPage(50, 1)})
	v := s.View()
	if !strings.Contains(v, "Page 2: 1 message held back · newest first · newer: p") || !strings.Contains(v, "Message 050") ||
		strings.Contains(v, "Message 049") {
		t.Fatalf("page 2:\n%s", v)
	}
	if key("n") != nil {
		t.Fatal("n on the last page")
	}
	// The last one released meanwhile: page 1 again.
	if key("r") == nil || s.pg.cursor() != "msg_049" {
		t.Fatalf("r left page 2: cursor %q", s.pg.cursor())
	}
	if cmd := page(load(), quarantined{}); cmd == nil || s.pg.page != 0 {
		t.Fatalf("an emptied page 2 stays: page %d", s.pg.page)
	}
	page(load(), quarantined{Messages: quarantinedPage(0, 2)})
	if v := s.View(); !strings.Contains(v, "2 messages held back from the agents · newest first · enter shows one") {
		t.Fatalf("one page:\n%s", v)
	}
}
