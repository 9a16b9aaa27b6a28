package tui

import (
	"io"

	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/common"
)

// A reviewer working elsewhere is told when something waits for them: a
// send held for approval or a message put in quarantine rings the
// terminal's bell and leaves a note in the status line, unless the screen
// that lists it is open.

// bell is the terminal's bell (BEL).
const bell = "\a"

// notice is what the status line says about ev, with the screen that
// lists it (by title); ok is false for events nobody waits for.
func notice(ev models.Event) (text, screen string, ok bool) {
	subject, _ := ev.Payload["subject"].(string)
	quoted := ""
	if subject != "" {
		quoted = " “" + subject + "”"
	}
	switch ev.Type {
	case models.EventApprovalRequested:
		from, _ := ev.Payload["token_label"].(string)
		if from != "" {
			from = " from " + from
		}
		return "New held send" + quoted + from + ".", "Approvals", true
	case models.EventMessageQuarantined:
		from, _ := ev.Payload["from"].(string)
		if from != "" {
			from = " from " + from
		}
		return "Message quarantined" + quoted + from + ".", "Quarantine", true
	}
	return "", "", false
}

// notify rings and notes ev when the reviewer is elsewhere.
func (m *Model) notify(ev models.Event) {
	text, screen, ok := notice(ev)
	if !ok || m.c.Me == nil {
		return
	}
	if top := m.top(); top != nil && top.Title() == screen {
		return // it shows up there by itself
	}
	m.flash = common.FlashMsg{Text: text, Notice: true}
	if w := m.c.Output; w != nil {
		_, _ = io.WriteString(w, bell)
	}
}

// handleMouse gives a mouse event (clicks select rows, the wheel
// scrolls) to the open screen alone, with Y counted from the top of the
// screen's area: under the header and, while sending is paused, under
// the banner.
func (m *Model) handleMouse(msg tea.MouseMsg) tea.Cmd {
	if m.state != stateReady || m.top() == nil {
		return nil
	}
	msg.Y -= headerHeight + m.pause.lines(m.c)
	if msg.Y < 0 {
		return nil
	}
	next, cmd := m.top().Update(msg)
	m.stack[len(m.stack)-1] = next.(common.Component)
	return cmd
}
