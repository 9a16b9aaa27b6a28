package screens

import (
	"strconv"
	"strings"
	"time"

	"gent/models"
)

// parseExpiry reads the token wizard's expiry: empty for never, a number
// of days ("30d"), a Go duration ("12h", "90m"), a date ("2026-12-31":
// the token works until the end of that day, local time) or an RFC 3339
// time. It must be in the future.
func parseExpiry(s string, now time.Time) (*time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var t time.Time
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 || n > 36500 {
			return nil, models.Invalid("expires_at", "%q: give a whole number of days, e.g. 30d", s)
		}
		t = now.AddDate(0, 0, n)
	} else if d, err := time.ParseDuration(s); err == nil {
		t = now.Add(d)
	} else if day, err := time.ParseInLocation(time.DateOnly, s, time.Local); err == nil {
		t = day.AddDate(0, 0, 1)
	} else if ts, err := time.Parse(time.RFC3339, s); err == nil {
		t = ts
	} else {
		return nil, models.Invalid("expires_at", "%q is not an expiry: give 30d, 12h, a date like 2026-12-31, or nothing", s)
	}
	if !t.After(now) {
		return nil, models.Invalid("expires_at", "the expiry must be in the future")
	}
	t = t.Truncate(time.Second)
	return &t, nil
}
