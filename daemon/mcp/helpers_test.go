package mcp_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"gent/daemon/mcp"
	"gent/daemon/server/servertest"
	"gent/daemon/store/storetest"
	"gent/models"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// The three token presets of the product page (and the TUI's token wizard).
var (
	defaultAgent = []string{models.ScopeEmailRead, models.ScopeEmailSend, models.ScopeEmailWrite, models.ScopeFilesRead}
	supervised   = []string{models.ScopeEmailRead, models.ScopeEmailSend}
	observer     = []string{models.ScopeEmailRead, models.ScopeContactsRead, models.ScopeFilesRead}
)

// harness is a daemon listening on loopback with its event listener
// running, an organization, a verified domain and two inboxes.
type harness struct {
	t     *testing.T
	env   *servertest.Env
	url   string
	org   servertest.Org
	inbox models.Inbox
	other models.Inbox
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	env := servertest.New(t)
	h := &harness{t: t, env: env}
	h.org = env.Setup()
	env.VerifiedDomain(h.org, "mail.example.com")
	h.inbox = env.Inbox(h.org, "agent@mail.example.com")
	h.other = env.Inbox(h.org, "other@mail.example.com")
	h.url = env.Listen()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		_ = env.Events.Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	select {
	case <-env.Events.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("event listener did not start")
	}
	return h
}

// token issues a token for the harness inbox.
func (h *harness) token(scopes []string, held ...string) models.TokenSecret {
	return h.env.Token(h.org, h.inbox.ID, scopes, held...)
}

// connect opens an MCP client session over HTTP with the SDK's client.
func (h *harness) connect(secret string) *sdk.ClientSession {
	h.t.Helper()
	cs, err := connect(h.url, secret)
	if err != nil {
		h.t.Fatalf("connect: %v", err)
	}
	h.t.Cleanup(func() { _ = cs.Close() })
	return cs
}

func connect(url, secret string) (*sdk.ClientSession, error) {
	client := sdk.NewClient(&sdk.Implementation{Name: "gent-test", Version: "1"}, nil)
	return client.Connect(context.Background(), &sdk.StreamableClientTransport{Endpoint: url + "/mcp",
		HTTPClient: mcp.HTTPClient(secret), DisableStandaloneSSE: true, MaxRetries: -1}, nil)
}

// call calls a tool and fails the test on a protocol error.
func call(t *testing.T, cs *sdk.ClientSession, name string, args any) *sdk.CallToolResult {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

// ok calls a tool that must succeed and decodes its structured content.
func ok(t *testing.T, cs *sdk.ClientSession, name string, args any, v any) *sdk.CallToolResult {
	t.Helper()
	res := call(t, cs, name, args)
	if res.IsError {
		t.Fatalf("%s: tool error %s", name, text(res))
	}
	if v != nil {
		structured(t, res, v)
	}
	return res
}

// refused calls a tool that must fail and returns its error.
func refused(t *testing.T, cs *sdk.ClientSession, name string, args any) mcp.ErrorResult {
	t.Helper()
	res := call(t, cs, name, args)
	if !res.IsError {
		t.Fatalf("%s: want a tool error, got %s", name, text(res))
	}
	var er mcp.ErrorResult
	structured(t, res, &er)
	if er.Error == nil {
		t.Fatalf("%s: tool error without error object: %s", name, text(res))
	}
	return er
}

func structured(t *testing.T, res *sdk.CallToolResult, v any) {
	t.Helper()
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode structured content %s: %v", b, err)
	}
}

func text(res *sdk.CallToolResult) string {
	s := ""
	for _, c := range res.Content {
		if tc, ok := c.(*sdk.TextContent); ok {
			s += tc.Text
		}
	}
	return s
}

// sameJSON fails unless the tool's structured content is the REST body.
func sameJSON(t *testing.T, what string, res *sdk.CallToolResult, rest []byte) {
	t.Helper()
	var a, b any
	structured(t, res, &a)
	if err := json.Unmarshal(rest, &b); err != nil {
		t.Fatalf("%s: REST body %s: %v", what, rest, err)
	}
	if !reflect.DeepEqual(a, b) {
		ja, _ := json.Marshal(a)
		t.Fatalf("%s: structuredContent differs from the REST JSON:\nmcp:  %s\nrest: %s", what, ja, rest)
	}
}

// fixtureMail has a text body and one text attachment.
const fixtureMail = "From: Ada <ada@example.org>\r\nTo: agent@mail.example.com\r\nSubject: %s\r\n" +
	"Message-ID: <%s@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
	"--b\r\nContent-Type: text/plain\r\n\r\nHello agent, the report is attached.\r\n--b\r\nContent-Type: text/csv\r\n" +
	"Content-Disposition: attachment; filename=report.csv\r\n\r\na,b\r\n1,2\r\n--b--\r\n"
