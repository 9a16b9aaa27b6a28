package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"gent/daemon/mcp"
)

// mcpCommand is `gentd mcp --server URL`: the agent tools over stdio,
// forwarded to a running gentd's /mcp with the token in GENT_TOKEN.
// stdout carries the protocol only.
func mcpCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("gentd mcp", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	serverURL := fs.String("server", getenv("GENT_SERVER"), "base URL of a running gentd, e.g. http://127.0.0.1:8080 (env GENT_SERVER)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("mcp: %w (usage: GENT_TOKEN=gent_… gentd mcp --server URL)", err)
	}
	if *serverURL == "" {
		return fmt.Errorf("mcp: --server URL is required (usage: GENT_TOKEN=gent_… gentd mcp --server URL)")
	}
	return mcp.ServeStdio(ctx, *serverURL, getenv("GENT_TOKEN"), "gentd", io.NopCloser(stdin), nopWriteCloser{stdout})
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
