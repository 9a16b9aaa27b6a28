package common

import (
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
)

// Live updates. While someone is signed in, the root model follows the
// organization's event stream (client.Events) and delivers every event to
// every open screen as an EventMsg; screens showing something an event
// changes reload it, debounced.
type (
	// EventMsg is one event of the organization's live stream.
	EventMsg struct{ Event models.Event }
	// StreamMsg says the stream connected (Live) or lost its connection
	// (Err; it reconnects by itself). Missed is set when it reconnected
	// without being able to resume: events of the outage may be missing.
	// Reconnected is set when it connected again after losing its
	// connection: what the screens loaded meanwhile may have failed (the
	// daemon was away). Either way screens reload (Stale).
	StreamMsg struct {
		Live        bool
		Missed      bool
		Reconnected bool
		Err         error
	}
	// ShownMsg is sent to the screen that is on top again after the one
	// above it closed (esc): it reloads what may have changed meanwhile.
	ShownMsg struct{}
)

// Stale reports whether what the screens show should be loaded again.
func (m StreamMsg) Stale() bool { return m.Live && (m.Missed || m.Reconnected) }

// RefreshDelay is how long a screen gathers events before it reloads:
// a burst of events costs one reload.
const RefreshDelay = 250 * time.Millisecond

// Debouncer turns a burst of events into one reload. Add starts a timer
// on the first event of a burst; Fire recognises its tick and returns the
// event types gathered meanwhile.
type Debouncer struct {
	// Delay is the time gathered from the first event of a burst; zero
	// is RefreshDelay.
	Delay time.Duration

	id    int
	types map[string]bool
}

// refreshTick is a Debouncer's timer; ID tells whose it is, since every
// open screen receives it.
type refreshTick struct{ ID int }

// Add notes an event type; it returns the timer command on the first
// event of a burst, nil while one is running.
func (d *Debouncer) Add(c *Common, eventType string) tea.Cmd {
	if d.types == nil {
		d.types = map[string]bool{}
	}
	d.types[eventType] = true
	if d.id != 0 {
		return nil
	}
	c.lastID++
	id := c.lastID
	d.id = id
	delay := d.Delay
	if delay <= 0 {
		delay = RefreshDelay
	}
	return tea.Tick(delay, func(time.Time) tea.Msg { return refreshTick{ID: id} })
}

// Fire reports whether msg is this debouncer's tick, with the event types
// gathered since the burst began.
func (d *Debouncer) Fire(msg tea.Msg) (types map[string]bool, ok bool) {
	t, isTick := msg.(refreshTick)
	if !isTick || t.ID == 0 || t.ID != d.id {
		return nil, false
	}
	types, d.types, d.id = d.types, nil, 0
	return types, true
}

// Pending reports whether a reload is waiting for its timer; screens count
// it as busy, so the spinner shows that fresh data is on its way.
func (d *Debouncer) Pending() bool { return d.id != 0 }
