package tui

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
)

// outage stands between the TUI and the daemon: down refuses every
// connection (open ones are cut), as a stopped gentd does; up listens
// again on the same address, as gentd back on its port.
type outage struct {
	t        *testing.T
	addr     string
	upstream string
	mu       sync.Mutex
	ln       net.Listener
	conns    []net.Conn
}

func newOutage(t *testing.T, upstream string) *outage {
	t.Helper()
	o := &outage{t: t, upstream: upstream}
	o.listen(listen(t))
	o.addr = o.ln.Addr().String()
	t.Cleanup(o.down)
	return o
}

func (o *outage) URL() string { return "http://" + o.addr }

func (o *outage) listen(ln net.Listener) {
	o.mu.Lock()
	o.ln = ln
	o.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", o.upstream)
			if err != nil {
				c.Close()
				continue
			}
			o.mu.Lock()
			o.conns = append(o.conns, c, u)
			o.mu.Unlock()
			go func() { _, _ = io.Copy(u, c); u.Close() }()
			go func() { _, _ = io.Copy(c, u); c.Close() }()
		}
	}()
}

func (o *outage) down() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ln != nil {
		o.ln.Close()
		o.ln = nil
	}
	for _, c := range o.conns {
		c.Close()
	}
	o.conns = nil
}

func (o *outage) up() {
	o.t.Helper()
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		o.t.Fatal(err)
	}
	o.listen(ln)
}

// The daemon goes away while the TUI is open and comes back: the status
// line says live updates are paused; once the daemon is back the stream
// reconnects by itself and every open screen loads again (the users list
// on top and the dashboard under it), showing what changed meanwhile,
// with no key pressed.
func TestFlowDaemonAwayAndBack(t *testing.T) {
	d := startDNSDaemon(t)
	org := d.Setup()
	o := newOutage(t, strings.TrimPrefix(d.URL, "http://"))
	via := *d
	via.URL = o.URL()
	dir := t.TempDir()
	via.saveSession(t, dir, org.Owner, org.OwnerEmail)
	r := startTUI(t, &via, withConfigDir(dir))
	r.wait("Recent activity", "1 owner")

	// gentd stops and comes back, with something changed meanwhile.
	away := func(changed func()) time.Time {
		t.Helper()
		o.down()
		r.wait("Live updates paused")
		r.runes("r")
		r.wait("✗ Cannot reach the daemon")
		changed()
		o.up()
		return time.Now()
	}
	stillAway := func(v string) {
		t.Helper()
		if strings.Contains(v, "Cannot reach") || strings.Contains(v, "Live updates paused") {
			t.Fatalf("still says the daemon is away:\n%s", v)
		}
	}

	// The dashboard: every line, not only some, counts again.
	back := away(func() { d.addUser(t, org.Owner, "rex@acme.test", models.RoleReviewer) })
	v := r.wait("1 owner · 1 reviewer")
	t.Logf("the dashboard counted again %s after the daemon was back", time.Since(back).Round(10*time.Millisecond))
	stillAway(v)
	if strings.Count(v, "✗") > 0 {
		t.Fatalf("a dashboard line still shows an error:\n%s", v)
	}

	// A list on top of it: it loads again too.
	r.runes("u")
	r.wait("2 users in Acme")
	back = away(func() { d.addUser(t, org.Owner, "ada@acme.test", models.RoleAdmin) })
	v = r.wait("3 users in Acme", "ada@acme.test")
	t.Logf("the users list showed the new user %s after the daemon was back", time.Since(back).Round(10*time.Millisecond))
	stillAway(v)
	r.press(tea.KeyEsc)
	stillAway(r.wait("Recent activity", "1 owner · 1 admin · 1 reviewer"))
	r.runes("q")
	r.quit()
}
