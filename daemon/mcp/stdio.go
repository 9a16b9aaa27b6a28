package mcp

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"gent/models"
)

// ServeStdio serves the tools of a running gentd over in and out (stdio),
// for MCP clients that launch a command. It forwards every call to the
// daemon's /mcp with token, so the tool logic exists once, in the daemon:
// the tools offered are those the daemon lists for the token at start.
func ServeStdio(ctx context.Context, serverURL, token, version string, in io.ReadCloser, out io.WriteCloser) error {
	if token == "" {
		return fmt.Errorf("no agent token: set GENT_TOKEN to a gent_… token")
	}
	endpoint := strings.TrimRight(serverURL, "/")
	if !strings.HasSuffix(endpoint, "/mcp") {
		endpoint += "/mcp"
	}
	hc := HTTPClient(token)
	client := sdk.NewClient(&sdk.Implementation{Name: "gentd-mcp-stdio", Version: version}, nil)
	cs, err := client.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: endpoint, HTTPClient: hc,
		DisableStandaloneSSE: true, MaxRetries: -1}, nil)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", endpoint, err)
	}
	defer cs.Close()
	init := cs.InitializeResult()
	opts := &sdk.ServerOptions{}
	if init != nil {
		opts.Instructions = init.Instructions
	}
	srv := sdk.NewServer(&sdk.Implementation{Name: "gent", Title: "Gent mailbox", Version: version}, opts)
	n := 0
	for t, err := range cs.Tools(ctx, nil) {
		if err != nil {
			return fmt.Errorf("list tools of %s: %w", endpoint, err)
		}
		srv.AddTool(t, forward(cs, t.Name))
		n++
	}
	if n == 0 {
		return fmt.Errorf("%s lists no tools for this token", endpoint)
	}
	// Every call goes to the daemon, listed or not, so that a tool
	// outside the token's scopes is refused there, naming the scope.
	srv.AddReceivingMiddleware(func(next sdk.MethodHandler) sdk.MethodHandler {
		return func(ctx context.Context, method string, req sdk.Request) (sdk.Result, error) {
			if ctr, ok := req.(*sdk.CallToolRequest); ok && method == "tools/call" {
				return forward(cs, ctr.Params.Name)(ctx, ctr)
			}
			return next(ctx, method, req)
		}
	})
	return srv.Run(ctx, &sdk.IOTransport{Reader: in, Writer: out})
}

// forward passes one call to the daemon and its answer back unchanged. A
// call the daemon cannot be asked (it is down, or the token stopped
// working) is a tool error.
func forward(cs *sdk.ClientSession, name string) sdk.ToolHandler {
	return func(ctx context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
		res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: name, Arguments: req.Params.Arguments})
		if err == nil {
			return res, nil
		}
		me := &models.Error{Code: models.CodeUnavailable, Message: "the Gent daemon could not be asked: " + err.Error()}
		if strings.Contains(err.Error(), "401") || strings.Contains(strings.ToLower(err.Error()), "unauthorized") {
			me = &models.Error{Code: models.CodeUnauthorized, Message: "the token was refused (revoked, expired or invalid)"}
		}
		er := ErrorResult{Error: me, Retryable: me.Code == models.CodeUnavailable}
		return &sdk.CallToolResult{IsError: true, StructuredContent: er,
			Content: []sdk.Content{&sdk.TextContent{Text: "Error " + me.Code + ": " + me.Message}}}, nil
	}
}

// HTTPClient is an HTTP client that sends token with every request, for
// an MCP client of /mcp.
func HTTPClient(token string) *http.Client {
	return &http.Client{Transport: bearer{token: token, next: http.DefaultTransport}}
}

// bearer adds the agent token to every request.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}
