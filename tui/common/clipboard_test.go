package common

import (
	"bytes"
	"encoding/base64"
	"testing"

	"gent/tui/client"
)

func TestCopyWritesOSC52(t *testing.T) {
	t.Setenv("TMUX", "")
	t.Setenv("STY", "")
	t.Setenv("TERM", "xterm-256color")
	cl, _ := client.New("http://127.0.0.1:9")
	c := NewCommon(cl)
	var out bytes.Buffer
	c.Output = &out
	msg := c.Copy("zone dom_1", "mail.example.com. 3600 IN TXT \"v=spf1 -all\"\n")()
	if cm, ok := msg.(CopiedMsg); !ok || cm.Err != nil || cm.What != "zone dom_1" {
		t.Fatalf("msg %#v", msg)
	}
	want := "\x1b]52;c;" + base64.StdEncoding.EncodeToString([]byte("mail.example.com. 3600 IN TXT \"v=spf1 -all\"\n")) + "\x07"
	if out.String() != want {
		t.Fatalf("wrote %q, want %q", out.String(), want)
	}

	// Inside tmux it goes as it is (tmux's set-clipboard takes it);
	// inside GNU screen it is wrapped, or screen drops it.
	t.Setenv("TMUX", "/tmp/tmux-1000/default,1,0")
	t.Setenv("TERM", "screen-256color")
	out.Reset()
	c.Copy("x", "hi")()
	if got := out.String(); got != "\x1b]52;c;aGk=\x07" {
		t.Fatalf("tmux: %q", got)
	}
	t.Setenv("TMUX", "")
	t.Setenv("STY", "1234.pts-0.host")
	out.Reset()
	c.Copy("x", "hi")()
	if got := out.String(); got != "\x1bP\x1b]52;c;aGk=\x07\x1b\\" {
		t.Fatalf("screen: %q", got)
	}

	c.Output = nil
	if cm := c.Copy("x", "hi")().(CopiedMsg); cm.Err != ErrNoTerminal {
		t.Fatalf("no terminal: %v", cm.Err)
	}
}
