package tui

import (
	"bytes"
	"context"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"gent/daemon/config"
	"gent/daemon/dnstest"
	"gent/daemon/server/servertest"
	"gent/daemon/store/storetest"
	"gent/models"
	"gent/tui/client"
	"gent/tui/session"
)

func TestMain(m *testing.M) {
	lipgloss.SetColorProfile(termenv.Ascii)
	storetest.Main(m)
}

const (
	termW, termH = 80, 24
	password     = "correct horse battery"
)

// daemon is a whole gentd on a fresh database, serving its API on a real
// loopback listener.
type daemon struct {
	*servertest.Env
	URL string
	// DNS answers the daemon's DNS lookups (domain verification), when
	// started with startDNSDaemon.
	DNS *dnstest.Server
}

// mxHost is the daemon's hostname in tests: the MX target and the host
// SPF records must name.
const mxHost = "mx.gent.test"

// heartbeat is the daemon's event stream heartbeat in tests: a stream
// whose client left (the TUI quit or signed out) ends at its next one.
const heartbeat = 200 * time.Millisecond

// withSandbox turns the sandbox domain on (it is made at setup).
func withSandbox(c *config.Config) { c.Sandbox.Domain = "sandbox.gent.localhost" }

// startDNSDaemon starts a daemon whose DNS lookups go to a loopback DNS
// server that the test fills.
func startDNSDaemon(t *testing.T, mutate ...func(*config.Config)) *daemon {
	t.Helper()
	dns := dnstest.New(t)
	dns.AddA(mxHost, "192.0.2.10")
	env := servertest.New(t, func(c *config.Config) {
		c.Hostname = mxHost
		c.DNS.Resolver, c.DNS.Timeout = dns.Addr, config.Duration(500*time.Millisecond)
		c.Events.Heartbeat = config.Duration(heartbeat)
		// The sandbox is off unless a test asks for it (withSandbox):
		// the other screens' goldens show only the domains they add.
		c.Sandbox.Domain = ""
		for _, m := range mutate {
			m(c)
		}
	})
	d := serve(t, env)
	d.DNS = dns
	return d
}

// publish puts a domain's zone export into the test DNS server, as its
// owner pasting it into their zone would.
func (d *daemon) publish(t *testing.T, owner, domainID string) string {
	t.Helper()
	zone := string(d.MustStatus(200, "GET", "/v1/domains/"+domainID+"/zone", owner, nil).Body)
	if err := d.DNS.AddZone(zone); err != nil {
		t.Fatal(err)
	}
	return zone
}

// addDomain adds a domain through the API; verified publishes its records
// and verifies it.
func (d *daemon) addDomain(t *testing.T, owner, name string, verified bool) models.Domain {
	t.Helper()
	var dom models.Domain
	d.MustStatus(201, "POST", "/v1/domains", owner, models.CreateDomainRequest{Domain: name}).JSON(t, &dom)
	if verified {
		d.publish(t, owner, dom.ID)
		d.MustStatus(200, "POST", "/v1/domains/"+dom.ID+"/verify", owner, nil).JSON(t, &dom)
		if dom.Status != models.DomainVerified {
			t.Fatalf("%s not verified: %+v", name, dom.Records)
		}
	}
	return dom
}

