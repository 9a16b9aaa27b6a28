package common

import (
	"errors"
	"os"
	"strings"
	"sync"

	"github.com/aymanbagabas/go-osc52/v2"
	tea "github.com/charmbracelet/bubbletea"
)

// outputMu serialises clipboard writes with each other. The renderer
// writes each frame with one Write call, so a sequence never lands inside
// a frame.
var outputMu sync.Mutex

// ErrNoTerminal is returned by Copy when the program has no terminal.
var ErrNoTerminal = errors.New("no terminal to copy through")

// Copy returns a command that puts text on the system clipboard through
// the terminal: the OSC 52 sequence ESC ] 52 ; c ; <base64> BEL written to
// the program's output (wrapped for GNU screen, which otherwise eats it;
// tmux takes it as it is when its set-clipboard option is on). Terminals
// that do not support OSC 52 ignore it. The command answers CopiedMsg.
func (c *Common) Copy(what, text string) tea.Cmd {
	out := c.Output
	return func() tea.Msg {
		if out == nil {
			return CopiedMsg{What: what, Err: ErrNoTerminal}
		}
		seq := osc52.New(text)
		inScreen := os.Getenv("STY") != "" || strings.HasPrefix(os.Getenv("TERM"), "screen")
		if inScreen && os.Getenv("TMUX") == "" {
			seq = seq.Screen() // GNU screen passes it on only when wrapped
		}
		outputMu.Lock()
		defer outputMu.Unlock()
		_, err := seq.WriteTo(out)
		return CopiedMsg{What: what, Err: err}
	}
}

// CopiedMsg says a Copy was written to the terminal (or why not). What
// names the copied thing, so the screen that asked can recognise it.
type CopiedMsg struct {
	What string
	Err  error
}
