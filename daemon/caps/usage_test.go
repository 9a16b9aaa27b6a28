package caps_test

import (
	"context"
	"math"
	"net/url"
	"sync"
	"testing"
	"time"

	"gent/daemon/config"
	"gent/daemon/server/servertest"
	"gent/models"
)

// clock is a settable time for the caps service.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// gbh converts byte-seconds to GB-hours.
func gbh(byteSeconds float64) float64 { return byteSeconds / 3600 / models.BytesPerGB }

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

func (h *harness) sample(t time.Time) int {
	h.t.Helper()
	n, err := h.env.Caps.Sample(context.Background(), t)
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

func (h *harness) report(query string) models.UsageReport {
	h.t.Helper()
	var r models.UsageReport
	h.env.MustStatus(200, "GET", "/v1/billing/usage/?"+query, h.org.Owner, nil).JSON(h.t, &r)
	return r
}

func usageOf(r models.UsageReport, inboxID string) *models.InboxUsage {
	for i := range r.Data {
		if r.Data[i].InboxID == inboxID {
			return &r.Data[i]
		}
	}
	return nil
}

// allow_and_bill: the sampler charges each interval at the values of the
// sample that opened it, split into hourly records; a cap change closes
// the running interval at the old terms; repeated samples count nothing
// twice.
func TestOverageAccounting(t *testing.T) {
	h := newHarness(t)
	c := &clock{t: at("2025-01-15T10:30:00Z")}
	h.env.Caps.SetClock(c.now)
	enforced := h.env.Inbox(h.org, "enforced@mail.example.com")
	h.mustStore(enforced, message(3000, "over an enforce cap"))

	h.setCap(h.inbox, 1000, models.CapAllowAndBill) // samples the inbox at 10:30 (0 bytes)
	h.setCap(enforced, 1000, models.CapEnforce)     // 3000 bytes, over the limit but not billed
	h.mustStore(h.inbox, message(1500, "a"))        // 1500: 500 over
	if n := h.sample(at("2025-01-15T11:00:00Z")); n != 2 {
		t.Fatalf("sampled %d inboxes, want both", n)
	}
	h.sample(at("2025-01-15T11:45:00Z"))
	h.mustStore(h.inbox, message(1500, "b")) // 3000: 2000 over
	h.sample(at("2025-01-15T12:30:00Z"))
	// The same sample again, or an older one, adds nothing.
	if n := h.sample(at("2025-01-15T12:30:00Z")) + h.sample(at("2025-01-15T12:15:00Z")); n != 0 {
		t.Fatalf("a repeated sample counted %d inboxes", n)
	}
	c.set(at("2025-01-15T12:40:00Z"))
	h.setCap(h.inbox, 5000, models.CapAllowAndBill) // closes 12:30–12:40 at 2000 over; no overage after
	h.sample(at("2025-01-15T13:10:00Z"))

	r := h.report("from=2025-01-15T10:00:00Z&to=2025-01-15T14:00:00Z")
	u := usageOf(r, h.inbox.ID)
	if u == nil || len(u.Hours) != 4 {
		t.Fatalf("report %+v", r)
	}
	want := []struct {
		hour                      string
		bytes, over, covered      float64
		maxUsed, maxOver, samples int64
		limit                     int64
	}{
		// 10:30–11:00 at 0 bytes (the first sample opened the record).
		{"2025-01-15T10:00:00Z", 0, 0, 1800, 0, 0, 1, 1000}, // the cap set at 10:30 is the hour's last
		// 11:00–12:00 at 1500 (500 over).
		{"2025-01-15T11:00:00Z", 1500 * 3600, 500 * 3600, 3600, 1500, 500, 2, 1000},
		// 12:00–12:30 at 1500/500, 12:30–12:40 at 3000/2000, 12:40–13:00 at 3000/0.
		{"2025-01-15T12:00:00Z", 1500*1800 + 3000*600 + 3000*1200, 500*1800 + 2000*600, 3600, 3000, 2000, 2, 5000},
		// 13:00–13:10 at 3000/0.
		{"2025-01-15T13:00:00Z", 3000 * 600, 0, 600, 3000, 0, 1, 5000},
	}
	var totalBytes, totalOver float64
	for i, w := range want {
		g := u.Hours[i]
		if !g.Hour.Equal(at(w.hour)) || !near(g.UsageGBHours, gbh(w.bytes)) || !near(g.OverageGBHours, gbh(w.over)) ||
			g.CoveredSeconds != w.covered || g.MaxUsedBytes != w.maxUsed || g.MaxOverageBytes != w.maxOver ||
			int64(g.Samples) != w.samples || g.LimitBytes == nil || *g.LimitBytes != w.limit || g.Mode != models.CapAllowAndBill {
			t.Errorf("hour %s: got %+v, want %+v", w.hour, g, w)
		}
		totalBytes += w.bytes
		totalOver += w.over
	}
	if !near(u.UsageGBHours, gbh(totalBytes)) || !near(u.OverageGBHours, gbh(totalOver)) || u.PeakBytes != 3000 ||
		u.Address != "agent@mail.example.com" {
		t.Fatalf("sums %+v, want %g / %g GB-h", u, gbh(totalBytes), gbh(totalOver))
	}
	// An enforce inbox over its (lowered) limit is not billed overage.
	if e := usageOf(r, enforced.ID); e == nil || e.OverageGBHours != 0 || !near(e.UsageGBHours, gbh(3000*9600) /* 10:30–13:10 */) {
		t.Fatalf("enforced inbox %+v", e)
	}
	// The cap view shows this month's overage.
	if v := h.view(h.inbox); !near(v.Overage.MonthGBHours, gbh(totalOver)) || !v.Overage.MonthStart.Equal(at("2025-01-01T00:00:00Z")) {
		t.Fatalf("view overage %+v", v.Overage)
	}

	// Ranges select whole hours: from is rounded down, to is exclusive.
	r = h.report("from=2025-01-15T11:15:00Z&to=2025-01-15T13:00:00Z")
	if u := usageOf(r, h.inbox.ID); u == nil || len(u.Hours) != 2 || !u.Hours[0].Hour.Equal(at("2025-01-15T11:00:00Z")) {
		t.Fatalf("11:15–13:00: %+v", r)
	}
	// An offset with an unencoded "+" (a space) reads as "+".
	r = h.report("from=2025-01-15T12:15:00+01:00&to=2025-01-15T13:00:00%2B01:00&inbox_id=" + h.inbox.ID)
	if len(r.Data) != 1 || len(r.Data[0].Hours) != 1 || !r.Data[0].Hours[0].Hour.Equal(at("2025-01-15T11:00:00Z")) {
		t.Fatalf("11:15Z–12:00Z by offset: %+v", r)
	}
	// Default: the last 24 hours by the service clock.
	c.set(at("2025-01-16T11:30:00Z"))
	r = h.report("")
	if !r.From.Equal(at("2025-01-15T11:30:00Z")) || !r.To.Equal(at("2025-01-16T11:30:00Z")) {
		t.Fatalf("default range %s – %s", r.From, r.To)
	}
	if u := usageOf(r, h.inbox.ID); u == nil || len(u.Hours) != 3 {
		t.Fatalf("default range: %+v", r)
	}
	// Pages by inbox.
	r = h.report("from=2025-01-15T10:00:00Z&to=2025-01-15T14:00:00Z&limit=1")
	if len(r.Data) != 1 || r.NextCursor == "" {
		t.Fatalf("page 1 %+v", r)
	}
	r2 := h.report("from=2025-01-15T10:00:00Z&to=2025-01-15T14:00:00Z&limit=1&cursor=" + r.NextCursor)
	if len(r2.Data) != 1 || r2.Data[0].InboxID == r.Data[0].InboxID || r2.NextCursor != "" {
		t.Fatalf("page 2 %+v", r2)
	}
	// Records outlive a deleted inbox; another organization sees none.
	h.env.MustStatus(204, "DELETE", "/v1/inboxes/"+enforced.ID, h.org.Owner, nil)
	r = h.report("from=2025-01-15T10:00:00Z&to=2025-01-15T14:00:00Z")
	if len(r.Data) != 2 {
		t.Fatalf("after deleting an inbox: %+v", r)
	}
	other := h.env.OtherOrg("Other")
	var o models.UsageReport
	h.env.MustStatus(200, "GET", "/v1/billing/usage/?from=2025-01-15T10:00:00Z&to=2025-01-15T14:00:00Z", other.Owner, nil).JSON(t, &o)
	if len(o.Data) != 0 {
		t.Fatalf("another organization sees %+v", o)
	}
}

func TestUsageReportValidation(t *testing.T) {
	h := newHarness(t)
	for _, c := range []struct{ query, field string }{
		{"from=yesterday", "from"},
		{"to=2025-13-01T00:00:00Z", "to"},
		{"from=2025-01-15T10:00:00Z&to=2025-01-15T10:00:00Z", "from"},
		{"from=2025-01-16T10:00:00Z&to=2025-01-15T10:00:00Z", "from"},
		{"from=2025-01-01T00:00:00Z&to=2025-02-01T00:00:01Z", "to"},
		{"limit=500", "limit"},
		{"cursor=x", "cursor"},
		// Go's time.Parse takes these; RFC 3339 does not.
		{"to=2025-01-15T10:00:00,5Z", "to"},
		{"to=" + url.QueryEscape("2025-01-15T10:00:00+24:00"), "to"},
		{"from=" + url.QueryEscape("2025-01-15T10:00:00+01:60"), "from"},
		{"from=2025-01-15T10:00Z", "from"},
		{"from=2025-01-15", "from"},
	} {
		r := h.env.Do("GET", "/v1/billing/usage/?"+c.query, h.org.Owner, nil)
		var e models.ErrorBody
		r.JSON(t, &e)
		if r.Status != 422 || e.Error.Field != c.field {
			t.Errorf("%s: want 422 naming %s, got %d %s", c.query, c.field, r.Status, r.Body)
		}
	}
	// An offset, percent-encoded or with its "+" left raw (read as a
	// space), and a fraction are RFC 3339.
	h.env.MustStatus(200, "GET", "/v1/billing/usage/?from="+url.QueryEscape("2025-01-15T10:00:00.25+01:00")+"&to=2025-01-15T12:00:00-02:30", h.org.Owner, nil)
	h.env.MustStatus(200, "GET", "/v1/billing/usage/?from=2025-01-15T10:00:00+01:00&to=2025-01-15T12:00:00Z", h.org.Owner, nil)
	// 31 days is the longest range.
	h.env.MustStatus(200, "GET", "/v1/billing/usage/?from="+url.QueryEscape("2025-01-01T00:00:00Z")+"&to=2025-02-01T00:00:00Z", h.org.Owner, nil)
	h.env.MustStatus(403, "GET", "/v1/billing/usage/", h.env.User(h.org, models.RoleReviewer), nil)
}

// The sampler runs as a River periodic job.
func TestSamplerJob(t *testing.T) {
	env := servertest.New(t, func(c *config.Config) { c.Caps.SampleInterval = config.Duration(10 * time.Second) })
	org := env.Setup()
	env.VerifiedDomain(org, "mail.example.com")
	in := env.Inbox(org, "agent@mail.example.com")
	env.StartJobs()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var n int64
		env.Store.DB.Raw(`SELECT count(*) FROM usage_samples WHERE inbox_id = ?`, in.ID).Scan(&n)
		if n == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the periodic sampler did not run")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