func startDaemon(t *testing.T) *daemon {
	t.Helper()
	return serve(t, servertest.New(t, func(c *config.Config) {
		c.Events.Heartbeat = config.Duration(heartbeat)
		c.Sandbox.Domain = ""
	}))
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// setupCode issues the one-time code (and writes data_dir/setup-code).
func (d *daemon) setupCode(t *testing.T) string {
	t.Helper()
	code, err := d.Auth.PrepareSetup(context.Background())
	if err != nil || code == "" {
		t.Fatalf("prepare setup: %q %v", code, err)
	}
	return code
}

// addUser creates a user with a fixed email through the API.
func (d *daemon) addUser(t *testing.T, owner, email, role string) models.User {
	t.Helper()
	var u models.User
	d.MustStatus(201, "POST", "/v1/users", owner, models.CreateUserRequest{Email: email, Password: password, Role: role}).JSON(t, &u)
	return u
}

// saveSession stores a session for the daemon in configDir, as a previous
// run of the TUI would have.
func (d *daemon) saveSession(t *testing.T, configDir, token, email string) {
	t.Helper()
	st, err := session.NewStore(configDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Save(d.URL, session.Saved{Token: client.Secret(token), ExpiresAt: time.Now().Add(time.Hour), Email: email}); err != nil {
		t.Fatal(err)
	}
}

// probe wraps the root model and keeps its latest view, so a test can wait
// for a screen without parsing the terminal stream.
type probe struct {
	m      *Model
	mu     sync.Mutex
	view   string
	busy   bool
	synced int
}

// syncMsg marks a point in the message queue: once the probe has seen it,
// every key sent before it has been handled.
type syncMsg struct{ n int }

func (p *probe) Init() tea.Cmd {
	cmd := p.m.Init()
	p.record()
	return cmd
}

func (p *probe) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if s, ok := msg.(syncMsg); ok {
		p.mu.Lock()
		p.synced = s.n
		p.mu.Unlock()
		return p, nil
	}
	_, cmd := p.m.Update(msg)
	p.record()
	return p, cmd
}

func (p *probe) View() string { return p.m.View() }

func (p *probe) record() {
	v := p.m.View()
	busy, _ := p.m.busy()
	p.mu.Lock()
	p.view, p.busy = v, busy
	p.mu.Unlock()
}

func (p *probe) snapshot() (view string, busy bool, synced int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.view, p.busy, p.synced
}

// tui is the TUI running under teatest at 80×24.
type tui struct {
	t         *testing.T
	tm        *teatest.TestModel
	p         *probe
	ConfigDir string
	d         *daemon
	syncs     int
	// Term receives what the copy keys write to the terminal.
	Term *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for the program's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type tuiOpt func(*Options)

func withConfigDir(dir string) tuiOpt { return func(o *Options) { o.ConfigDir = dir } }

func startTUI(t *testing.T, d *daemon, opts ...tuiOpt) *tui {
	t.Helper()
	term := &syncBuffer{}
	o := Options{Server: d.URL, DataDir: d.Config.DataDir, ConfigDir: t.TempDir(), Output: term}
	for _, f := range opts {
		f(&o)
	}
	m, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	p := &probe{m: m}
	tm := teatest.NewTestModel(t, p, teatest.WithInitialTermSize(termW, termH))
	r := &tui{t: t, tm: tm, p: p, ConfigDir: o.ConfigDir, d: d, Term: term}
	t.Cleanup(func() {
		_ = tm.Quit()
		m.Close() // the quit above does not pass through the model
	})
	return r
}

// sync returns the number of a sync message sent after every key so far.
func (r *tui) sync() int {
	r.syncs++
	r.tm.Send(syncMsg{r.syncs})
	return r.syncs
}

// wait returns the view once every key sent so far has been handled, the
// view contains every want, and no call runs.
func (r *tui) wait(want ...string) string {
	r.t.Helper()
	n := r.sync()
	deadline := time.Now().Add(15 * time.Second)
	for {
		v, busy, synced := r.p.snapshot()
		ok := !busy && synced >= n
		for _, w := range want {
			ok = ok && strings.Contains(v, w)
		}
		if ok {
			return v
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("screen never showed %q (busy %v); last screen:\n%s", want, busy, v)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (r *tui) typ(s string) { r.tm.Type(s) }

func (r *tui) press(keys ...tea.KeyType) {
	for _, k := range keys {
		r.tm.Send(tea.KeyMsg{Type: k})
	}
}

func (r *tui) runes(s string) {
	for _, c := range s {
		r.tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{c}})
	}
}

// quit ends the program and returns the final root model.
func (r *tui) quit() *Model {
	r.t.Helper()
	_ = r.tm.Quit()
	fm := r.tm.FinalModel(r.t, teatest.WithFinalTimeout(10*time.Second))
	return fm.(*probe).m
}

// fixedID replaces the random part of ids; cutID finds ids a column cut.
const fixedID = "0123456789abcdefghjkmnpqrs"

var cutID = regexp.MustCompile(`\b(org|usr|ses|aud|tok|inb|dom|apr|msg|thr|evt|cap)_[0-9a-z]{0,25}…`)

var normalizers = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\b(org|usr|ses|aud|tok|inb|dom|apr|msg|thr|evt|cap)_[0-9a-z]{26}\b`), "${1}_0123456789abcdefghjkmnpqrs"},
	{regexp.MustCompile(`\b[0-9a-f]{64}\b`), "9f2c4c0e1b7d3a5f8e6c2b4a1d9e7f3c5b8a6d4e2f1c3b5a7d9e8f6c4b2a1d3e"}, // digests
	{regexp.MustCompile(`\b\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\b`), "2026-01-02 15:04:05"},
	{regexp.MustCompile(`\b\d{4}-\d\d-\d\d \d\d:\d\d\b`), "2026-01-02 15:04"},
	{regexp.MustCompile(`\b\d\d-\d\d \d\d:\d\d:\d\d\b`), "01-02 15:04:05"},
	{regexp.MustCompile(`\b\d\d-\d\d \d\d:\d\d\b`), "01-02 15:04"},
	{regexp.MustCompile(`gent-verification=[0-9a-z]+`), "gent-verification=q3k7m2x9p4t6w8z2b5c7d9f2h4j6k8m2"},
	{regexp.MustCompile(`\bgent-[0-9a-z]{8}\b`), "gent-k2m4p6q8"},
	{regexp.MustCompile(`\bgent_[0-9A-Za-z]{36}\b`), "gent_0123456789ABCDEFGHIJabcdefghij012345"},
	{regexp.MustCompile(`\bgent_[0-9A-Za-z]{7}\b`), "gent_AbCd123"},
	// A DKIM-Signature header (captured mail): body hash, time, signature
	// and the lines it folds onto.
	{regexp.MustCompile(`bh=[A-Za-z0-9+/]+=*;`), "bh=hR8ZonQqN7MFLiawubXAUa+TF6PdRhiigBJzJFr96K4=;"},
	{regexp.MustCompile(`\bt=\d{10};`), "t=1767366245;"},
	{regexp.MustCompile(`(?m)^ b=[A-Za-z0-9+/]+$`), " b=eSgtx+dsmuwrgGjry9b9UyjOrRQzd54fpZJRc7nrh6C6nVQLfCqYtHHqp6O3EAvbFMYGn3N0"},
	{regexp.MustCompile(`(?m)^ [A-Za-z0-9+/]{40,}=*$`), " YLXI1ZH7A+Oa4CaAW55IAnoT6C/ipIM1rd24avt55SE3MyXrLqaSDsXFWuZsNX2aek3LIXRWZWR"},
	// DKIM public keys, and the lines they wrap onto.
	{regexp.MustCompile(`p=[A-Za-z0-9+/=]{16,}`), "p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAw9+Wq8S+b6TwoEUJXlVkIp"},
	{regexp.MustCompile(`(?m)^( {12})[A-Za-z0-9+/]{30,}=*(…?)$`), "${1}ZQY6EpClt59hYW+p35hIKxAsdXtxS2Y91An2UYt578EtqwUxUDa68IOXI8Aba22+/Co${2}"},
	{regexp.MustCompile(`127\.0\.0\.1:\d{4,5}\b`), "127.0.0.1:8080"},
	{regexp.MustCompile(`\b[0-9A-Z]{6}-[0-9A-Z]{6}\b`), "ABC123-DEF456"},
	{regexp.MustCompile(`\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`), "00000000-0000-0000-0000-000000000000"},
}

// golden compares the screen, with ids, times, ports, codes, secrets and
// the data directory replaced by fixed values, to
// testdata/<test name>.golden.
func (r *tui) golden(view string) {
	r.t.Helper()
	r.compare(r.t, view)
}

// goldenAs compares one state of a longer test to
// testdata/<test name>/<name>.golden.
func (r *tui) goldenAs(name, view string) {
	r.t.Helper()
	r.t.Run(name, func(t *testing.T) { r.compare(t, view) })
}

func (r *tui) compare(t *testing.T, view string) {
	t.Helper()
	if n := strings.Count(view, "\n") + 1; n != termH {
		t.Fatalf("screen has %d lines, want %d:\n%s", n, termH, view)
	}
	v := view
	if dir := r.d.Config.DataDir; dir != "" {
		v = strings.ReplaceAll(v, dir, "./var")
	}
	for _, n := range normalizers {
		v = n.re.ReplaceAllString(v, n.with)
	}
	v = cutID.ReplaceAllStringFunc(v, func(s string) string {
		prefix, rest, _ := strings.Cut(s, "_")
		return prefix + "_" + fixedID[:len(strings.TrimSuffix(rest, "…"))] + "…"
	})
	teatest.RequireEqualOutput(t, []byte(v))
}
