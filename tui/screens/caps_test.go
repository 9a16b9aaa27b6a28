package screens

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"gent/models"
	"gent/tui/common"
)

func capped(used int64, limitGB float64, mode string, alerts ...models.CapAlert) models.MailboxCap {
	limit := int64(limitGB * models.BytesPerGB)
	pct := float64(used) / float64(limit) * 100
	return models.MailboxCap{InboxID: "inb_1", Address: "support@example.com", UsedBytes: used, Percent: &pct,
		Cap: &models.Cap{LimitGB: limitGB, LimitBytes: limit, Mode: mode}, Alerts: alerts}
}

func TestCapBar(t *testing.T) {
	st := newCommon(t, models.RoleAdmin).Styles
	now := time.Now()
	cases := []struct {
		name string
		it   models.MailboxCap
		want string
	}{
		{"empty", capped(0, 10, models.CapEnforce), "[░░░░░░░░░░] "},
		{"half, armed marks", capped(5e9, 10, models.CapEnforce,
			models.CapAlert{Threshold: 80, State: models.AlertArmed}, models.CapAlert{Threshold: 95, State: models.AlertArmed}),
			"[█████░░░||] "},
		{"fired mark", capped(85e8, 10, models.CapEnforce,
			models.CapAlert{Threshold: 80, State: models.AlertFired, FiredAt: &now}, models.CapAlert{Threshold: 95, State: models.AlertArmed}),
			"[████████!|] "},
		{"over the limit", capped(12e9, 10, models.CapAllowAndBill, models.CapAlert{Threshold: 100, State: models.AlertFired, FiredAt: &now}),
			"[█████████!]+"},
	}
	for _, c := range cases {
		if got := capBar(st, c.it, 10); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestParseThresholds(t *testing.T) {
	got, err := parseThresholds(" 80, 95%;99 ")
	if err != nil || len(got) != 3 || got[0] != 80 || got[1] != 95 || got[2] != 99 {
		t.Fatalf("%v %v", got, err)
	}
	if got, err := parseThresholds(""); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("empty: %v %v (want [] for no alerts)", got, err)
	}
	if _, err := parseThresholds("80, lots"); common.Field(err) != "alert_thresholds[1]" {
		t.Fatalf("bad entry: %v", err)
	}
}

func TestHumanBytesUnits(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 42_170: "41.2 KiB", 8_125_000_000: "7.6 GiB", 10e9: "9.3 GiB", 1.5e12: "1.4 TiB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// The caps screen and its form show sizes as the dashboard and the
// inboxes do (binary units), and a limit in those units with the GB it
// was set in (issue 22: 41.2 KiB on the dashboard, 42.17 kB here, limits
// as 0.00005 GB).
func TestCapsSizesAgree(t *testing.T) {
	c := newCommon(t, models.RoleAdmin)
	s := NewCaps(c)
	s.SetSize(80, 20)
	s.Init()
	small := capped(42_170, 0.00005, models.CapEnforce)
	open := models.MailboxCap{InboxID: "inb_2", Address: "sales@example.com", UsedBytes: 42_170, MessageCount: 3}
	s.Update(common.ResultMsg[[]models.MailboxCap]{ID: 1, Value: []models.MailboxCap{small, open}})
	v := s.View()
	for _, want := range []string{"41.2 KiB of 48.8 KiB (0.00005 GB)", "41.2 KiB in 3 messages"} {
		if !strings.Contains(v, want) {
			t.Fatalf("no %q:\n%s", want, v)
		}
	}
	if strings.Contains(v, "kB") {
		t.Fatalf("decimal units:\n%s", v)
	}
	e := NewCapEdit(c, small)
	e.SetSize(80, 20)
	e.Init()
	if v := e.View(); !strings.Contains(v, "Uses 41.2 KiB") || !strings.Contains(v, "Current cap: 48.8 KiB (0.00005 GB)") {
		t.Fatalf("cap form:\n%s", v)
	}
}

func TestCapsKeys(t *testing.T) {
	c := newCommon(t, models.RoleAdmin)
	s := NewCaps(c)
	s.SetSize(80, 20)
	s.Init()
	open := models.MailboxCap{InboxID: "inb_2", Address: "sales@example.com", UsedBytes: 10}
	s.Update(common.ResultMsg[[]models.MailboxCap]{ID: 1, Value: []models.MailboxCap{capped(5e9, 10, models.CapEnforce), open}})
	v := s.View()
	if !strings.Contains(v, "2 inboxes · 1 capped") || !strings.Contains(v, "4.7 GiB of 9.3 GiB (10 GB) · 50%") || !strings.Contains(v, "no cap") {
		t.Fatalf("caps:\n%s", v)
	}
	// d asks before removing; n keeps it.
	s.Update(runes("d"))
	if !s.Typing() || !strings.Contains(s.View(), "Remove the cap of support@example.com?") {
		t.Fatalf("d did not ask:\n%s", s.View())
	}
	if _, cmd := s.Update(runes("n")); cmd != nil || s.confirm != nil {
		t.Fatal("n did something")
	}
	// An inbox without a cap has none to remove; e sets one.
	s.Update(runes("j"))
	_, cmd := s.Update(runes("d"))
	if f, ok := cmd().(common.FlashMsg); !ok || !f.Error || s.confirm != nil {
		t.Fatalf("d on an inbox without a cap: %#v", cmd())
	}
	_, cmd = s.Update(runes("e"))
	push, ok := cmd().(common.PushMsg)
	if !ok || push.Screen.Title() != "Set cap" {
		t.Fatalf("e: %#v", cmd())
	}
	// A limit that is not a number is refused in the form, under its
	// field, without a call.
	edit := push.Screen.(*CapEdit)
	edit.Init()
	edit.form.Field("limit_gb").WithValue("ten")
	edit.form.Focus("alert_thresholds")
	edit.Update(tea.KeyMsg{Type: tea.KeyEnter})
	if edit.req.Pending("set") || !strings.Contains(edit.View(), `✗ "ten" is not a number of GB`) || edit.form.Focused() != "limit_gb" {
		t.Fatalf("not a number:\n%s", edit.View())
	}
}

// The new screens draw within the area they are given, with data, at the
// sizes the TUI supports.
func TestApprovalsAndCapsViewsFit(t *testing.T) {
	now := time.Now()
	detail := &models.ApprovalDetail{Approval: heldSend("apr_1", "A subject that is rather long, as subjects of real mail tend to be"),
		Message: models.HeldMessage{From: models.Address{Address: "support@mail.example.com"},
			To:      []models.Address{{Name: "Ann", Address: "ann@example.net"}, {Address: "someone.with.a.long.address@example.org"}},
			Subject: "A subject", Text: strings.Repeat("A long line of text that goes on. ", 20) + "\n\nBye",
			HTML: "<p>" + strings.Repeat("word ", 200) + "</p>", Attachments: []models.HeldAttachment{{Filename: "a.pdf", ContentType: "application/pdf", Size: 123456}}}}
	for _, size := range [][2]int{{80, 20}, {120, 36}, {60, 12}} {
		w, h := size[0], size[1]
		c := newCommon(t, models.RoleAdmin)
		q := NewApprovals(c)
		q.SetSize(w, h)
		q.Init()
		q.Update(common.ResultMsg[approvalList]{ID: 1, Value: approvalList{Status: models.ApprovalPending,
			Items: []models.Approval{heldSend("apr_1", detail.Subject), heldSend("apr_2", "Two")}}})
		d := NewApproval(c, detail.Approval)
		d.SetSize(w, h)
		d.Init()
		d.Update(common.ResultMsg[*models.ApprovalDetail]{ID: 2, Value: detail})
		caps := NewCaps(c)
		caps.SetSize(w, h)
		caps.Init()
		caps.Update(common.ResultMsg[[]models.MailboxCap]{ID: 3, Value: []models.MailboxCap{
			capped(12e9, 10, models.CapAllowAndBill, models.CapAlert{Threshold: 80, State: models.AlertFired, FiredAt: &now},
				models.CapAlert{Threshold: 95, State: models.AlertFired, FiredAt: &now}),
			capped(1, 0.5, models.CapEnforce), capped(2, 1, models.CapEnforce), capped(3, 2, models.CapEnforce)}})
		edit := NewCapEdit(c, capped(5e9, 10, models.CapEnforce))
		edit.SetSize(w, h)
		screens := map[string]func() string{"queue": q.View, "detail": d.View, "caps": caps.View, "cap edit": edit.View}
		check := func(name string) {
			v := screens[name]()
			lines := strings.Split(v, "\n")
			if len(lines) > h {
				t.Fatalf("%v %s: %d lines:\n%s", size, name, len(lines), v)
			}
			for _, l := range lines {
				if lw := ansi.StringWidth(l); lw > w {
					t.Fatalf("%v %s: line %q is %d wide", size, name, l, lw)
				}
			}
		}
		for name := range screens {
			check(name)
		}
		q.Update(runes("r"))
		check("queue")
		d.Update(runes("G"))
		check("detail")
		caps.Update(runes("G"))
		caps.Update(runes("d"))
		check("caps")
	}
}

// At 80 columns the mode's explanation is shown whole, wrapped under the
// field (issue 22: "…billed as overa…").
func TestCapEditModeHelpNotCut(t *testing.T) {
	e := NewCapEdit(newCommon(t, models.RoleAdmin), capped(5e9, 10, models.CapEnforce))
	e.SetSize(80, 22)
	e.Init()
	e.Update(tea.KeyMsg{Type: tea.KeyTab})
	e.Update(tea.KeyMsg{Type: tea.KeyRight}) // allow and bill
	v := e.View()
	if strings.Contains(v, "…") {
		t.Fatalf("cut:\n%s", v)
	}
}

// The dashboard's caps line fits 80 columns, counts in the hundreds
// included (issue 22: it was cut).
func TestDashboardCapsLineFits(t *testing.T) {
	d := NewDashboard(newCommon(t, models.RoleAdmin))
	d.SetSize(80, 24)
	d.counts["Caps"] = count{N: 120, Detail: capsDetail(120, 15, 300, 450), Alert: true}
	for _, l := range strings.Split(d.View(), "\n") {
		if strings.Contains(l, "[c]") {
			if w := ansi.StringWidth(l); w > 80 || !strings.HasSuffix(l, "300 of 450 capped") {
				t.Fatalf("caps line %q is %d wide", l, w)
			}
			return
		}
	}
	t.Fatalf("no caps line:\n%s", d.View())
}
