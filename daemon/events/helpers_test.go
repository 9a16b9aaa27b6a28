package events_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"gent/daemon/config"
	"gent/daemon/server"
	"gent/daemon/server/servertest"
	"gent/daemon/store"
	"gent/daemon/store/storetest"
	"gent/models"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// daemon is a whole gentd on a test database, serving HTTP on loopback
// with its event listener running.
type daemon struct {
	*servertest.Env
	URL string
}

// testConfig speeds up retries and heartbeats for tests.
func testConfig(c *config.Config) {
	c.Events.Heartbeat = config.Duration(2 * time.Second)
	c.Webhooks.RetryBackoff = config.Duration(50 * time.Millisecond)
	c.Webhooks.Timeout = config.Duration(5 * time.Second)
}

// start builds a daemon on a fresh database.
func start(t *testing.T, mutate ...func(*config.Config)) *daemon {
	t.Helper()
	return run(t, servertest.New(t, append([]func(*config.Config){testConfig}, mutate...)...))
}

// startOn builds a daemon on an existing database (another replica).
func startOn(t *testing.T, url string, mutate ...func(*config.Config)) *daemon {
	t.Helper()
	cfg := servertest.Config(t)
	testConfig(&cfg)
	// Replicas share the master key (the database holds its check value).
	cfg.Security.MasterKey = strings.Repeat("ab", 32)
	for _, m := range mutate {
		m(&cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Connect(context.Background(), url, 10, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Pool.Close)
	d, err := server.New(cfg, st, log)
	if err != nil {
		t.Fatal(err)
	}
	return run(t, &servertest.Env{T: t, Daemon: d})
}

func run(t *testing.T, env *servertest.Env) *daemon {
	t.Helper()
	url := env.Listen()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		_ = env.Events.Run(ctx)
		close(done)
	}()
	// Registered after Listen's cleanup, so it runs first: streams end
	// before the HTTP server shuts down.
	t.Cleanup(func() {
		cancel()
		<-done
	})
	select {
	case <-env.Events.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("event listener did not start")
	}
	return &daemon{Env: env, URL: url}
}

// inbox creates a verified domain and an inbox on it in org.
func (d *daemon) inbox(org servertest.Org, local string) string {
	d.T.Helper()
	name := models.NewID("") + ".example.com"
	d.VerifiedDomain(org, name)
	return d.Inbox(org, local+"@"+name).ID
}

// emit records an event in its own transaction.
func (d *daemon) emit(orgID, inboxID, typ string, payload map[string]any) *models.Event {
	d.T.Helper()
	var ev *models.Event
	err := d.Store.Tx(context.Background(), func(tx *gorm.DB) error {
		var err error
		ev, err = d.Events.Emit(context.Background(), tx, orgID, inboxID, typ, payload)
		return err
	})
	if err != nil {
		d.T.Fatal(err)
	}
	return ev
}

// sseMsg is one dispatched event or one comment line of a stream.
type sseMsg struct {
	ID, Event, Data string
	Comment         string
}

type stream struct {
	t      *testing.T
	resp   *http.Response
	msgs   chan sseMsg
	closed chan struct{}
}

// open starts a stream; headers are name, value pairs.
func (d *daemon) open(path, cred string, headers ...string) *stream {
	d.T.Helper()
	req, err := http.NewRequest("GET", d.URL+path, nil)
	if err != nil {
		d.T.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+cred)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.T.Fatal(err)
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		d.T.Fatalf("GET %s: status %d: %s", path, resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		d.T.Fatalf("GET %s: content type %q", path, ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
		d.T.Errorf("GET %s: Cache-Control %q", path, cc)
	}
	s := &stream{t: d.T, resp: resp, msgs: make(chan sseMsg, 1000), closed: make(chan struct{})}
	go s.read()
	d.T.Cleanup(s.close)
	return s
}

func (s *stream) read() {
	defer close(s.closed)
	sc := bufio.NewScanner(s.resp.Body)
	var cur sseMsg
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.ID != "" || cur.Event != "" || cur.Data != "" {
				s.msgs <- cur
			}
			cur = sseMsg{}
		case strings.HasPrefix(line, ":"):
			s.msgs <- sseMsg{Comment: strings.TrimSpace(line[1:])}
		case strings.HasPrefix(line, "id: "):
			cur.ID = line[4:]
		case strings.HasPrefix(line, "event: "):
			cur.Event = line[7:]
		case strings.HasPrefix(line, "data: "):
			cur.Data = line[6:]
		}
	}
}

func (s *stream) close() { s.resp.Body.Close() }

// next returns the next event (skipping comments), failing after timeout.
func (s *stream) next(timeout time.Duration) sseMsg {
	s.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m := <-s.msgs:
			if m.Comment == "" {
				return m
			}
		case <-s.closed:
			select {
			case m := <-s.msgs:
				if m.Comment == "" {
					return m
				}
				continue
			default:
			}
			s.t.Fatal("stream ended while waiting for an event")
		case <-deadline:
			s.t.Fatalf("no event within %s", timeout)
		}
	}
}

// quiet fails if an event arrives within d.
func (s *stream) quiet(d time.Duration) {
	s.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case m := <-s.msgs:
			if m.Comment == "" {
				s.t.Fatalf("unexpected event %s %s", m.ID, m.Event)
			}
		case <-deadline:
			return
		}
	}
}

// ids reads n events and returns their ids.
func (s *stream) ids(n int, timeout time.Duration) []string {
	s.t.Helper()
	var out []string
	for range n {
		out = append(out, s.next(timeout).ID)
	}
	return out
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
