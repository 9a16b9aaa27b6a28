package screens

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
	"gent/tui/components/form"
)

// CapEdit sets or changes an inbox's storage cap: the limit in GB, the
// mode, and the alert thresholds. The daemon judges the values and names
// the field it refuses; the error shows under that field.
type CapEdit struct {
	formScreen
	it models.MailboxCap
}

// NewCapEdit builds the form for it, filled with its cap (or the
// defaults for an inbox without one).
func NewCapEdit(c *common.Common, it models.MailboxCap) *CapEdit {
	limit, mode, thresholds := "", 0, joinInts(models.DefaultAlertThresholds)
	if it.Cap != nil {
		limit = strconv.FormatFloat(it.Cap.LimitGB, 'f', -1, 64)
		thresholds = joinInts(it.Cap.AlertThresholds)
		if it.Cap.Mode == models.CapAllowAndBill {
			mode = 1
		}
	}
	f := form.New(c,
		form.Text("limit_gb", "Limit (GB)").WithLimit(20).WithValue(limit).
			WithHint("decimal GB: 1 GB = 10^9 bytes; e.g. 10 or 0.5"),
		form.Select("mode", "Mode", []form.Choice{
			{Value: models.CapEnforce, Label: "enforce", Help: "At the limit new mail is refused (SMTP 452/552, API 409)."},
			{Value: models.CapAllowAndBill, Label: "allow and bill", Help: "Mail keeps coming; storage above the limit is billed as overage."},
		}, mode),
		form.Text("alert_thresholds", "Alerts at (%)").WithLimit(60).WithValue(thresholds).
			WithHint("whole percentages, comma-separated; empty: no alerts"),
	)
	return &CapEdit{formScreen: formScreen{c: c, call: "set", cancel: true, form: f, w: 80}, it: it}
}

func (s *CapEdit) Title() string {
	if s.it.Cap == nil {
		return "Set cap"
	}
	return "Edit cap"
}

func (s *CapEdit) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if msg, ok := msg.(common.ResultMsg[*models.MailboxCap]); ok {
		if _, ok := s.req.Done(msg.ID); ok {
			v := msg.Value
			return s, tea.Batch(common.Pop, changed(kindCaps, v.InboxID), common.Flash("Cap saved: "+capSummary(v.Cap)+"."))
		}
		return s, nil
	}
	return s, s.updateForm(msg, s.submit)
}

// submit sends the cap. What is not a number at all cannot be sent as
// one, so it is refused here, under its field; the daemon judges the rest.
func (s *CapEdit) submit() tea.Cmd {
	raw := strings.TrimSpace(s.form.Value("limit_gb"))
	var limit *float64
	if raw != "" {
		v, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return s.form.SetError(models.Invalid("limit_gb", "%q is not a number of GB: give e.g. 10 or 0.5", raw))
		}
		limit = &v
	}
	thresholds, err := parseThresholds(s.form.Value("alert_thresholds"))
	if err != nil {
		return s.form.SetError(err)
	}
	req := models.SetCapRequest{InboxID: s.it.InboxID, LimitGB: limit, Mode: s.form.Value("mode"), AlertThresholds: thresholds}
	return common.Start(s.c, &s.req, s.call, "Saving the cap of "+s.it.Address+"…", func(ctx context.Context, cl *client.Client) (*models.MailboxCap, error) {
		return cl.SetMailboxCap(ctx, req)
	})
}

// parseThresholds reads "80, 95" (commas or spaces); empty is no alerts.
func parseThresholds(s string) ([]int, error) {
	out := []int{}
	for i, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == ';' }) {
		n, err := strconv.Atoi(strings.TrimSuffix(p, "%"))
		if err != nil {
			return nil, models.Invalid(fmt.Sprintf("alert_thresholds[%d]", i), "%q is not a whole percentage: give e.g. 80, 95", p)
		}
		out = append(out, n)
	}
	return out, nil
}

func joinInts(ns []int) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ", ")
}

// capSummary is a cap in a few words.
func capSummary(c *models.Cap) string {
	if c == nil {
		return "no cap"
	}
	alerts := "no alerts"
	if len(c.AlertThresholds) > 0 {
		alerts = "alerts at " + strings.ReplaceAll(joinInts(c.AlertThresholds), ",", "%,") + "%"
	}
	return capLimit(c) + ", " + modeName(c.Mode) + ", " + alerts
}

func (s *CapEdit) View() string {
	v := fitWidth(s.view(), s.w)
	if s.h > 0 {
		v = cutLines(v, s.h)
	}
	return v
}

func (s *CapEdit) view() string {
	st := s.c.Styles
	about := fmt.Sprintf("Uses %s in %s now.", humanBytes(s.it.UsedBytes), plural(int(s.it.MessageCount), "message"))
	if s.it.Cap != nil {
		about += " Current cap: " + capSummary(s.it.Cap) + "."
	}
	head := st.Title.Render("Storage cap of "+s.it.Address) + "\n" + st.Muted.Render(strings.Join(wrap(about, s.w, 2), "\n"))
	return head + "\n\n" + s.form.View() + "\n\n" + st.Muted.Render(
		"Thresholds the usage already reaches fire at once when saved.")
}
