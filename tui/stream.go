package tui

import (
	"context"
	"errors"

	tea "github.com/charmbracelet/bubbletea"

	"gent/tui/client"
	"gent/tui/common"
)

// The root model follows the organization's event stream while someone is
// signed in: started on sign-in, stopped on sign-out, when the session
// ends, and on quit. A command waits for the next update of the stream
// and answers a streamMsg; the root model hands the event to every open
// screen and waits for the next one. Each stream has a generation, so an
// update of a stream that was stopped is dropped.

type streamMsg struct {
	gen    int
	u      client.StreamUpdate
	closed bool
}

func waitStream(ch <-chan client.StreamUpdate, gen int) tea.Cmd {
	return func() tea.Msg {
		u, ok := <-ch
		return streamMsg{gen: gen, u: u, closed: !ok}
	}
}

// startStream follows the event stream from now, replacing any stream.
func (m *Model) startStream() tea.Cmd {
	m.stopStream()
	ctx, cancel := context.WithCancel(m.ctx)
	m.streamGen++
	m.streamStop = cancel
	m.streamCh = m.c.Client.Events(ctx, "")
	return waitStream(m.streamCh, m.streamGen)
}

// stopStream ends the stream, if one runs; its goroutine closes the
// channel, which ends the waiting command.
func (m *Model) stopStream() {
	if m.streamStop != nil {
		m.streamStop()
	}
	m.streamStop, m.streamCh, m.streamDown = nil, nil, ""
	m.streamGen++
}

// Close stops the event stream. The program calls it after Run returns,
// since a quit may come from outside the model (a signal). It is safe to
// call from any goroutine.
func (m *Model) Close() { m.cancel() }

func (m *Model) handleStream(msg streamMsg) tea.Cmd {
	if msg.gen != m.streamGen || msg.closed {
		return nil
	}
	u := msg.u
	next := waitStream(m.streamCh, m.streamGen)
	switch {
	case u.Event != nil:
		m.notify(*u.Event)
		return tea.Batch(m.broadcast(common.EventMsg{Event: *u.Event}), next)
	case u.Connected:
		// Back after an outage: every open screen reloads, since what it
		// loaded meanwhile may have failed.
		was := m.streamDown != ""
		m.streamDown = ""
		return tea.Batch(m.broadcast(common.StreamMsg{Live: true, Missed: u.Missed, Reconnected: was}), next)
	case u.Final:
		m.streamStop, m.streamCh = nil, nil
		if common.Unauthorized(u.Err) && m.c.Me != nil {
			return m.sessionEnded()
		}
		m.streamDown = "Live updates stopped: " + common.Describe(u.Err)
		return nil
	}
	m.streamDown = "Live updates paused (" + streamReason(u.Err) + "); reconnecting."
	return tea.Batch(m.broadcast(common.StreamMsg{Err: u.Err}), next)
}

// streamReason says in a few words why the stream is down.
func streamReason(err error) string {
	switch {
	case errors.Is(err, client.ErrStreamClosed):
		return "the daemon closed the stream"
	case errors.Is(err, client.ErrStreamIdle):
		return "the stream went silent"
	}
	d := common.Describe(err)
	if len(d) > 0 && d[len(d)-1] == '.' {
		d = d[:len(d)-1]
	}
	return d
}
