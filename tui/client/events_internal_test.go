package client

import (
	"testing"
	"time"
)

// A stream that lost the daemon is back soon after the daemon is: the
// longest wait between two attempts is short (issue 22: it used to grow
// to 30 s, so the TUI stayed stale for about 25 s after gentd was ready).
func TestStreamBackoffIsShort(t *testing.T) {
	c, err := New("http://127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	if c.maxBackoff > 2*time.Second || c.minBackoff > c.maxBackoff {
		t.Fatalf("backoff %s to %s: a stream may wait longer than 2 s once the daemon is back", c.minBackoff, c.maxBackoff)
	}
}
