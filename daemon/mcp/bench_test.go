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
// same REST call, alternating the two in one loop so both see the same
// database state; mcp/rest is the ratio of their mean latencies.
func BenchmarkToolCall(b *testing.B) {
	bd := newBenchDaemon(b)
	cs, err := connect(bd.url, bd.token)
	if err != nil {
		b.Fatal(err)
	}
	defer cs.Close()
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
		b.Run(c.name, func(b *testing.B) {
			var restTime, mcpTime, restCPU, mcpCPU, rawTime, rawCPU time.Duration
			for b.Loop() {
				start, cpu := time.Now(), processCPU()
				c.rest()
				restTime += time.Since(start)
				restCPU += processCPU() - cpu
				start, cpu = time.Now(), processCPU()
				res, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: c.name, Arguments: c.args})
				mcpTime += time.Since(start)
				mcpCPU += processCPU() - cpu
				if err != nil || res.IsError {
					b.Fatalf("%s: %v %v", c.name, err, res)
				}
				start, cpu = time.Now(), processCPU()
				bd.rawCall(b, c.name, c.args)
				rawTime += time.Since(start)
				rawCPU += processCPU() - cpu
			}
			n := float64(b.N)
			b.ReportMetric(float64(restTime.Nanoseconds())/n, "rest-ns/call")
			b.ReportMetric(float64(mcpTime.Nanoseconds())/n, "mcp-ns/call")
			b.ReportMetric(float64(mcpTime-restTime)/n/1e3, "mcp-added-µs/call")
			b.ReportMetric(float64(mcpTime)/float64(restTime), "mcp/rest")
			// CPU of this process (client and gentd, not PostgreSQL) per
			// call: what the MCP layer costs, whatever else the machine runs.
			b.ReportMetric(float64(restCPU.Microseconds())/n, "rest-cpu-µs/call")
			b.ReportMetric(float64(mcpCPU.Microseconds())/n, "mcp-cpu-µs/call")
			// The server alone: the same call as one JSON-RPC POST, no SDK
			// client in the loop.
			b.ReportMetric(float64(rawTime.Nanoseconds())/n, "mcp-server-ns/call")
			b.ReportMetric(float64(rawCPU.Microseconds())/n, "mcp-server-cpu-µs/call")
			b.ReportMetric(float64(rawTime)/float64(restTime), "mcp-server/rest")
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

// rawCall makes one tools/call as a bare JSON-RPC POST to /mcp (the
// stateless server needs no initialize) and checks it succeeded.
func (bd *benchDaemon) rawCall(b *testing.B, name string, args map[string]any) {
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
		"params": map[string]any{"name": name, "arguments": args}})
	req, _ := http.NewRequest("POST", bd.url+"/mcp", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+bd.token)
	resp, err := benchClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !bytes.Contains(data, []byte(`"result"`)) || bytes.Contains(data, []byte(`"isError":true`)) {
		b.Fatalf("raw %s: %d %s", name, resp.StatusCode, data)
	}
}
