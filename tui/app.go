package tui

import (
	"context"
	"fmt"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"

	"gent/tui/client"
	"gent/tui/common"
	"gent/tui/session"
)

// state is the root model's state: starting (asking the daemon whether to
// show setup, sign-in or the dashboard), ready (a screen is open), or
// failed (the daemon could not be reached at start).
type state int

const (
	stateStarting state = iota
	stateReady
	stateFailed
)

// Model is the root model.
type Model struct {
	c        *common.Common
	opts     Options
	sessions *session.Store

	state   state
	failure string
	stack   []common.Component
	req     common.Requests

	spinner spinner.Model
	help    help.Model
	flash   common.FlashMsg
	width   int
	height  int

	// The live event stream (stream.go). ctx ends with Close.
	ctx        context.Context
	cancel     context.CancelFunc
	streamGen  int
	streamStop context.CancelFunc
	streamCh   <-chan client.StreamUpdate
	streamDown string // why live updates are paused, while they are

	pause pauseWatch // the banner while sending is paused (pause.go)
}

// New builds the root model.
func New(opts Options) (*Model, error) {
	var copts []client.Option
	if opts.HTTPClient != nil {
		copts = append(copts, client.WithHTTPClient(opts.HTTPClient))
	}
	cl, err := client.New(opts.Server, copts...)
	if err != nil {
		return nil, err
	}
	st, err := session.NewStore(opts.ConfigDir)
	if err != nil {
		return nil, err
	}
	c := common.NewCommon(cl)
	c.DataDir, c.Output = opts.DataDir, opts.Output
	h := help.New()
	h.Styles = c.Styles.Help
	ctx, cancel := context.WithCancel(context.Background())
	return &Model{
		c: c, opts: opts, sessions: st, ctx: ctx, cancel: cancel,
		spinner: spinner.New(spinner.WithSpinner(spinner.MiniDot), spinner.WithStyle(c.Styles.Spinner)),
		help:    h, width: 80, height: 24,
	}, nil
}

// Init starts the sign-in flow and the spinner.
func (m *Model) Init() tea.Cmd { return tea.Batch(m.start(), m.spinner.Tick) }

func (m *Model) top() common.Component {
	if len(m.stack) == 0 {
		return nil
	}
	return m.stack[len(m.stack)-1]
}

// typing reports whether the open screen takes every key.
func (m *Model) typing() bool {
	t, ok := m.top().(common.Typist)
	return ok && t.Typing()
}

// helpKeyFree reports whether ? shows the keys: always, but while a screen
// types only where it says it takes no text (common.HelpTaker).
func (m *Model) helpKeyFree() bool {
	h, ok := m.top().(common.HelpTaker)
	return !m.typing() || ok && h.TakesHelp()
}

// Update routes a message: keys to the open screen (after the global
// keys), replies and other messages to every open screen, each of which
// drops what it did not ask for.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := m.update(msg)
	m.layout()
	return m, cmd
}

func (m *Model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		return nil
	case tea.KeyMsg:
		return m.handleKey(msg)
	case tea.MouseMsg:
		return m.handleMouse(msg)
	case spinner.TickMsg:
		var cmd tea.Cmd
		m.spinner, cmd = m.spinner.Update(msg)
		return cmd
	case common.PushMsg:
		return m.push(msg.Screen)
	case common.PopMsg:
		return m.pop()
	case common.ReplaceMsg:
		m.stack = nil
		return m.push(msg.Screen)
	case common.FlashMsg:
		m.flash = msg
		return nil
	case common.SignedInMsg:
		return m.signedIn(msg)
	case common.SignOutMsg:
		return m.signOut()
	case streamMsg:
		return m.handleStream(msg)
	case common.Reply:
		if cmd, mine := m.handleReply(msg); mine {
			return cmd
		}
		if e, ok := msg.(common.ErrorMsg); ok && m.c.Me != nil && common.Unauthorized(e.Err) {
			return tea.Batch(m.broadcast(msg), m.sessionEnded())
		}
	}
	return m.broadcast(msg)
}

func (m *Model) broadcast(msg tea.Msg) tea.Cmd {
	cmds := make([]tea.Cmd, 0, len(m.stack)+1)
	cmds = append(cmds, m.pause.update(m.c, msg))
	for i, s := range m.stack {
		next, cmd := s.Update(msg)
		m.stack[i] = next.(common.Component)
		cmds = append(cmds, cmd)
	}
	return tea.Batch(cmds...)
}

func (m *Model) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := m.c.Keys
	m.flash = common.FlashMsg{}
	if key.Matches(msg, k.ForceQuit) {
		return m.quit()
	}
	if m.state != stateReady {
		switch {
		case key.Matches(msg, k.Quit):
			return m.quit()
		case m.state == stateFailed && key.Matches(msg, k.Retry):
			return m.start()
		}
		return nil
	}
	if m.typing() && m.helpKeyFree() && key.Matches(msg, k.Help) {
		m.help.ShowAll = !m.help.ShowAll
		return nil
	}
	if !m.typing() {
		switch {
		case key.Matches(msg, k.Quit):
			return m.quit()
		case key.Matches(msg, k.Help):
			m.help.ShowAll = !m.help.ShowAll
			return nil
		case key.Matches(msg, k.Back):
			return m.pop()
		}
	}
	top := m.top()
	next, cmd := top.Update(msg)
	m.stack[len(m.stack)-1] = next.(common.Component)
	return cmd
}

// quit stops the event stream and ends the program.
func (m *Model) quit() tea.Cmd {
	m.stopStream()
	return tea.Quit
}

func (m *Model) push(s common.Component) tea.Cmd {
	m.state = stateReady
	m.stack = append(m.stack, s)
	m.help.ShowAll = false
	w, h := m.bodySize()
	s.SetSize(w, h)
	return s.Init()
}

// pop closes the open screen; the first screen stays. The screen under
// it is told it shows again (common.ShownMsg), so it reloads.
func (m *Model) pop() tea.Cmd {
	if len(m.stack) <= 1 {
		return nil
	}
	m.stack = m.stack[:len(m.stack)-1]
	m.help.ShowAll = false
	next, cmd := m.top().Update(common.ShownMsg{})
	m.stack[len(m.stack)-1] = next.(common.Component)
	return cmd
}

// layout tells every screen the size of the body area, which changes with
// the terminal and with the height of the help.
func (m *Model) layout() {
	w, h := m.bodySize()
	for _, s := range m.stack {
		s.SetSize(w, h)
	}
}

func (m *Model) bodySize() (int, int) {
	return m.width, max(1, m.height-headerHeight-1-lineCount(m.helpView())-m.pause.lines(m.c))
}

// String describes the model for debugging without revealing the session.
func (m *Model) String() string {
	return fmt.Sprintf("genttui(%s, %d screens)", m.c.Client.Server(), len(m.stack))
}
