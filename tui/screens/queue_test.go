package screens

import (
	"testing"
	"time"

	"gent/tui/common"
)

func TestParseUntil(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.Local)
	for in, want := range map[string]time.Time{
		"2h":               now.Add(2 * time.Hour),
		" 30m ":            now.Add(30 * time.Minute),
		"2026-12-02 18:00": time.Date(2026, 12, 2, 18, 0, 0, 0, time.Local),
		"2026-12-03":       time.Date(2026, 12, 3, 0, 0, 0, 0, time.Local),
	} {
		got, err := parseUntil(in, now)
		if err != nil || got == nil || !got.Equal(want) {
			t.Errorf("parseUntil(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if got, err := parseUntil("  ", now); got != nil || err != nil {
		t.Errorf("empty until = %v, %v; want no end", got, err)
	}
	_, err := parseUntil("soon", now)
	if common.Field(err) != "until" {
		t.Errorf("a bad until names field %q (%v), want until", common.Field(err), err)
	}
}
