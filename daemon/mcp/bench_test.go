package mcp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"gorm.io/gorm"

	"gent/daemon/mail"
	"gent/daemon/mcp"
	"gent/daemon/server"
	"gent/daemon/server/servertest"
	"gent/daemon/store/storetest"
	"gent/models"
)

// benchDaemon is a daemon on loopback with one inbox, a token for it and
// one received message.
type benchDaemon struct {
	url, inboxID, token, messageID string
}

func newBenchDaemon(b *testing.B) *benchDaemon {
	b.Helper()
	cfg := servertest.Config(b)
	d, err := server.New(cfg, storetest.NewDB(b), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = d.App.Listener(ln) }()
	b.Cleanup(func() { _ = d.App.ShutdownWithTimeout(5 * time.Second) })
	bd := &benchDaemon{url: "http://" + ln.Addr().String()}
	ctx := context.Background()
	code, err := d.Auth.PrepareSetup(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var sess models.SessionResponse
	bd.rest(b, "POST", "/v1/auth/setup", "", models.SetupRequest{SetupCode: code, OrgName: "Bench", Email: "owner@bench.test",
		Password: "correct horse battery"}, 201, &sess)
	dom, _, err := d.Domains.Create(ctx, sess.Org.ID, models.CreateDomainRequest{Domain: "mail.example.com"})
	if err != nil {
		b.Fatal(err)
	}
	if err := d.Store.DB.Exec(`UPDATE domains SET status = 'verified', verified_at = now() WHERE id = ?`, dom.ID).Error; err != nil {
		b.Fatal(err)
	}
	var inbox models.Inbox
	bd.rest(b, "POST", "/v1/inboxes", sess.Token, models.CreateInboxRequest{Address: "agent@mail.example.com"}, 201, &inbox)
	var tok models.TokenSecret
	bd.rest(b, "POST", "/v1/tokens", sess.Token, models.CreateTokenRequest{InboxID: inbox.ID, Label: "bench", Scopes: defaultAgent}, 201, &tok)
	bd.inboxID, bd.token = inbox.ID, tok.Secret
	err = d.Store.Tx(ctx, func(tx *gorm.DB) error {
		st, err := d.Mail.Store(ctx, tx, mail.StoreInput{OrgID: inbox.OrgID, InboxID: inbox.ID, Direction: models.DirectionInbound,
			Status: models.StatusReceived, Raw: []byte(fmt.Sprintf(fixtureMail, "bench", "b1"))})
		if err == nil {
			bd.messageID = st.ID
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return bd
}

var benchClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}

// rest calls the REST API and decodes the answer into v.
func (bd *benchDaemon) rest(b *testing.B, method, path, cred string, body any, want int, v any) {
	var rd io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, bd.url+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if cred != "" {
		req.Header.Set("Authorization", "Bearer "+cred)
	}
	resp, err := benchClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		b.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	if v != nil {
		if err := json.Unmarshal(data, v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkToolCall measures a tool call over Streamable HTTP against the
// same REST call, alternating them in one loop so all see the same
// database state. Each way of calling reports its wall time and the CPU
// this process (client and gentd, not PostgreSQL) spent per call, which
// moves far less than wall time when other work shares the machine:
//
//   - rest: the REST route;
//   - mcp: the SDK's client on its default protocol (2026-07-28,
//     sessionless: every call is a stateless POST);
//   - mcp-session: the SDK's client on 2025-11-25, in a session;
//   - mcp-server, mcp-server-session: the same tool call as one bare
//     JSON-RPC POST, without and with a session (the server alone, no
//     SDK client in the loop).
//
// <way>/rest is the ratio of mean wall times; <way>-added-cpu-µs/call is
// the CPU a call costs over the REST call.
func BenchmarkToolCall(b *testing.B) {
	bd := newBenchDaemon(b)
	cs, err := connect(bd.url, bd.token)
	if err != nil {
		b.Fatal(err)
	}
	defer cs.Close()
	client := sdk.NewClient(&sdk.Implementation{Name: "gent-bench", Version: "1"}, nil)
	ss, err := client.Connect(context.Background(), &sdk.StreamableClientTransport{Endpoint: bd.url + "/mcp",
		HTTPClient: mcp.HTTPClient(bd.token), DisableStandaloneSSE: true, MaxRetries: -1},
		&sdk.ClientSessionOptions{ProtocolVersion: sessionProtocol})
	if err != nil || ss.ID() == "" {
		b.Fatalf("session: %v", err)
	}
	defer ss.Close()
	sid := bd.rawSession(b)
	send := map[string]any{"to": []string{"bob@example.net"}, "subject": "bench", "text": "hello"}
	cases := []struct {
		name string
		rest func()
		args map[string]any
	}{
		{"get_message", func() {
			bd.rest(b, "GET", "/v1/inboxes/"+bd.inboxID+"/messages/"+bd.messageID, bd.token, nil, 200, nil)
		}, map[string]any{"message_id": bd.messageID}},
		{"send_message", func() {
			bd.rest(b, "POST", "/v1/inboxes/"+bd.inboxID+"/messages/send", bd.token, send, 202, nil)
		}, send},
	}
	for _, c := range cases {
		tool := func(cs *sdk.ClientSession) func() {
			return func() {
				res, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: c.name, Arguments: c.args})
				if err != nil || res.IsError {
					b.Fatalf("%s: %v %v", c.name, err, res)
				}
			}
		}
		ways := []struct {
			name      string
			call      func()
			wall, cpu time.Duration
		}{
			{name: "rest", call: c.rest},
			{name: "mcp", call: tool(cs)},
			{name: "mcp-session", call: tool(ss)},
			{name: "mcp-server", call: func() { bd.rawCall(b, "", c.name, c.args) }},
			{name: "mcp-server-session", call: func() { bd.rawCall(b, sid, c.name, c.args) }},
		}
		b.Run(c.name, func(b *testing.B) {
			for i := range ways {
				ways[i].wall, ways[i].cpu = 0, 0
			}
			for b.Loop() {
				for i := range ways {
					w := &ways[i]
					start, cpu := time.Now(), processCPU()
					w.call()
					w.wall += time.Since(start)
					w.cpu += processCPU() - cpu
				}
			}
			n := float64(b.N)
			rest := ways[0]
			for _, w := range ways {
				b.ReportMetric(float64(w.wall.Nanoseconds())/n, w.name+"-ns/call")
				b.ReportMetric(float64(w.cpu.Microseconds())/n, w.name+"-cpu-µs/call")
				if w.name != "rest" {
					b.ReportMetric(float64(w.wall)/float64(rest.wall), w.name+"/rest")
					b.ReportMetric(float64((w.cpu-rest.cpu).Microseconds())/n, w.name+"-added-cpu-µs/call")
				}
			}
		})
	}
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rawCall makes one tools/call as a bare JSON-RPC POST to /mcp, in
// session sid if set (without one, the server needs no initialize), and
// checks it succeeded.
func (bd *benchDaemon) rawCall(b *testing.B, sid, name string, args map[string]any) {
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
		"params": map[string]any{"name": name, "arguments": args}})
	resp, data := bd.rawPost(b, sid, body)
	if resp.StatusCode != 200 || !bytes.Contains(data, []byte(`"result"`)) || bytes.Contains(data, []byte(`"isError":true`)) {
		b.Fatalf("raw %s: %d %s", name, resp.StatusCode, data)
	}
}

// rawSession initializes a session with bare POSTs and returns its id.
func (bd *benchDaemon) rawSession(b *testing.B) string {
	resp, data := bd.rawPost(b, "", []byte(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"`+
		sessionProtocol+`","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`))
	sid := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != 200 || sid == "" {
		b.Fatalf("initialize: %d %s", resp.StatusCode, data)
	}
	if resp, data := bd.rawPost(b, sid, []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)); resp.StatusCode != 202 {
		b.Fatalf("initialized: %d %s", resp.StatusCode, data)
	}
	return sid
}

func (bd *benchDaemon) rawPost(b *testing.B, sid string, body []byte) (*http.Response, []byte) {
	req, _ := http.NewRequest("POST", bd.url+"/mcp", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+bd.token)
	if sid != "" {
		req.Header.Set("Mcp-Session-Id", sid)
		req.Header.Set("Mcp-Protocol-Version", sessionProtocol)
	}
	resp, err := benchClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}
