package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"gent/daemon/config"
	"gent/daemon/mail"
	"gent/daemon/server/servertest"
	"gent/models"
)

// sseClient reads one event stream over a real socket and collects the
// message ids of its message.received events.
type sseClient struct {
	name  string
	resp  *http.Response
	mu    sync.Mutex
	got   []string // message ids, in arrival order
	other []string // events that are not message.received
	done  chan struct{}
}

func openStream(t *testing.T, base, path, cred, name string) *sseClient {
	t.Helper()
	req, err := http.NewRequest("GET", base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+cred)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	s := &sseClient{name: name, resp: resp, done: make(chan struct{})}
	// Wait for the stream's first line, so that it is following before
	// any mail arrives.
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	go s.read(br)
	t.Cleanup(func() { resp.Body.Close(); <-s.done })
	return s
}

func (s *sseClient) read(r io.Reader) {
	defer close(s.done)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var typ string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			typ = line[7:]
		case strings.HasPrefix(line, "data: "):
			var ev models.Event
			if err := json.Unmarshal([]byte(line[6:]), &ev); err != nil {
				continue
			}
			s.mu.Lock()
			if typ == models.EventMessageReceived {
				id, _ := ev.Payload["message_id"].(string)
				s.got = append(s.got, id)
			} else {
				s.other = append(s.other, typ)
			}
			s.mu.Unlock()
		}
	}
}

func (s *sseClient) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

// Many event streams on many inboxes of two organizations, opened one
// after another over a real listener while mail arrives concurrently for
// every inbox: each stream must see exactly its own inbox's events (or its
// organization's), in order, none missing. Fiber recycles a request's
// buffers once its handler returns, while a stream keeps running; a stream
// that kept a view of its path (the inbox id) or its headers (the
// credential) read another request's values.
func TestStreamsSeeOnlyTheirOwnInbox(t *testing.T) {
	env := servertest.New(t, func(c *config.Config) { c.Events.Heartbeat = config.Duration(time.Second) })
	base := env.Listen()
	ctx, cancel := context.WithCancel(context.Background())
	running := make(chan struct{})
	go func() { _ = env.Events.Run(ctx); close(running) }()
	t.Cleanup(func() { cancel(); <-running })
	select {
	case <-env.Events.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("event listener did not start")
	}

	const inboxesPerOrg, messagesPerInbox = 5, 6
	type box struct {
		org   servertest.Org
		inbox models.Inbox
		token string
		want  []string // message ids in delivery order
	}
	orgs := []servertest.Org{env.Setup()}
	orgs = append(orgs, env.OtherOrg("Other"))
	var boxes []*box
	for _, org := range orgs {
		name := models.NewID("") + ".example.com"
		env.VerifiedDomain(org, name)
		for i := range inboxesPerOrg {
			in := env.Inbox(org, fmt.Sprintf("agent%d@%s", i, name))
			tok := env.Token(org, in.ID, []string{models.ScopeEmailRead})
			boxes = append(boxes, &box{org: org, inbox: in, token: tok.Secret})
		}
	}

	// Streams, opened one after another: each open recycles the request
	// context of the one before. Per inbox: its token's stream and an
	// owner session's; per organization: the organization stream.
	type watch struct {
		s     *sseClient
		boxes []*box
	}
	var watches []watch
	for _, b := range boxes {
		path := "/v1/inboxes/" + b.inbox.ID + "/events"
		watches = append(watches,
			watch{openStream(t, base, path, b.token, "token "+b.inbox.Address), []*box{b}},
			watch{openStream(t, base, path, b.org.Owner, "owner "+b.inbox.Address), []*box{b}})
	}
	for _, org := range orgs {
		var mine []*box
		for _, b := range boxes {
			if b.org.ID == org.ID {
				mine = append(mine, b)
			}
		}
		watches = append(watches, watch{openStream(t, base, "/v1/events", org.Owner, "org "+org.ID), mine})
	}

	// Mail every inbox concurrently (in order within each inbox), while
	// other requests keep recycling request contexts.
	var wg sync.WaitGroup
	errs := make(chan error, len(boxes)*messagesPerInbox+len(boxes))
	stop := make(chan struct{})
	for _, b := range boxes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range messagesPerInbox {
				raw := fmt.Sprintf("From: sender@outside.test\r\nTo: %s\r\nSubject: %s #%d\r\nMessage-ID: <%s@outside.test>\r\n\r\nhello\r\n",
					b.inbox.Address, b.inbox.Address, i, models.NewID(""))
				var st *mail.Stored
				err := env.Store.Tx(context.Background(), func(tx *gorm.DB) error {
					var err error
					st, err = env.Mail.Store(context.Background(), tx, mail.StoreInput{
						OrgID: b.org.ID, InboxID: b.inbox.ID, Direction: models.DirectionInbound,
						Status: models.StatusReceived, Raw: []byte(raw),
						Auth: &models.AuthResults{SPF: "none", DKIM: "none", DMARC: "none", Summary: "test"},
					})
					return err
				})
				if err != nil {
					errs <- fmt.Errorf("deliver to %s: %w", b.inbox.Address, err)
					return
				}
				b.want = append(b.want, st.ID)
			}
		}()
	}
	var noise sync.WaitGroup
	for _, b := range boxes {
		noise.Add(1)
		go func() {
			defer noise.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := http.Get(base + "/v1/inboxes/" + b.inbox.ID + "/messages")
				if err != nil {
					errs <- err
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	close(stop)
	noise.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	// Every stream ends with exactly its events; wait until each has had
	// the time to receive them all, then compare.
	deadline := time.Now().Add(15 * time.Second)
	for _, w := range watches {
		var want []string
		for _, b := range w.boxes {
			want = append(want, b.want...)
		}
		for len(w.s.ids()) < len(want) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	time.Sleep(200 * time.Millisecond) // anything extra would arrive now
	for _, w := range watches {
		got := w.s.ids()
		if len(w.boxes) == 1 {
			if !slices.Equal(got, w.boxes[0].want) {
				t.Errorf("%s: got %v, want exactly %v", w.s.name, got, w.boxes[0].want)
			}
			continue
		}
		// An organization stream: every inbox's events, each inbox's in
		// delivery order.
		for _, b := range w.boxes {
			var mine []string
			for _, id := range got {
				if slices.Contains(b.want, id) {
					mine = append(mine, id)
				}
			}
			if !slices.Equal(mine, b.want) {
				t.Errorf("%s: inbox %s's events %v, want %v", w.s.name, b.inbox.Address, mine, b.want)
			}
		}
		if n := len(w.boxes) * messagesPerInbox; len(got) != n {
			t.Errorf("%s: %d events, want %d: %v", w.s.name, len(got), n, got)
		}
	}
}
