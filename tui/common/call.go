package common

import (
	"context"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"gent/tui/client"
)

// CallTimeout bounds every API call made by the TUI.
const CallTimeout = 30 * time.Second

// Reply is the answer to one API call: a ResultMsg or an ErrorMsg.
type Reply interface{ RequestID() int }

// ResultMsg carries the value of a successful call.
type ResultMsg[T any] struct {
	ID    int
	Value T
}

// ErrorMsg carries the error of a failed call.
type ErrorMsg struct {
	ID  int
	Err error
}

func (m ResultMsg[T]) RequestID() int { return m.ID }
func (m ErrorMsg) RequestID() int     { return m.ID }

// Call returns a new request id and the command that runs fn with the
// current client and answers ResultMsg[T]{id, value} or ErrorMsg{id, err}.
// Replies are broadcast to every open screen; each keeps the ids it is
// waiting for in a Requests and drops the rest.
func Call[T any](c *Common, fn func(context.Context, *client.Client) (T, error)) (int, tea.Cmd) {
	c.lastID++
	id, cl := c.lastID, c.Client
	return id, func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), CallTimeout)
		defer cancel()
		v, err := fn(ctx, cl)
		if err != nil {
			return ErrorMsg{ID: id, Err: err}
		}
		return ResultMsg[T]{ID: id, Value: v}
	}
}

// Start is Call for a screen: it records the call in r under name, with
// label for the spinner, and returns the command. A later call under the
// same name supersedes it.
func Start[T any](c *Common, r *Requests, name, label string, fn func(context.Context, *client.Client) (T, error)) tea.Cmd {
	id, cmd := Call(c, fn)
	r.Start(name, id, label)
	return cmd
}

// Requests tracks a screen's calls in flight by name. Starting a call under
// a name supersedes the previous one: its late reply is stale and dropped.
type Requests struct {
	latest map[string]int
	labels map[string]string
}

// Start records the call id under name; label is shown by the spinner.
func (r *Requests) Start(name string, id int, label string) {
	if r.latest == nil {
		r.latest, r.labels = map[string]int{}, map[string]string{}
	}
	r.latest[name], r.labels[name] = id, label
}

// Done reports which call a reply answers: ok is false for a reply that is
// not this screen's or is stale. The call is no longer in flight after it.
func (r *Requests) Done(id int) (name string, ok bool) {
	for n, latest := range r.latest {
		if latest == id {
			delete(r.latest, n)
			return n, true
		}
	}
	return "", false
}

// Pending reports whether the named call is in flight.
func (r *Requests) Pending(name string) bool {
	_, ok := r.latest[name]
	return ok
}

// Busy reports whether any call is in flight, with the label of one.
func (r *Requests) Busy() (bool, string) {
	best := 0
	label := ""
	for n, id := range r.latest {
		if id > best {
			best, label = id, r.labels[n]
		}
	}
	return best > 0, label
}
