package mcp_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"gent/daemon/auth"
	"gent/daemon/mcp"
	"gent/daemon/server/servertest"
	"gent/models"
)

// sessionProtocol is the newest protocol version that initializes; a
// client on it gets a Streamable HTTP session (Mcp-Session-Id).
const sessionProtocol = "2025-11-25"

// connectSession connects like the spec clients of 2025 do: initialize,
// then every request under the session the server assigned.
func connectSession(t *testing.T, endpoint, secret string) *sdk.ClientSession {
	t.Helper()
	client := sdk.NewClient(&sdk.Implementation{Name: "gent-test", Version: "1"}, nil)
	cs, err := client.Connect(context.Background(), &sdk.StreamableClientTransport{Endpoint: endpoint,
		HTTPClient: mcp.HTTPClient(secret), DisableStandaloneSSE: true, MaxRetries: -1},
		&sdk.ClientSessionOptions{ProtocolVersion: sessionProtocol})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

// post sends one JSON-RPC message to endpoint as the raw HTTP request a
// client would make, naming session sid if set, and returns the status
// and body.
func post(t *testing.T, method, endpoint, cred, sid, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, endpoint, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", sessionProtocol)
	if cred != "" {
		req.Header.Set("Authorization", "Bearer "+cred)
	}
	if sid != "" {
		req.Header.Set("Mcp-Session-Id", sid)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const whoamiCall = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`

// A client that initializes gets a session, and the session serves the
// same tools, filtered by the same scopes, as the stateless endpoint.
func TestSession(t *testing.T) {
	h := newHarness(t)
	for _, c := range []struct {
		name   string
		scopes []string
	}{{"default agent", defaultAgent}, {"read-only observer", observer}} {
		t.Run(c.name, func(t *testing.T) {
			secret := h.token(c.scopes).Secret
			cs := connectSession(t, h.url+"/mcp", secret)
			if cs.ID() == "" {
				t.Fatal("no session id after initialize")
			}
			got, want := toolNames(t, cs), toolNames(t, h.connect(secret))
			if !slices.Equal(sortedKeys(got), sortedKeys(want)) {
				t.Fatalf("tools in a session %v, stateless %v", sortedKeys(got), sortedKeys(want))
			}
			in := h.env.Deliver(h.inbox, fmt.Sprintf(fixtureMail, "in a session", models.NewID("m")))
			var m struct{ Subject string }
			ok(t, cs, "get_message", map[string]any{"message_id": in.ID}, &m)
			if m.Subject != "in a session" {
				t.Fatalf("get_message: %+v", m)
			}
			send := map[string]any{"to": []string{"bob@example.net"}, "subject": "hi", "text": "x"}
			if slices.Contains(c.scopes, models.ScopeEmailSend) {
				ok(t, cs, "send_message", send, nil)
			} else if er := refused(t, cs, "send_message", send); er.Error.Code != models.CodeInsufficientScope {
				t.Fatalf("send_message without email:send: %+v", er)
			}
			// Calls at once on one session.
			var wg sync.WaitGroup
			for range 10 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: "get_message", Arguments: map[string]any{"message_id": in.ID}})
					if err != nil || res.IsError {
						t.Errorf("concurrent get_message: %v %v", err, res)
					}
				}()
			}
			wg.Wait()
		})
	}
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// A session is its token's: another token naming it gets 404 (as if it
// did not exist) and cannot end it; a session credential or a bad token
// is 401; once the token is revoked, its session's next call is refused.
func TestSessionBoundToToken(t *testing.T) {
	h := newHarness(t)
	a, b := h.token(defaultAgent), h.token(defaultAgent)
	cs := connectSession(t, h.url+"/mcp", a.Secret)
	sid := cs.ID()
	if sid == "" {
		t.Fatal("no session id")
	}
	endpoint := h.url + "/mcp"
	if code, body := post(t, "POST", endpoint, b.Secret, sid, whoamiCall); code != 404 {
		t.Fatalf("another token on the session: %d %s", code, body)
	}
	if code, _ := post(t, "DELETE", endpoint, b.Secret, sid, ""); code != 404 {
		t.Fatalf("another token ending the session: %d", code)
	}
	for name, cred := range map[string]string{"owner session": h.org.Owner, "bad token": a.Secret + "x", "none": ""} {
		if code, _ := post(t, "POST", endpoint, cred, sid, whoamiCall); code != 401 {
			t.Errorf("%s on the session: %d, want 401", name, code)
		}
	}
	code, body := post(t, "POST", endpoint, a.Secret, sid, whoamiCall)
	if code != 200 || !strings.Contains(body, a.ID) {
		t.Fatalf("the session's own token: %d %s", code, body)
	}
	ok(t, cs, "whoami", nil, nil)

	h.env.MustStatus(204, "DELETE", "/v1/tokens/"+a.ID, h.org.Owner, nil)
	if _, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: "whoami"}); err == nil || !strings.Contains(err.Error(), "Unauthorized") {
		t.Fatalf("session call with a revoked token: %v", err)
	}
	if code, _ := post(t, "POST", endpoint, b.Secret, sid, whoamiCall); code != 404 {
		t.Fatalf("another token on a revoked token's session: %d", code)
	}
}

// newServer serves one mcp.Server to callers as principal p, as the API
// does after authentication (the server's services are not needed for
// tools/list).
func newServer(t *testing.T, s *mcp.Server, p *auth.Principal) string {
	srv := httptest.NewServer(s.Handler(mcp.Request{Principal: p}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func agent(id string) *auth.Principal {
	return &auth.Principal{Kind: auth.KindToken, TokenID: id, Scopes: []string{models.ScopeEmailRead}}
}

// Sessions are bounded: a token opens at most 16 (the next client is
// served without one), they end when idle or ended by the client, and a
// client whose session ended goes on being served.
func TestSessionLimitsAndIdle(t *testing.T) {
	s := mcp.New(mcp.Deps{SessionIdle: 300 * time.Millisecond})
	t.Cleanup(s.Close)
	urlA, urlB := newServer(t, s, agent("tok_a")), newServer(t, s, agent("tok_b"))
	var open []*sdk.ClientSession
	for range 16 {
		cs := connectSession(t, urlA, "gent_a")
		if cs.ID() == "" {
			t.Fatalf("session %d has no id", len(open)+1)
		}
		open = append(open, cs)
	}
	over := connectSession(t, urlA, "gent_a")
	if over.ID() != "" {
		t.Fatal("a 17th session for one token")
	}
	if _, err := over.ListTools(context.Background(), nil); err != nil {
		t.Fatalf("client without a session: %v", err)
	}
	if other := connectSession(t, urlB, "gent_b"); other.ID() == "" {
		t.Fatal("another token was refused a session")
	}
	if n := s.Sessions(); n != 17 {
		t.Fatalf("%d sessions, want 17", n)
	}
	// A session named with another token: 404, on POST and DELETE.
	if code, _ := post(t, "POST", urlB, "gent_b", open[0].ID(), whoamiCall); code != 404 {
		t.Fatalf("another token's session: %d", code)
	}
	// A session its client ends is gone.
	_ = open[0].Close()
	waitFor(t, func() bool { return s.Sessions() == 16 }, "an ended session to leave the table")

	// Idle sessions end; their clients are served without them.
	waitFor(t, func() bool { return s.Sessions() == 0 }, "idle sessions to end")
	for _, cs := range open[1:3] {
		res, err := cs.ListTools(context.Background(), nil)
		if err != nil || len(res.Tools) == 0 {
			t.Fatalf("call after the session ended: %v %v", err, res)
		}
	}
	if code, _ := post(t, "GET", urlA, "gent_a", "", ""); code != 405 {
		t.Fatalf("GET: %d, want 405", code)
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Behind a round-robin balancer, a session opened on one replica reaches
// the other with every other request: that replica, which does not hold
// it, serves the call without it, so the client never sees an error;
// wait_for_message follows the shared event log wherever it runs.
func TestSessionAcrossReplicas(t *testing.T) {
	envs := servertest.Replicas(t, 2)
	org := envs[0].Setup()
	envs[0].VerifiedDomain(org, "mail.example.com")
	inbox := envs[0].Inbox(org, "agent@mail.example.com")
	secret := envs[0].Token(org, inbox.ID, defaultAgent).Secret
	var targets []*url.URL
	for _, e := range envs {
		u, _ := url.Parse(e.Listen())
		targets = append(targets, u)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = e.Events.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
		select {
		case <-e.Events.Ready():
		case <-time.After(10 * time.Second):
			t.Fatal("event listener did not start")
		}
	}
	var n atomic.Int64
	var mu sync.Mutex
	served := map[string]int{} // replica → requests naming the session
	lb := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		u := targets[n.Add(1)%int64(len(targets))]
		r.SetURL(u)
		if r.In.Header.Get("Mcp-Session-Id") != "" {
			mu.Lock()
			served[u.Host]++
			mu.Unlock()
		}
	}})
	t.Cleanup(lb.Close)

	cs := connectSession(t, lb.URL+"/mcp", secret)
	if cs.ID() == "" {
		t.Fatal("no session id")
	}
	in := envs[1].Deliver(inbox, fmt.Sprintf(fixtureMail, "across replicas", "r1"))
	for range 6 {
		var m struct{ Subject string }
		ok(t, cs, "get_message", map[string]any{"message_id": in.ID}, &m)
		if m.Subject != "across replicas" {
			t.Fatalf("get_message: %+v", m)
		}
	}
	mu.Lock()
	if len(served) != 2 {
		t.Fatalf("the session reached %d replicas, want 2: %v", len(served), served)
	}
	mu.Unlock()

	// wait_for_message, with the mail stored through the other replica.
	for i := range 2 {
		done := make(chan *sdk.CallToolResult, 1)
		go func() {
			res, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: "wait_for_message", Arguments: map[string]any{"timeout_seconds": 30}})
			if err != nil {
				t.Errorf("wait_for_message: %v", err)
			}
			done <- res
		}()
		subject := fmt.Sprintf("waited for %d", i)
		var res *sdk.CallToolResult
		for res == nil {
			// Deliver until the wait, which may start after a delivery,
			// sees one; only the first one it sees is its answer.
			envs[i%2].Deliver(inbox, fmt.Sprintf(fixtureMail, subject, models.NewID("w")))
			select {
			case res = <-done:
			case <-time.After(500 * time.Millisecond):
			}
		}
		var w mcp.WaitResult
		structured(t, res, &w)
		if res.IsError || w.TimedOut || w.Message == nil || w.Message.Subject != subject {
			t.Fatalf("wait_for_message %d: %s", i, text(res))
		}
	}
}
